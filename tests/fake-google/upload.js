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

function tooLarge() {
  return new ApiError(413, 'Request payload size exceeds the limit: ' + MAX + ' bytes.', 'uploadTooLarge', { status: 'INVALID_ARGUMENT' });
}

function ingest(ctx, req, mb, kind, raw, meta) {
  const { checkLabels, ok } = require('./gmail');
  if (raw.length > MAX) throw tooLarge();
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
  if (req.bodyTooLarge) throw tooLarge();
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

// Resumable: POST opens a session (metadata in the body), PUTs carry bytes,
// 308 with Range until the last byte arrives.
function startSession(ctx, req, mb, kind) {
  const len = req.headers['x-upload-content-length'];
  if (len && Number(len) > MAX) throw tooLarge();
  const ctype = req.headers['x-upload-content-type'];
  if (ctype) checkMedia(ctype);
  const id = 'ADPycd' + token(32);
  const q = new URLSearchParams(req.query);
  q.set('uploadType', 'resumable');
  q.set('upload_id', id);
  ctx.sessions.set(id, { email: mb.email, kind, meta: parseMeta(req.body), query: new URLSearchParams(req.query), chunks: [], received: 0 });
  return { status: 200, headers: { location: ctx.url + req.path + '?' + q.toString(), 'x-guploader-uploadid': id, 'content-length': '0' }, body: Buffer.alloc(0) };
}

function resumePut(ctx, req, mb, kind) {
  const id = req.query.get('upload_id');
  const s = id && ctx.sessions.get(id);
  if (!s || s.email !== mb.email || s.kind !== kind) throw E.notFound();
  const range = req.headers['content-range'];
  let total = null;
  if (range) {
    const m = range.match(/^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/);
    if (!m) throw E.badRequest('Invalid Content-Range header');
    if (m[3] !== '*') total = Number(m[3]);
    if (m[1] !== undefined && Number(m[1]) !== s.received) throw E.badRequest('Invalid request. According to the Content-Range header, the upload offset is ' + m[1] + ' byte(s), which exceeds already uploaded size of ' + s.received + ' byte(s).');
  }
  if (req.body.length) { s.chunks.push(req.body); s.received += req.body.length; }
  if (s.received > MAX) { ctx.sessions.delete(id); throw tooLarge(); }
  if (range && (total === null || s.received < total)) {
    const h = { 'content-length': '0' };
    if (s.received) h.range = 'bytes=0-' + (s.received - 1);
    return { status: 308, headers: h, body: Buffer.alloc(0) };
  }
  ctx.sessions.delete(id);
  const r = Object.assign({}, req, { query: s.query });
  return ingest(ctx, r, mb, kind, Buffer.concat(s.chunks), s.meta);
}

module.exports = { jsonUpload, mediaUpload, resumePut, MAX };
