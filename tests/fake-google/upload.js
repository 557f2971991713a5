'use strict';
// messages.insert and messages.import: the JSON `raw` form, simple uploads
// (uploadType=media and multipart/related) and resumable sessions. Import
// keeps Gmail's rules: Date header as internal date, a spam verdict unless
// neverMarkSpam, and a second copy of a Message-ID already held is dropped
// with its labels merged into the message the mailbox has.
const { ApiError, E } = require('./errors');
const mime = require('./mime');
const { token } = require('./rand');

const MAX = 52428800; // mediaUpload.maxSize in the discovery document (50 MiB)

// The limit in force: Google's, or a smaller one a test set (POST /_emu/limits)
// so that refusals can be tried without 50 MiB transfers.
const limit = (ctx) => ctx.uploadMax || MAX;

function tooLarge(ctx) {
  return new ApiError(413, 'Request payload size exceeds the limit: ' + limit(ctx) + ' bytes.', 'uploadTooLarge', { status: 'INVALID_ARGUMENT' });
}

function ingest(ctx, req, mb, kind, raw, meta) {
  const { checkLabels, ok } = require('./gmail');
  if (raw.length > limit(ctx)) throw tooLarge(ctx);
  if (!raw.length) throw E.invalidArgument("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
  checkLabels(mb, meta.labelIds);
  const q = req.query;
  const now = ctx.clock.now();
  const src = q.get('internalDateSource') || (kind === 'import' ? 'dateHeader' : 'receivedTime');
  if (!['dateHeader', 'receivedTime'].includes(src)) throw E.invalidArgument('Invalid value at \'internal_date_source\', "' + src + '"');
  const headers = mime.parseHeaders(mime.splitHead(raw).head);
  let internalDate = now;
  if (src === 'dateHeader') {
    const d = Date.parse(mime.header(headers, 'Date') || '');
    if (!Number.isNaN(d)) internalDate = d;
  }
  let labels = (meta.labelIds || []).slice();
  const mid = mime.header(headers, 'Message-ID');
  if (kind === 'import') {
    const have = mid && mb.byMessageId.get(mid);
    if (have && mb.messages.has(have)) {
      const m = mb.messages.get(have);
      mb.modify(m, labels, [], now);
      ctx.persist.dirty();
      return ok(req, { id: m.id, threadId: m.threadId, labelIds: m.labelIds.slice() });
    }
    // The classifier stub: a message flagged as spam goes to SPAM unless the caller says never.
    const flagged = /^yes/i.test(mime.header(headers, 'X-Spam-Flag') || '');
    if (flagged && q.get('neverMarkSpam') !== 'true') labels = labels.filter((l) => l !== 'INBOX').concat(['SPAM']);
  }
  if (q.get('deleted') === 'true') {
    // Vault-only copy: never visible through the API.
    const { newMessageId } = require('./store');
    return ok(req, { id: newMessageId(now), threadId: newMessageId(now) });
  }
  const m = mb.addMessage(raw, labels, internalDate, now, { threadId: meta.threadId });
  ctx.persist.addRaw(m);
  ctx.persist.dirty();
  const o = { id: m.id, threadId: m.threadId };
  if (m.labelIds.length) o.labelIds = m.labelIds.slice();
  return ok(req, o);
}

function rawOf(meta) {
  if (typeof meta.raw !== 'string' || !meta.raw) throw E.invalidArgument("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
  return Buffer.from(meta.raw, 'base64');
}

// POST /gmail/v1/users/{u}/messages[/import] with {"raw","labelIds","threadId"}
function jsonUpload(ctx, req, mb, kind) {
  const { bodyJson } = require('./gmail');
  const meta = bodyJson(req);
  return ingest(ctx, req, mb, kind, rawOf(meta), meta);
}

function checkMedia(type) {
  if (!/^message\//i.test(type || '')) throw new ApiError(400, "Media type '" + (type || '') + "' is not supported. Valid media types: [message/*]", 'badContent');
}

function parseMeta(buf) {
  if (!buf.length) return {};
  try { return JSON.parse(buf.toString('utf8')); } catch (e) { throw E.invalidArgument('Invalid JSON payload received. ' + e.message); }
}

// POST /upload/gmail/v1/users/{u}/messages[/import]?uploadType=media|multipart|resumable
function mediaUpload(ctx, req, mb, kind) {
  if (req.bodyTooLarge) throw tooLarge(ctx);
  const type = req.query.get('uploadType');
  const ct = mime.parseContentType(req.headers['content-type']);
  if (type === 'media') {
    checkMedia(ct.type);
    return ingest(ctx, req, mb, kind, req.body, {});
  }
  if (type === 'multipart') {
    if (!ct.type.startsWith('multipart/') || !ct.params.boundary) throw E.badRequest('Invalid multipart request with 0 mime parts.');
    const parts = mime.splitMultipart(req.body, ct.params.boundary);
    if (!parts || parts.length !== 2) throw E.badRequest('Invalid multipart request with ' + (parts ? parts.length : 0) + ' mime parts.');
    const p0 = mime.splitHead(parts[0]);
    const p1 = mime.splitHead(parts[1]);
    const h1 = mime.parseHeaders(p1.head);
    checkMedia(mime.parseContentType(mime.header(h1, 'Content-Type')).type);
    const raw = mime.decodeBody(p1.body, mime.header(h1, 'Content-Transfer-Encoding'));
    return ingest(ctx, req, mb, kind, raw, parseMeta(p0.body));
  }
  if (type === 'resumable') return startSession(ctx, req, mb, kind);
  throw E.badRequest(type ? 'Invalid upload type: ' + type : 'Upload requests must include an uploadType URL parameter and a URL path beginning with /upload/');
}

// Resumable, as Google's upload guide describes it: a POST with the
// metadata opens a session (200, its URI in Location); PUTs carry the
// bytes, whole or in chunks with Content-Range; 308 Resume Incomplete with
// Range: bytes=0-N (no Range before the first byte) until the last byte
// arrives; an empty PUT with Content-Range: bytes */TOTAL asks where the
// session stands, answered 308 as above or with the final answer once it
// is complete. A session lives a week (404 after). When a reset or stall
// fault hits a PUT, the session keeps what came before the link broke:
// the largest multiple of 256 KiB below half of the PUT's body, so a
// client must ask and resume, and a client that starts over is seen.
const WEEK = 7 * 86400 * 1000;
const QUANTUM = 256 * 1024;

function rstats(ctx) {
  if (!ctx.stats.resumable) ctx.stats.resumable = { sessions: 0, puts: 0, status_queries: 0, interrupted: 0, resumed: 0, completed: 0, expired: 0, bytes: 0, kept: 0 };
  return ctx.stats.resumable;
}

function startSession(ctx, req, mb, kind) {
  const len = req.headers['x-upload-content-length'];
  if (len !== undefined && !/^\d+$/.test(len)) throw E.badRequest('Invalid X-Upload-Content-Length header');
  if (len && Number(len) > limit(ctx)) throw tooLarge(ctx);
  const ctype = req.headers['x-upload-content-type'];
  if (ctype) checkMedia(ctype);
  const meta = parseMeta(req.body);
  const id = 'ADPycd' + token(32);
  const q = new URLSearchParams(req.query);
  q.set('uploadType', 'resumable');
  q.set('upload_id', id);
  ctx.sessions.set(id, { email: mb.email, kind, meta, query: new URLSearchParams(req.query), chunks: [], received: 0,
    total: len === undefined ? null : Number(len), created: ctx.clock.now(), done: null, interrupted: false });
  rstats(ctx).sessions++;
  return { status: 200, headers: { location: ctx.url + req.path + '?' + q.toString(), 'x-guploader-uploadid': id, 'content-length': '0' }, body: Buffer.alloc(0) };
}

function incomplete(s) {
  const h = { 'content-length': '0' };
  if (s.received) h.range = 'bytes=0-' + (s.received - 1);
  return { status: 308, headers: h, body: Buffer.alloc(0) };
}

// Content-Range of a PUT: {first, last, total} (null where '*'), or null without one.
function contentRange(v, bodyLen) {
  if (v === undefined) return null;
  const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(v);
  if (!m) throw E.badRequest('Invalid Content-Range header');
  const r = { first: m[1] === undefined ? null : Number(m[1]), last: m[2] === undefined ? null : Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
  if (r.first === null && bodyLen) throw E.badRequest('Invalid Content-Range header');
  if (r.first !== null && (r.last < r.first || r.last - r.first + 1 !== bodyLen)) throw E.badRequest('Content-Range does not match the length of the body');
  if (r.total !== null && r.last !== null && r.last >= r.total) throw E.badRequest('Invalid Content-Range header');
  return r;
}

function resumePut(ctx, req, mb, kind) {
  const st = rstats(ctx);
  const id = req.query.get('upload_id');
  const s = id && ctx.sessions.get(id);
  if (!s || s.email !== mb.email || s.kind !== kind) throw E.notFound();
  if (ctx.clock.now() - s.created > (ctx.sessionTtl || WEEK)) {
    ctx.sessions.delete(id);
    st.expired++;
    throw E.notFound();
  }
  const query = req.body.length === 0 && /^bytes \*\//.test(req.headers['content-range'] || '');
  if (query) st.status_queries++;
  else { st.puts++; st.bytes += req.body.length; }
  if (s.done) return s.done;
  const r = contentRange(req.headers['content-range'], req.body.length);
  if (r && r.first === null) return incomplete(s);
  const first = r ? r.first : s.received;
  const total = r ? r.total : s.received + req.body.length;
  if (total !== null && total > limit(ctx)) { ctx.sessions.delete(id); throw tooLarge(ctx); }
  if (total !== null && s.total !== null && total !== s.total) throw E.badRequest('Invalid request. The total size ' + total + ' does not match the size declared for this upload, ' + s.total + '.');
  if (first > s.received) throw E.badRequest('Invalid request. According to the Content-Range header, the upload offset is ' + first + ' byte(s), which exceeds already uploaded size of ' + s.received + ' byte(s).');
  // Bytes the session holds already are not taken twice.
  let body = req.body.subarray(Math.min(req.body.length, s.received - first));
  if (first > 0 && s.interrupted) { st.resumed++; s.interrupted = false; }
  if (req.linkFault === 'reset' || req.linkFault === 'stall') {
    // The link broke while the body came: keep what a server would have.
    body = body.subarray(0, Math.floor(body.length / 2 / QUANTUM) * QUANTUM);
    s.interrupted = true;
    st.interrupted++;
  }
  if (body.length) { s.chunks.push(body); s.received += body.length; st.kept += body.length; }
  if (s.received > limit(ctx)) { ctx.sessions.delete(id); throw tooLarge(ctx); }
  if (req.linkFault === 'reset' || req.linkFault === 'stall' || total === null || s.received < total) return incomplete(s);
  const q = Object.assign({}, req, { query: s.query });
  let a;
  try {
    a = ingest(ctx, q, mb, kind, Buffer.concat(s.chunks), s.meta);
  } catch (e) {
    ctx.sessions.delete(id);
    throw e;
  }
  s.chunks = [];
  s.done = a;
  st.completed++;
  return a;
}

module.exports = { jsonUpload, mediaUpload, resumePut, MAX, WEEK };
