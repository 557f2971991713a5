'use strict';
// Gmail API v1: profile, labels, messages (list, get, modify, batchModify,
// trash, delete, attachments) and history. Uploads (insert, import) are in
// upload.js. Each route names its discovery method id; api.js does auth,
// scopes, faults and quota before a handler runs.
const { ApiError, E } = require('./errors');
const { json, empty } = require('./answer');
const fields = require('./fields');
const query = require('./query');
const mime = require('./mime');
const { S } = require('./scopes');
const { seeded } = require('./rand');

const U = '/gmail/v1/users/([^/]+)';

// Answer a resource: honours fields= and prettyPrint= as Google's frontend does.
function ok(req, obj, status = 200) {
  const f = req.query.get('fields');
  if (f) {
    let sel;
    try { sel = fields.parse(f); } catch { throw E.badRequest('Invalid field selection ' + f); }
    obj = fields.apply(obj, sel);
  }
  return json(status, obj, null, req.query.get('prettyPrint') !== 'false');
}

// userId is "me" or the token's own address; anyone else is delegation.
function mailboxOf(ctx, auth, userId) {
  const u = decodeURIComponent(userId);
  if (u !== 'me' && u.toLowerCase() !== auth.email.toLowerCase()) throw new ApiError(403, 'Delegation denied for ' + auth.email, 'forbidden');
  const mb = ctx.world.mailbox(auth.email);
  if (!mb) throw E.failedPrecondition();
  mb.expire(ctx.clock.now(), ctx.opts.historyRetention * 1000);
  return mb;
}

function messageOf(mb, id) {
  if (!/^[0-9a-f]{1,20}$/i.test(id)) throw E.invalidArgument('Invalid id value');
  const m = mb.messages.get(id.toLowerCase());
  if (!m) throw E.notFound();
  return m;
}

function checkLabels(mb, ids) {
  if (ids !== undefined && !Array.isArray(ids)) throw E.invalidArgument('Invalid value for labelIds');
  for (const l of ids || []) if (!mb.labels.has(l)) throw E.invalidArgument('Invalid label: ' + l);
}

function maxResults(req, def, max) {
  const v = req.query.get('maxResults');
  if (v === null || v === '') return def;
  if (!/^\d+$/.test(v)) throw E.invalidArgument('Invalid value at \'max_results\' (TYPE_UINT32), "' + v + '"');
  const n = Number(v);
  return n === 0 ? def : Math.min(n, max);
}

function bodyJson(req) {
  if (!req.body.length) return {};
  try { return JSON.parse(req.body.toString('utf8')); } catch (e) {
    throw E.invalidArgument('Invalid JSON payload received. ' + e.message.split('\n')[0]);
  }
}

// ---- profile and labels

function getProfile(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  return ok(req, { emailAddress: mb.email, messagesTotal: mb.messages.size, threadsTotal: mb.threadCount(), historyId: String(mb.historyId) });
}

function labelSummary(l) {
  const o = { id: l.id, name: l.name };
  if (l.messageListVisibility) o.messageListVisibility = l.messageListVisibility;
  if (l.labelListVisibility) o.labelListVisibility = l.labelListVisibility;
  o.type = l.type;
  if (l.color) o.color = l.color;
  return o;
}

function labelFull(mb, l) {
  const o = labelSummary(l);
  const has = (m) => m.labelIds.includes(l.id);
  const unread = (m) => has(m) && m.labelIds.includes('UNREAD');
  let total = 0, un = 0;
  for (const m of mb.messages.values()) if (has(m)) { total++; if (m.labelIds.includes('UNREAD')) un++; }
  Object.assign(o, { messagesTotal: total, messagesUnread: un, threadsTotal: mb.threadCount(has), threadsUnread: mb.threadCount(unread) });
  return o;
}

function listLabels(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  return ok(req, { labels: [...mb.labels.values()].map(labelSummary) });
}

function getLabel(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const l = mb.labels.get(decodeURIComponent(p[2]));
  if (!l) throw E.notFound();
  return ok(req, labelFull(mb, l));
}

