'use strict';
// Test helpers: start an emulator on an ephemeral port, talk to it over
// HTTPS (HTTP/1.1 or HTTP/2) with its CA, stop it.
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const https = require('https');
const http2 = require('http2');

const RUN = path.join(__dirname, '..', '..', 'fake-google', 'run');

function start(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(RUN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const t0 = Date.now();
    proc.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      proc.stdout.removeAllListeners('data');
      proc.stdout.resume();
      let ready;
      try { ready = JSON.parse(buf.slice(0, i)); } catch (e) { reject(new Error('bad ready line: ' + buf)); return; }
      resolve(new Emu(proc, ready, Date.now() - t0, buf.slice(0, i)));
    });
    proc.on('exit', (code) => reject(new Error('emulator exited ' + code)));
  });
}

class Emu {
  constructor(proc, ready, startMs, line) {
    this.proc = proc; this.url = ready.url; this.caPath = ready.ca; this.pid = ready.pid; this.startMs = startMs; this.readyLine = line;
    this.ca = fs.readFileSync(ready.ca);
    this.agent = new https.Agent({ ca: this.ca, keepAlive: true, maxSockets: 64 });
    this.h2 = null;
  }

  // {status, headers, body(Buffer), text, json}
  req(method, p, o = {}) {
    const headers = Object.assign({}, o.headers || {});
    let body = o.body;
    if (o.json !== undefined) { body = JSON.stringify(o.json); headers['content-type'] = headers['content-type'] || 'application/json'; }
    if (o.form) { body = new URLSearchParams(Object.entries(o.form).filter(([, v]) => v !== undefined)).toString(); headers['content-type'] = 'application/x-www-form-urlencoded'; }
    if (o.token) headers.authorization = 'Bearer ' + o.token;
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    if (o.h2) return this.req2(method, p, headers, body);
    return new Promise((resolve, reject) => {
      const r = https.request(this.url + p, { method, headers, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(wrap(res.statusCode, res.headers, Buffer.concat(chunks), 'http/1.1')));
        res.on('error', reject);
      });
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  req2(method, p, headers, body) {
    if (!this.h2 || this.h2.closed || this.h2.destroyed) { this.h2 = http2.connect(this.url, { ca: this.ca }); this.h2.on('error', () => {}); }
    return new Promise((resolve, reject) => {
      const s = this.h2.request(Object.assign({ ':method': method, ':path': p }, headers));
      let status, hs;
      const chunks = [];
      s.on('response', (h) => { status = h[':status']; hs = h; });
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => resolve(wrap(status, hs, Buffer.concat(chunks), 'h2')));
      s.on('error', reject);
      s.end(body);
    });
  }

  // control API: JSON in, JSON out; throws on non-2xx
  async ctl(method, p, obj) {
    const r = await this.req(method, '/_emu/' + p, obj === undefined ? {} : { json: obj });
    if (r.status >= 300) throw new Error('/_emu/' + p + ': ' + r.status + ' ' + r.text);
    return r.json;
  }

  async token(email, scopes, extra) {
    return (await this.ctl('POST', 'tokens', Object.assign({ email, scopes }, extra || {}))).access_token;
  }

  stop() {
    if (this.h2) this.h2.close();
    this.agent.destroy();
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      this.proc.removeAllListeners('exit');
      this.proc.on('exit', () => resolve());
      this.proc.kill('SIGTERM');
    });
  }
  kill9() {
    return new Promise((resolve) => { this.proc.removeAllListeners('exit'); this.proc.on('exit', () => resolve()); this.proc.kill('SIGKILL'); });
  }
}

function wrap(status, headers, body, proto) {
  const text = body.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status, headers, body, text, json, proto };
}

const G = 'https://www.googleapis.com/auth/';
const SCOPES = { readonly: G + 'gmail.readonly', modify: G + 'gmail.modify', insert: G + 'gmail.insert', labels: G + 'gmail.labels',
  metadata: G + 'gmail.metadata', mail: 'https://mail.google.com/', dirUserRo: G + 'admin.directory.user.readonly',
  dirMemberRo: G + 'admin.directory.group.member.readonly' };

// An RFC 5322 message, as a Buffer.
function message(o = {}) {
  const id = o.messageId === undefined ? '<' + Math.random().toString(36).slice(2) + '@test.example>' : o.messageId;
  let s = 'From: ' + (o.from || 'Ann Sender <ann@sender.example>') + '\r\nTo: ' + (o.to || 'team@example.com') + '\r\n' +
    'Subject: ' + (o.subject || 'hello') + '\r\nDate: ' + (o.date || 'Mon, 15 Jan 2024 10:00:00 +0000') + '\r\n';
  if (id) s += 'Message-ID: ' + id + '\r\n';
  for (const [k, v] of Object.entries(o.headers || {})) s += k + ': ' + v + '\r\n';
  s += 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n' + (o.body || 'Hello there.\r\n');
  return Buffer.from(s);
}
const b64u = (b) => Buffer.from(b).toString('base64url');

async function main(fn) {
  const tap = require('./tap');
  try { await fn(tap); tap.done(); } catch (e) { tap.bail(e); }
}

module.exports = { start, SCOPES, message, b64u, main };
