'use strict';
// A test CA and a server certificate for 127.0.0.1, ::1 and localhost, made
// with the openssl CLI (P-256 keys: fast to make, accepted by curl and Node).
// Kept in the state directory so a restarted emulator is trusted by the same CA.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function ensure(dir) {
  const f = (n) => path.join(dir, n);
  if (fs.existsSync(f('ca.pem')) && fs.existsSync(f('server.pem')) && fs.existsSync(f('server.key'))) {
    return { ca: f('ca.pem'), cert: fs.readFileSync(f('server.pem')), key: fs.readFileSync(f('server.key')) };
  }
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509'].concat(ec, ['-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '3650', '-subj', '/CN=hv fake-google test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']));
  run(['req', '-x509'].concat(ec, ['-keyout', f('server.key'), '-out', f('server.pem'), '-days', '825', '-subj', '/CN=127.0.0.1',
    '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth']));
  for (const n of ['ca.key', 'server.key']) fs.chmodSync(f(n), 0o600);
  return { ca: f('ca.pem'), cert: fs.readFileSync(f('server.pem')), key: fs.readFileSync(f('server.key')) };
}

module.exports = { ensure };