function validName(mb, name, self) {
  if (typeof name !== 'string' || !name.trim()) throw E.invalidArgument('Invalid label name');
  const clash = mb.labelByName(name.trim());
  if (clash && clash !== self) {
    if (clash.type === 'system') throw E.invalidArgument('Invalid label name');
    throw new ApiError(409, 'Label name exists or conflicts', 'duplicate');
  }
}

// Label ids. Google documents a label's id as "The immutable ID of the
// label" and nothing more: an opaque string. User labels happen to be
// Label_N today; a client that reads meaning into that (a prefix, a case,
// a length) breaks the day Google changes it. With the style "opaque"
// (POST /_emu/label-ids), new user labels get ids of other shapes: lower
// case, mixed case, digits only, 6 to 40 characters, some with '_' or '-',
// never Label_ and never a system label's. Seeded by --seed: replayable.
const LABEL_ID_STYLES = ['google', 'opaque'];
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED = LOWER + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function opaqueLabelId(ctx, mb) {
  if (!ctx.labelRng) ctx.labelRng = seeded((ctx.opts.seed ^ 0x1abe1) >>> 0);
  const rng = ctx.labelRng;
  const pick = (a) => a[Math.floor(rng() * a.length)];
  for (;;) {
    const shape = Math.floor(rng() * 4), len = 6 + Math.floor(rng() * 35);
    let id = '';
    if (shape === 3) { id = String(1 + Math.floor(rng() * 9)); while (id.length < len) id += pick('0123456789'); }
    else { while (id.length < len) id += pick(shape === 0 ? LOWER : MIXED); }
    // Some ids carry a '_' or '-' inside, as Google's own do.
    if (shape === 1 || shape === 2) { const i = 1 + Math.floor(rng() * (len - 2)); id = id.slice(0, i) + (shape === 1 ? '-' : '_') + id.slice(i + 1); }
    if (!/^Label_/.test(id) && !mb.labels.has(id)) return id;
  }
}

function createLabel(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const b = bodyJson(req);
  validName(mb, b.name, null);
  const l = mb.createLabel(Object.assign({}, b, { name: b.name.trim() }));
  if (ctx.labelIdStyle === 'opaque') {
    mb.labels.delete(l.id);
    l.id = opaqueLabelId(ctx, mb);
    mb.labels.set(l.id, l);
  }
  ctx.persist.dirty();
  return ok(req, labelSummary(l));
}

function updateLabel(ctx, req, p, auth, patch) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const l = mb.labels.get(decodeURIComponent(p[2]));
  if (!l) throw E.notFound();
  if (l.type === 'system') throw E.invalidArgument('Invalid update request');
  const b = bodyJson(req);
  if (b.name !== undefined || !patch) validName(mb, b.name, l);
  for (const k of ['name', 'messageListVisibility', 'labelListVisibility', 'color']) if (b[k] !== undefined) l[k] = k === 'name' ? b[k].trim() : b[k];
  ctx.persist.dirty();
  return ok(req, labelSummary(l));
}

function deleteLabel(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const l = mb.labels.get(decodeURIComponent(p[2]));
  if (!l) throw E.notFound();
  if (l.type === 'system') throw E.invalidArgument('Invalid delete request');
  const now = ctx.clock.now();
  for (const m of mb.messages.values()) if (m.labelIds.includes(l.id)) mb.modify(m, [], [l.id], now);
  mb.labels.delete(l.id);
  ctx.persist.dirty();
  return empty(204);
}

// ---- messages

function decodeToken(t) {
  const s = Buffer.from(t, 'base64url').toString();
  const m = s.match(/^(\d+):([0-9a-f]+)$/);
  if (!m) throw E.invalidArgument('Invalid pageToken');
  return { date: Number(m[1]), id: m[2] };
}

