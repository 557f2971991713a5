'use strict';
// tests/fake-google: a local stand-in for Gmail, Google OAuth and the
// Directory API, over HTTPS (HTTP/2 and HTTP/1.1) on 127.0.0.1. See README.
const fs = require('fs');
const os = require('os');
const path = require('path');
const http2 = require('http2');
const certs = require('./certs');
const { Clock } = require('./clock');
const { World } = require('./store');
const { Quota } = require('./quota');
const { Faults } = require('./faults');
const { Lockouts } = require('./lockout');
const { Quirks } = require('./quirks');
const { Latency } = require('./latency');
const { Persist } = require('./persist');
const { seeded } = require('./rand');
const { notFoundPage } = require('./answer');
const oauth = require('./oauth');
const api = require('./api');
const batch = require('./batch');
const control = require('./control');
const { Broker } = require('./broker');
const { Watches } = require('./watch');
const { Mailbox } = require('./store');

const USAGE = 'usage: run [--port N] [--quota 2026|legacy|off|FILE] [--state DIR] [--token-ttl SECONDS] [--clock-rate R]\n' +
  '           [--history-retention SECONDS] [--concurrency N] [--batch-limit N] [--batch-parallel N]\n' +
  '           [--latency MS|google|METHOD=MS[,...]] [--latency-scale F] [--seed N] [--verbose]\n';
const HELP = USAGE + '\n' +
  '  --quota T      per-user quota table, default 2026 (6,000 units per user per minute, messages.get 20);\n' +
  '                 legacy (250 units per user per second), off, or a JSON FILE; with a table, also the\n' +
  '                 project-wide limit of 1,200,000 units per minute (POST /_emu/quota changes it)\n' +
  '  --latency L    service time added to calls: MS (fixed, API calls), google (a seeded profile: gets\n' +
  '                 around 100-300 ms, imports 300-900 ms, /token 50-200 ms, ~1% above 2 s), or\n' +
  '                 METHOD=MS,... per discovery method id (oauth2.token too); mixed: google,METHOD=MS\n' +
  '  --latency-scale F  multiply every latency by F (0.1 runs the google profile ten times faster)\n' +
  'The README next to this program says the rest.\n';

function parseArgs(argv) {
  const o = { port: 0, quota: '2026', state: null, tokenTtl: 3599, clockRate: 1, historyRetention: 7 * 86400,
    concurrency: undefined, batchLimit: 100, batchParallel: 50, latency: 0, latencyScale: 1, seed: 1, verbose: false };
  const num = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) die(name + ': a number >= ' + min + ' is required');
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    switch (a) {
      case '--port': o.port = num(a, v, 0); i++; break;
      case '--quota': if (!v) die('--quota: legacy, 2026, off or a FILE'); o.quota = v; i++; break;
      case '--state': if (!v) die('--state: a directory is required'); o.state = path.resolve(v); i++; break;
      case '--token-ttl': o.tokenTtl = num(a, v, 1); i++; break;
      case '--clock-rate': o.clockRate = num(a, v, 0); i++; break;
      case '--history-retention': o.historyRetention = num(a, v, 1); i++; break;
      case '--concurrency': o.concurrency = num(a, v, 0); i++; break;
      case '--batch-limit': o.batchLimit = num(a, v, 1); i++; break;
      case '--batch-parallel': o.batchParallel = num(a, v, 1); i++; break;
      case '--latency':
        if (!v) die('--latency: MS, google or METHOD=MS[,...]');
        o.latency = /^[0-9.]+$/.test(v) ? num(a, v, 0) : v; i++; break;
      case '--latency-scale': o.latencyScale = num(a, v, 0); i++; break;
      case '--seed': o.seed = num(a, v, 0); i++; break;
      case '--verbose': case '-v': o.verbose = true; break;
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
      default: process.stderr.write('fake-google: unknown option ' + a + '\n' + USAGE); process.exit(64);
    }
  }
  return o;
}

function die(msg) { process.stderr.write('fake-google: ' + msg + '\n' + USAGE); process.exit(64); }

