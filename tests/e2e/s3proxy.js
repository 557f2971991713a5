#!/usr/bin/env node
// A TLS proxy in front of the S3 server for tests/e2e/backup.t: it records
// every request (method, path, headers, SHA-256 of the body it carried) as
// a JSON line, and answers as a failing store would when told to.
//
//   s3proxy.js PORT UPSTREAM_PORT KEY CERT CA LOG MODEFILE
//
// MODEFILE holds one word, read per request:
//   pass      forward everything
//   500       answer 500 InternalError to everything
//   403       answer 403 SignatureDoesNotMatch to everything
//   get500    answer 500 to GET and HEAD of objects, forward the rest
//   part2     answer 500 to the upload of part 2, forward the rest
'use strict';
const fs = require('fs');
const https = require('https');
const crypto = require('crypto');

const [port, upstream, key, cert, ca, log, modefile] = process.argv.slice(2);
const agent = new https.Agent({ ca: fs.readFileSync(ca), keepAlive: true });

function mode() {
  try { return fs.readFileSync(modefile, 'utf8').trim(); } catch { return 'pass'; }
}

function fail(res, status, code) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>injected by the test proxy</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function injected(m, req) {
  const u = new URL(req.url, 'https://x');
  const object = u.pathname.split('/').filter(Boolean).length > 1;
  if (m === '500') return [500, 'InternalError'];
  if (m === '403') return [403, 'SignatureDoesNotMatch'];
  if (m === 'get500' && object && (req.method === 'GET' || req.method === 'HEAD') &&
      !u.searchParams.has('list-type')) {
    // The existence check before an upload must still see "no such key".
    if (req.method === 'HEAD') return null;
    return [500, 'InternalError'];
  }
  if (m === 'part2' && req.method === 'PUT' && u.searchParams.get('partNumber') === '2')
    return [500, 'InternalError'];
  return null;
}

https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
  const h = crypto.createHash('sha256');
  const chunks = [];
  req.on('data', (c) => { h.update(c); chunks.push(c); });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    fs.appendFileSync(log, JSON.stringify({ method: req.method, url: req.url,
      headers: req.headers, body_sha256: h.digest('hex'), body_len: body.length }) + '\n');
    const inj = injected(mode(), req);
    if (inj) return fail(res, inj[0], inj[1]);
    const up = https.request({ host: '127.0.0.1', port: upstream, method: req.method,
      path: req.url, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => fail(res, 502, 'BadGateway'));
    up.end(body);
  });
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