function listMessages(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const q = req.query.get('q');
  if (q && auth.scopes.has(S.metadata) && !auth.scopes.has(S.readonly) && !auth.scopes.has(S.modify) && !auth.scopes.has(S.mail)) {
    throw E.forbidden("Metadata scope does not support 'q' parameter");
  }
  const labelIds = req.query.getAll('labelIds');
  const max = maxResults(req, 100, 500);
  const compiled = q ? query.compile(q, mb, ctx.clock.now()) : null;
  const showSpamTrash = req.query.get('includeSpamTrash') === 'true' || (compiled && compiled.spamTrash) ||
    labelIds.includes('SPAM') || labelIds.includes('TRASH');
  const pass = (m) => {
    if (!showSpamTrash && (m.labelIds.includes('SPAM') || m.labelIds.includes('TRASH'))) return false;
    for (const l of labelIds) if (!m.labelIds.includes(l)) return false;
    return !compiled || compiled.match(m);
  };
  const all = mb.newestFirst();
  let start = 0;
  const pt = req.query.get('pageToken');
  if (pt) {
    const c = decodeToken(pt);
    // first message strictly after the cursor in newest-first order
    let lo = 0, hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1, m = all[mid];
      if (m.internalDate > c.date || (m.internalDate === c.date && m.id >= c.id)) lo = mid + 1; else hi = mid;
    }
    start = lo;
  }
  const page = [];
  let i = start, last = null, total = 0;
  for (; i < all.length; i++) {
    if (!pass(all[i])) continue;
    if (page.length < max) { page.push(all[i]); last = all[i]; } else { total++; break; }
  }
  const more = total > 0;
  const out = {};
  if (page.length) out.messages = page.map((m) => ({ id: m.id, threadId: m.threadId }));
  if (more) out.nextPageToken = Buffer.from(last.internalDate + ':' + last.id).toString('base64url');
  // an estimate, as Google's is: what is on this page plus what is left
  let rest = 0;
  if (more) for (let j = start; j < all.length; j++) if (pass(all[j])) rest++;
  out.resultSizeEstimate = more ? rest : page.length;
  return ok(req, out);
}

function baseFields(m) {
  const o = { id: m.id, threadId: m.threadId };
  if (m.labelIds.length) o.labelIds = m.labelIds.slice();
  o.snippet = m.snippet;
  return o;
}

function tailFields(o, m) {
  o.historyId = String(m.historyId);
  o.internalDate = String(m.internalDate);
  return o;
}

function messageResource(m, format, metaHeaders) {
  const o = baseFields(m);
  if (format === 'metadata') {
    const hs = metaHeaders.length ? m.headers.filter((h) => metaHeaders.includes(h.name.toLowerCase())) : m.headers;
    const ct = mime.parseContentType(mime.header(m.headers, 'Content-Type'));
    o.payload = { partId: '', mimeType: ct.type, filename: '', headers: hs };
  } else if (format === 'full') {
    o.payload = mime.payloadOf(m.raw, '', {});
  }
  o.sizeEstimate = m.sizeEstimate;
  if (format === 'raw') o.raw = m.raw.toString('base64url');
  return tailFields(o, m);
}

const FORMATS = ['minimal', 'full', 'raw', 'metadata'];

function getMessage(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const m = messageOf(mb, p[2]);
  const format = (req.query.get('format') || 'full').toLowerCase();
  if (!FORMATS.includes(format)) throw E.invalidArgument('Invalid value at \'format\' (type.googleapis.com/google.apps.gmail.v1.GetMessageRequest.Format), "' + req.query.get('format') + '"');
  if ((format === 'raw' || format === 'full') && auth.scopes.has(S.metadata) && !auth.scopes.has(S.readonly) && !auth.scopes.has(S.modify) && !auth.scopes.has(S.mail)) {
    throw E.forbidden("Metadata scope doesn't allow format " + format.toUpperCase());
  }
  const meta = req.query.getAll('metadataHeaders').map((h) => h.toLowerCase());
  // The serialized answer is cached per message until it changes: the
  // benchmark path (format=raw) must cost next to nothing.
  if (req.query.get('fields')) return ok(req, messageResource(m, format, meta));
  const key = format + '|' + req.query.get('prettyPrint') + '|' + meta.join(',');
  if (!m.cache) m.cache = new Map();
  let a = m.cache.get(key);
  if (!a) { a = ok(req, messageResource(m, format, meta)); m.cache.set(key, a); }
  return a;
}

function getAttachment(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const m = messageOf(mb, p[2]);
  const atts = {};
  mime.payloadOf(m.raw, '', atts);
  const data = atts[decodeURIComponent(p[3])];
  if (!data) throw E.notFound();
  return ok(req, { size: data.length, data: data.toString('base64url') });
}