const MAX_BODY = 80 * 1024 * 1024; // a 50 MiB message in base64 JSON fits; more is refused unread

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0, over = false;
    req.on('data', (c) => { n += c.length; if (n > limit) over = true; else chunks.push(c); });
    req.on('end', () => resolve({ body: over ? Buffer.alloc(0) : Buffer.concat(chunks, n), over }));
    req.on('error', reject);
  });
}

async function route(ctx, req) {
  const p = req.path;
  if (p.startsWith('/_emu/')) return control.handle(ctx, req);
  if (p === '/o/oauth2/v2/auth' || p === '/o/oauth2/auth') return oauth.authPage(ctx, req);
  if (p === '/token' || p === '/o/oauth2/token' || p === '/oauth2/v4/token') return api.oauthCall(ctx, req, 'oauth2.token', oauth.tokenEndpoint);
  if (p === '/revoke' || p === '/o/oauth2/revoke') return api.oauthCall(ctx, req, 'oauth2.revoke', oauth.revokeEndpoint);
  if (p === '/tokeninfo' || p === '/oauth2/v3/tokeninfo') return api.oauthCall(ctx, req, 'oauth2.tokeninfo', oauth.tokenInfo);
  if (p === '/batch/gmail/v1' || p === '/batch') return batch.handle(ctx, req);
  const hit = api.match(req.method, p);
  if (hit && hit.route) return api.call(ctx, req, hit.route, hit.params, { linkKinds: ['reset', 'stall', 'truncate'] });
  return notFoundPage(p);
}

// One request/answer exchange, whatever the protocol. HTTP/2 streams are
// served with the core stream API (the compatibility objects cost about a
// third of the throughput); HTTP/1.1 goes through the http module's objects.
function h2Exchange(stream, headers) {
  return {
    method: headers[':method'], url: headers[':path'] || '/', headers, http: '2', input: stream,
    gone: () => stream.destroyed || stream.closed,
    kill: () => { if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR); },
    onClose: (f) => stream.on('close', f),
    head: (status, hs) => stream.respond(Object.assign({ ':status': status }, hs)),
    write: (b, cb) => stream.write(b, cb),
    end: (b) => stream.end(b),
  };
}

function h1Exchange(req, res) {
  return {
    method: req.method, url: req.url, headers: req.headers, http: req.httpVersion, input: req,
    gone: () => res.destroyed,
    kill: () => req.socket.destroy(),
    onClose: (f) => res.on('close', f),
    head: (status, hs) => res.writeHead(status, hs),
    write: (b, cb) => res.write(b, cb),
    end: (b) => res.end(b),
  };
}

// The Date header changes once a second; formatting it per answer costs
// measurably at benchmark rates.
let dateSec = 0, dateStr = '';
function httpDate() {
  const now = Date.now(), sec = Math.floor(now / 1000);
  if (sec !== dateSec) { dateSec = sec; dateStr = new Date(now).toUTCString(); }
  return dateStr;
}

// Writes an answer, or misbehaves the way a fault asks.
function send(x, a) {
  if (x.gone()) return;
  if (a.fault === 'reset') return x.kill();
  if (a.fault === 'stall') { const t = setTimeout(x.kill, a.stallMs); x.onClose(() => clearTimeout(t)); return; }
  const headers = Object.assign({ date: httpDate(), server: 'ESF', 'x-content-type-options': 'nosniff' }, a.headers);
  headers['content-length'] = String(a.body.length);
  x.head(a.status, headers);
  if (a.fault === 'truncate') { x.write(a.body.subarray(0, Math.floor(a.body.length / 2)), () => setTimeout(x.kill, 5)); return; }
  x.end(x.method === 'HEAD' ? undefined : a.body);
}

