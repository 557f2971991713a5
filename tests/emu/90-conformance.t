#!/usr/bin/env node
// Conformance: Google's official Node.js client drives the emulator.
// Installs @googleapis/gmail@18 and google-auth-library@10 (the newest that
// run on Node 20) into tests/fake-google/.conformance/ once, then reuses them.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync, spawn } = require('child_process');
const { start } = require('./lib/emu');

const DIR = path.join(__dirname, '..', 'fake-google', '.conformance');
const PKGS = { '@googleapis/gmail': '18', 'google-auth-library': '10' };

function installed() {
  return Object.entries(PKGS).every(([name, major]) => {
    try { return JSON.parse(fs.readFileSync(path.join(DIR, 'node_modules', name, 'package.json'), 'utf8')).version.split('.')[0] === major; } catch { return false; }
  });
}

function install() {
  fs.mkdirSync(DIR, { recursive: true });
  const args = ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', DIR].concat(Object.entries(PKGS).map(([n, m]) => n + '@' + m));
  const r = spawnSync('npm', args, { encoding: 'utf8', timeout: 240000 });
  if (r.status === 0 && installed()) return null;
  return (r.stderr || '') + (r.stdout || '') + (r.error ? String(r.error) : '');
}

(async () => {
  if (!installed()) {
    const err = install();
    if (err !== null) {
      if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|network|ENOENT.*npm/i.test(err)) {
        process.stdout.write('1..0 # SKIP npm registry unreachable\n');
        return;
      }
      process.stdout.write('not ok 1 - npm install of the official client\n' + err.split('\n').map((l) => '# ' + l).join('\n') + '\n1..1\n');
      process.exitCode = 1;
      return;
    }
  }
  const emu = await start(['--quota', 'legacy']);
  try {
    const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'conformance.js')], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: Object.assign({}, process.env, { NODE_EXTRA_CA_CERTS: emu.caPath, EMU_URL: emu.url, CONFORMANCE_DIR: DIR }),
    });
    const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(sig ? 1 : c)));
    process.exitCode = code;
  } finally { await emu.stop(); }
})().catch((e) => { process.stdout.write('not ok 1 - conformance harness\n# ' + String(e.stack || e).replace(/\n/g, '\n# ') + '\n1..1\n'); process.exitCode = 1; });