function modifyBody(mb, b) {
  checkLabels(mb, b.addLabelIds);
  checkLabels(mb, b.removeLabelIds);
  return [b.addLabelIds || [], b.removeLabelIds || []];
}

function modifyMessage(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const m = messageOf(mb, p[2]);
  const [add, rem] = modifyBody(mb, bodyJson(req));
  mb.modify(m, add, rem, ctx.clock.now());
  ctx.persist.dirty();
  return ok(req, { id: m.id, threadId: m.threadId, labelIds: m.labelIds.slice() });
}

const BATCH_IDS = 1000;

function idsOf(req, mb) {
  const b = bodyJson(req);
  const ids = b.ids || [];
  if (!Array.isArray(ids) || !ids.length) throw E.invalidArgument('No ids specified');
  if (ids.length > BATCH_IDS) throw E.invalidArgument('Too many ids specified: ' + ids.length + ', limit is ' + BATCH_IDS);
  for (const id of ids) if (!/^[0-9a-f]{1,20}$/i.test(id)) throw E.invalidArgument('Invalid id value');
  return { b, ids };
}

function batchModify(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const { b, ids } = idsOf(req, mb);
  const [add, rem] = modifyBody(mb, b);
  const now = ctx.clock.now();
  // Ids that are not (or no longer) in the mailbox are passed over, as Gmail does.
  for (const id of ids) { const m = mb.messages.get(id.toLowerCase()); if (m) mb.modify(m, add, rem, now); }
  ctx.persist.dirty();
  return empty(204);
}

function batchDelete(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const { ids } = idsOf(req, mb);
  const now = ctx.clock.now();
  for (const id of ids) { const m = mb.messages.get(id.toLowerCase()); if (m) { mb.deleteMessage(m, now); ctx.persist.dropRaw(m); } }
  ctx.persist.dirty();
  return empty(204);
}

function trash(ctx, req, p, auth, on) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const m = messageOf(mb, p[2]);
  mb.modify(m, on ? ['TRASH'] : [], on ? [] : ['TRASH'], ctx.clock.now());
  ctx.persist.dirty();
  return ok(req, { id: m.id, threadId: m.threadId, labelIds: m.labelIds.slice() });
}

function deleteMessage(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const m = messageOf(mb, p[2]);
  mb.deleteMessage(m, ctx.clock.now());
  ctx.persist.dropRaw(m);
  ctx.persist.dirty();
  return empty(204);
}

// ---- history

const TYPE_FIELD = { messageAdded: 'messagesAdded', messageDeleted: 'messagesDeleted', labelAdded: 'labelsAdded', labelRemoved: 'labelsRemoved' };

function historyRecord(r) {
  const o = { id: String(r.id), messages: [{ id: r.msg.id, threadId: r.msg.threadId }] };
  const message = { id: r.msg.id, threadId: r.msg.threadId };
  if (r.msgLabels.length) message.labelIds = r.msgLabels;
  const item = { message };
  if (r.labelIds) item.labelIds = r.labelIds;
  o[TYPE_FIELD[r.type]] = [item];
  return o;
}

function listHistory(ctx, req, p, auth) {
  const mb = mailboxOf(ctx, auth, p[1]);
  const s = req.query.get('startHistoryId');
  if (s === null || s === '') throw E.invalidArgument('Missing required parameter: startHistoryId');
  if (!/^\d+$/.test(s)) throw E.invalidArgument('Invalid value at \'start_history_id\' (TYPE_UINT64), "' + s + '"');
  const start = Number(s);
  if (start < mb.floor) throw E.notFound();
  const types = req.query.getAll('historyTypes');
  for (const t of types) if (!TYPE_FIELD[t]) throw E.invalidArgument('Invalid value at \'history_types\' (type.googleapis.com/google.apps.gmail.v1.ListHistoryRequest.HistoryType), "' + t + '"');
  const labelId = req.query.get('labelId');
  const max = maxResults(req, 100, 500);
  let after = start;
  const pt = req.query.get('pageToken');
  if (pt) {
    if (!/^\d+$/.test(pt)) throw E.invalidArgument('Invalid pageToken');
    after = Math.max(after, Number(pt));
  }
  // binary search for the first record past the cursor
  const h = mb.history;
  let lo = 0, hi = h.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (h[mid].id <= after) lo = mid + 1; else hi = mid; }
  const out = [];
  let next = null;
  for (let i = lo; i < h.length; i++) {
    const r = h[i];
    if (types.length && !types.includes(r.type)) continue;
    if (labelId && !r.msgLabels.includes(labelId) && !(r.labelIds && r.labelIds.includes(labelId))) continue;
    if (out.length === max) { next = String(h[i - 1].id); break; }
    out.push(historyRecord(r));
  }
  const o = {};
  if (out.length) o.history = out;
  if (next) o.nextPageToken = next;
  o.historyId = String(mb.historyId);
  return ok(req, o);
}