async function onRequest(ctx, x) {
  const url = x.url;
  const q = url.indexOf('?');
  const r = { method: x.method, url, path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), headers: x.headers, body: null };
  // A held call (a Pub/Sub long poll) must know when its caller hangs up.
  let closed = false;
  x.onClose(() => { closed = true; });
  r.gone = () => closed || x.gone();
  r.onClose = x.onClose;
  try {
    if (x.method === 'GET' || x.method === 'HEAD') { r.body = Buffer.alloc(0); x.input.resume(); }
    else { const b = await readBody(x.input, MAX_BODY); r.body = b.body; r.bodyTooLarge = b.over; }
    const a = await route(ctx, r);
    ctx.log.push({ time: new Date(ctx.clock.now()).toISOString(), method: r.method, path: r.url, status: a.status, fault: a.fault || undefined, http: x.http });
    if (ctx.log.length > 10000) ctx.log.splice(0, 5000);
    if (ctx.opts.verbose) process.stderr.write('fake-google: ' + r.method + ' ' + r.url + ' ' + a.status + (a.fault ? ' ' + a.fault : '') + '\n');
    send(x, a);
  } catch (e) {
    process.stderr.write('fake-google: ' + x.method + ' ' + url + ': ' + (e.stack || e) + '\n');
    try { if (!x.gone()) { x.head(500, { 'content-type': 'text/plain' }); x.end('internal error\n'); } } catch { x.kill(); }
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const clock = new Clock(opts.clockRate);
  let quota;
  try { quota = new Quota(clock, opts.quota, opts.concurrency, opts.batchParallel); } catch (e) { die('--quota: ' + e.message); }
  let latency;
  try { latency = new Latency(opts.latency, opts.latencyScale, opts.seed); } catch (e) { die('--latency: ' + e.message); }
  let dir = opts.state, temp = false;
  if (dir) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  else { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-google-')); temp = true; }
  fs.chmodSync(dir, 0o700);
  const tls = certs.ensure(dir);
  const world = new World();
  const persist = new Persist(opts.state, world, clock);
  const ctx = { opts, clock, world, quota, persist, faults: new Faults(), lockouts: new Lockouts(clock), quirks: new Quirks(), latency, sessions: new Map(), url: null, log: [],
    stats: { calls: {}, units: {}, errors: {}, faults: {} }, batchRng: seeded(opts.seed) };
  ctx.broker = new Broker(clock, opts.seed);
  ctx.watches = new Watches(ctx);
  Mailbox.onRecord = (mb, rec) => ctx.watches.onRecord(mb, rec);
  persist.parts.set('pubsub', { save: () => ctx.broker.save(), load: (s) => ctx.broker.load(s) });
  persist.parts.set('watches', { save: () => ctx.watches.save(), load: (s) => ctx.watches.load(s) });
  persist.load();

  // Flow control as Google's front ends set it: a stream may send 1 MiB
  // and a connection 16 MiB before the server grants more.  Node's
  // defaults (64 KiB for both) would hold many uploads on one connection
  // to a pace Google never imposes.
  const server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true, minVersion: 'TLSv1.2',
    settings: { maxConcurrentStreams: 100, initialWindowSize: 1 << 20 }, maxSessionMemory: 64 });
  server.on('session', (session) => {
    session.on('localSettings', () => { try { session.setLocalWindowSize(16 << 20); } catch { /* closed */ } });
  });
  server.on('request', (req, res) => { if (req.httpVersionMajor !== 2) onRequest(ctx, h1Exchange(req, res)); });
  // Adding a 'request' listener also installs the compatibility layer for
  // HTTP/2; replace it with the stream handler.
  server.removeAllListeners('stream');
  server.on('stream', (stream, headers) => { stream.on('error', () => {}); onRequest(ctx, h2Exchange(stream, headers)); });
  server.on('sessionError', () => {});
  server.on('tlsClientError', () => {});
  server.listen(opts.port, '127.0.0.1', () => {
    ctx.url = 'https://127.0.0.1:' + server.address().port;
    process.stdout.write(JSON.stringify({ url: ctx.url, ca: tls.ca, pid: process.pid }) + '\n');
  });
  server.on('error', (e) => {
    process.stderr.write('fake-google: ' + e.message + '\n');
    if (temp) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(69);
  });

  const stop = () => {
    try { persist.saveNow(); } catch (e) { process.stderr.write('fake-google: saving state: ' + e.message + '\n'); }
    if (temp) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
}

module.exports = { main, parseArgs };
if (require.main === module) main();
