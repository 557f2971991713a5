'use strict';
// The batch endpoint: multipart/mixed of application/http parts, each judged
// on its own (its own auth, quota and status) while the outer answer is 200.
// Answers come back in a different order than asked, matched by Content-ID,
// because Google's do, and clients that assume order must fail here too.
const http = require('http');
const mime = require('./mime');
const api = require('./api');
const { ApiError, answerOf } = require('./errors');
const { LINK_KINDS } = require('./faults');
const { token } = require('./rand');

function parsePart(buf) {
  const { head, body } = mime.splitHead(buf);
  const ph = mime.parseHeaders(head);
  const inner = mime.splitHead(body);
  const lines = inner.head.split(/\r?\n/);
  const m = (lines[0] || '').match(/^([A-Z]+) (\S+)(?: HTTP\/\d(?:\.\d)?)?$/);
  if (!m) return null;
  const headers = {};
  for (const h of mime.parseHeaders(lines.slice(1).join('\r\n'))) headers[h.name.toLowerCase()] = h.value;
  // a full URL in the request line is allowed; only its path counts
  const u = new URL(m[2], 'https://x');
  return { contentId: mime.header(ph, 'Content-ID'), method: m[1], url: u.pathname + u.search, path: u.pathname, query: u.searchParams, headers, body: inner.body };
}

function renderPart(boundary, contentId, a) {
  let s = '--' + boundary + '\r\nContent-Type: application/http\r\n';
  if (contentId) s += 'Content-ID: <response-' + contentId.replace(/^<|>$/g, '') + '>\r\n';
  s += '\r\nHTTP/1.1 ' + a.status + ' ' + (http.STATUS_CODES[a.status] || '') + '\r\n';
  for (const [k, v] of Object.entries(a.headers || {})) if (k !== 'content-length') s += k.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()) + ': ' + v + '\r\n';
  s += 'Vary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\n\r\n';
  return Buffer.concat([Buffer.from(s), a.body, Buffer.from('\r\n')]);
}

function fail(msg) {
  return answerOf(new ApiError(400, msg, 'badRequest', { bare: true }));
}

async function handle(ctx, req) {
  if (req.method !== 'POST') return fail('Batch requests must use POST');
  const ct = mime.parseContentType(req.headers['content-type']);
  if (ct.type !== 'multipart/mixed' || !ct.params.boundary) return fail('Failed to parse batch request, error: Content-Type must be multipart/mixed with a boundary.');
  const raw = mime.splitMultipart(req.body, ct.params.boundary);
  if (!raw || !raw.length) return fail('Failed to parse batch request, error: 0 items. Received batch body: (' + req.body.length + ') bytes.');
  if (raw.length > ctx.opts.batchLimit) return fail('Inner request count exceeds the limit. Received: ' + raw.length + ', Limit: ' + ctx.opts.batchLimit);
  // a whole batch can also be reset, stalled or cut short
  const link = ctx.faults.draw('batch', '', req.method + ' ' + req.url + ' #' + raw.length, LINK_KINDS);
  const parts = raw.map(parsePart);
  if (parts.some((p) => !p)) return fail('Failed to parse batch request, error: Missing request line.');

  const perUser = new Map();
  const jobs = parts.map((p) => {
    if (!p.headers.authorization && req.headers.authorization) p.headers.authorization = req.headers.authorization;
    const t = (p.headers.authorization || '').replace(/^Bearer\s+/i, '');
    const who = (ctx.world.accessTokens.get(t) || {}).email || '';
    const n = (perUser.get(who) || 0) + 1;
    perUser.set(who, n);
    if (/^\/(resumable\/)?upload\//.test(p.path)) return Promise.resolve(answerOf(new ApiError(400, 'Media upload is not supported in batch requests.', 'badRequest')));
    const hit = api.match(p.method, p.path);
    // Gmail's batch endpoint serves Gmail (and Directory) paths, not Pub/Sub's.
    if (!hit || !hit.route || hit.route.pubsub) return Promise.resolve(answerOf(new ApiError(404, 'Not Found', 'notFound')));
    return api.call(ctx, p, hit.route, hit.params, { overCap: ctx.quota.concurrency > 0 && n > ctx.quota.batchParallel });
  });
  const answers = await Promise.all(jobs);
  // Fisher-Yates with the emulator's seeded generator: replayable, not ordered.
  const order = answers.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(ctx.batchRng() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  const boundary = 'batch_' + token(12);
  const body = Buffer.concat(order.map((i) => renderPart(boundary, parts[i].contentId, answers[i])).concat([Buffer.from('--' + boundary + '--\r\n')]));
  const a = { status: 200, headers: { 'content-type': 'multipart/mixed; boundary=' + boundary }, body };
  if (link) { ctx.stats.faults[link] = (ctx.stats.faults[link] || 0) + 1; a.fault = link; a.stallMs = ctx.faults.stallMs; }
  return a;
}

module.exports = { handle, parsePart };