const upload = require('./upload');

const routes = [
  ['GET', U + '/profile', 'gmail.users.getProfile', getProfile],
  ['GET', U + '/labels', 'gmail.users.labels.list', listLabels],
  ['POST', U + '/labels', 'gmail.users.labels.create', createLabel],
  ['GET', U + '/labels/([^/]+)', 'gmail.users.labels.get', getLabel],
  ['PUT', U + '/labels/([^/]+)', 'gmail.users.labels.update', (c, r, p, a) => updateLabel(c, r, p, a, false)],
  ['PATCH', U + '/labels/([^/]+)', 'gmail.users.labels.patch', (c, r, p, a) => updateLabel(c, r, p, a, true)],
  ['DELETE', U + '/labels/([^/]+)', 'gmail.users.labels.delete', deleteLabel],
  ['GET', U + '/messages', 'gmail.users.messages.list', listMessages],
  ['POST', U + '/messages', 'gmail.users.messages.insert', (c, r, p, a) => upload.jsonUpload(c, r, mailboxOf(c, a, p[1]), 'insert')],
  ['POST', U + '/messages/import', 'gmail.users.messages.import', (c, r, p, a) => upload.jsonUpload(c, r, mailboxOf(c, a, p[1]), 'import')],
  ['POST', U + '/messages/batchModify', 'gmail.users.messages.batchModify', batchModify],
  ['POST', U + '/messages/batchDelete', 'gmail.users.messages.batchDelete', batchDelete],
  ['GET', U + '/messages/([^/]+)', 'gmail.users.messages.get', getMessage],
  ['DELETE', U + '/messages/([^/]+)', 'gmail.users.messages.delete', deleteMessage],
  ['POST', U + '/messages/([^/]+)/modify', 'gmail.users.messages.modify', modifyMessage],
  ['POST', U + '/messages/([^/]+)/trash', 'gmail.users.messages.trash', (c, r, p, a) => trash(c, r, p, a, true)],
  ['POST', U + '/messages/([^/]+)/untrash', 'gmail.users.messages.untrash', (c, r, p, a) => trash(c, r, p, a, false)],
  ['GET', U + '/messages/([^/]+)/attachments/([^/]+)', 'gmail.users.messages.attachments.get', getAttachment],
  ['GET', U + '/history', 'gmail.users.history.list', listHistory],
  // media uploads: simple (media, multipart) and resumable
  ['POST', '/(?:resumable/)?upload' + U + '/messages', 'gmail.users.messages.insert', (c, r, p, a) => upload.mediaUpload(c, r, mailboxOf(c, a, p[1]), 'insert')],
  ['POST', '/(?:resumable/)?upload' + U + '/messages/import', 'gmail.users.messages.import', (c, r, p, a) => upload.mediaUpload(c, r, mailboxOf(c, a, p[1]), 'import')],
  ['PUT', '/(?:resumable/)?upload' + U + '/messages', 'gmail.users.messages.insert', (c, r, p, a) => upload.resumePut(c, r, mailboxOf(c, a, p[1]), 'insert')],
  ['PUT', '/(?:resumable/)?upload' + U + '/messages/import', 'gmail.users.messages.import', (c, r, p, a) => upload.resumePut(c, r, mailboxOf(c, a, p[1]), 'import')],
].map(([method, re, id, h]) => ({ method, re: new RegExp('^' + re + '$'), id, h }));

module.exports = { routes, ok, mailboxOf, checkLabels, bodyJson, LABEL_ID_STYLES };
