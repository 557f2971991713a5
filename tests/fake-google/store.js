'use strict';
// The emulated world: mailboxes (labels, messages, history), groups, OAuth
// clients, service accounts and issued tokens. Pure data and the rules Gmail
// applies to it; HTTP lives in gmail.js, oauth.js, control.js.
const crypto = require('crypto');
const mime = require('./mime');
const { seeded, hashUnit } = require('./rand');

const SYSTEM_LABELS = ['INBOX', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'SENT', 'DRAFT', 'CHAT',
  'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS'];
// System labels hidden from the label list in Gmail's UI lists.
const HIDDEN = new Set(['SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'CHAT']);

let idCounter = 0;
// Gmail message ids are 16 hex digits that grow with time (ms << 20 | counter).
function newMessageId(nowMs) {
  idCounter = (idCounter + 1) & 0xfffff;
  return ((BigInt(Math.floor(nowMs)) << 20n) | BigInt(idCounter)).toString(16).padStart(16, '0');
}

class Message {
  constructor(f) {
    this.id = f.id; this.threadId = f.threadId; this.labelIds = f.labelIds;
    this.raw = f.raw; this.internalDate = f.internalDate; this.historyId = f.historyId;
    this.messageId = f.messageId || null;
    this._headers = null; this._snippet = null;
    this.cache = null;   // serialized answers, dropped on any change
  }
  get headers() {
    if (!this._headers) this._headers = mime.parseHeaders(mime.splitHead(this.raw).head);
    return this._headers;
  }
  get snippet() {
    if (this._snippet === null) this._snippet = mime.snippetOf(this.raw);
    return this._snippet;
  }
  get sizeEstimate() { return this.raw.length; }
  touch() { this.cache = null; }
}

class Mailbox {
  constructor(email, opts = {}) {
    this.email = email;
    this.admin = !!opts.admin;
    this.name = opts.name || null;
    this.labels = new Map();
    for (const id of SYSTEM_LABELS) this.labels.set(id, systemLabel(id));
    this.nextLabel = 1;
    this.messages = new Map();
    this.byMessageId = new Map();      // Message-ID header -> message id
    this.sorted = null;                // newest-first list, rebuilt lazily
    this.rng = seeded(Math.floor(hashUnit('history', email) * 2 ** 32));
    this.historyId = opts.historyId || 1000 + Math.floor(this.rng() * 100000);
    this.floor = this.historyId;       // a startHistoryId below this answers 404
    this.history = [];                 // records, increasing id
  }

  // History ids increase with random gaps, as Gmail's do, so clients that
  // assume contiguity fail here as they would against Google.
  bump() { this.historyId += 1 + Math.floor(this.rng() * 7); return this.historyId; }

  record(type, msg, labelIds, now) {
    const id = this.bump();
    msg.historyId = id;
    msg.touch();
    const rec = { id, type, time: now, msg: { id: msg.id, threadId: msg.threadId }, labelIds: labelIds || null, msgLabels: msg.labelIds.slice() };
    this.history.push(rec);
    // Gmail push (watch.js) hears of every change as it is recorded.
    if (Mailbox.onRecord) Mailbox.onRecord(this, rec);
    return id;
  }

  // Drop records older than the retention; a cursor from before them is stale.
  expire(now, retentionMs) {
    let n = 0;
    while (n < this.history.length && now - this.history[n].time > retentionMs) n++;
    if (n) { this.floor = Math.max(this.floor, this.history[n - 1].id); this.history.splice(0, n); }
  }
  expireAll() { this.floor = this.historyId; this.history = []; }

  labelByName(name) {
    const n = name.toLowerCase();
    for (const l of this.labels.values()) if (l.name.toLowerCase() === n) return l;
    return null;
  }

  createLabel(fields) {
    const id = 'Label_' + this.nextLabel++;
    const l = { id, name: fields.name, messageListVisibility: fields.messageListVisibility || 'show',
      labelListVisibility: fields.labelListVisibility || 'labelShow', type: 'user' };
    if (fields.color) l.color = fields.color;
    this.labels.set(id, l);
    return l;
  }

  threadFor(headers, explicit) {
    if (explicit && [...this.messages.values()].some((m) => m.threadId === explicit)) return explicit;
    for (const ref of mime.referencedIds(headers)) {
      const id = this.byMessageId.get(ref);
      if (id && this.messages.has(id)) return this.messages.get(id).threadId;
    }
    return null;
  }

  addMessage(raw, labelIds, internalDate, now, opts = {}) {
    const id = opts.id || newMessageId(now);
    const headers = mime.parseHeaders(mime.splitHead(raw).head);
    const mid = mime.header(headers, 'Message-ID');
    const m = new Message({ id, threadId: null, labelIds: dedupe(labelIds), raw, internalDate, historyId: 0, messageId: mid });
    m._headers = headers;
    m.threadId = this.threadFor(headers, opts.threadId) || id;
    this.messages.set(id, m);
    if (mid && !this.byMessageId.has(mid)) this.byMessageId.set(mid, id);
    this.sorted = null;
    this.record('messageAdded', m, null, now);
    return m;
  }

  // Returns the labels actually added and removed (no-ops leave no history).
  modify(m, add, remove, now) {
    const added = [], removed = [];
    for (const l of add || []) if (!m.labelIds.includes(l) && !(remove || []).includes(l)) { m.labelIds.push(l); added.push(l); }
    for (const l of remove || []) { const i = m.labelIds.indexOf(l); if (i >= 0) { m.labelIds.splice(i, 1); removed.push(l); } }
    if (added.length) this.record('labelAdded', m, added, now);
    if (removed.length) this.record('labelRemoved', m, removed, now);
    return { added, removed };
  }

  deleteMessage(m, now) {
    this.messages.delete(m.id);
    if (m.messageId && this.byMessageId.get(m.messageId) === m.id) this.byMessageId.delete(m.messageId);
    this.sorted = null;
    this.record('messageDeleted', m, null, now);
  }

  newestFirst() {
    if (!this.sorted) {
      this.sorted = [...this.messages.values()].sort((a, b) => (b.internalDate - a.internalDate) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    }
    return this.sorted;
  }

  threadCount(filter) {
    const t = new Set();
    for (const m of this.messages.values()) if (!filter || filter(m)) t.add(m.threadId);
    return t.size;
  }
}

function systemLabel(id) {
  const l = { id, name: id, type: 'system' };
  if (!HIDDEN.has(id) && !id.startsWith('CATEGORY_')) { l.messageListVisibility = 'hide'; l.labelListVisibility = 'labelShow'; }
  if (id === 'SPAM' || id === 'TRASH') { l.messageListVisibility = 'hide'; l.labelListVisibility = 'labelHide'; }
  return l;
}

function dedupe(a) { return [...new Set(a || [])]; }

class World {
  constructor() {
    this.mailboxes = new Map();       // lower-case email -> Mailbox
    this.groups = new Map();          // lower-case email -> {email, members:[...]}
    this.clients = new Map();         // client_id -> {client_id, client_secret, type}
    this.serviceAccounts = new Map(); // client_email -> {client_email, client_id, domain, scopes, publicKey, private_key_id}
    this.accessTokens = new Map();    // token -> {email, scopes[], exp, client_id, refresh}
    this.refreshTokens = new Map();   // token -> {email, scopes[], client_id, revoked}
    this.codes = new Map();           // code -> {...}
  }
  mailbox(email) { return email ? this.mailboxes.get(String(email).toLowerCase()) || null : null; }
  addMailbox(email, opts) {
    const key = email.toLowerCase();
    if (this.mailboxes.has(key)) return this.mailboxes.get(key);
    const domain = key.split('@')[1];
    // The first account of a domain is its administrator, as the person who
    // signs a Workspace domain up is.
    const first = ![...this.mailboxes.keys()].some((k) => k.split('@')[1] === domain);
    const mb = new Mailbox(email, Object.assign({ admin: first }, opts || {}));
    if (opts && opts.admin !== undefined) mb.admin = !!opts.admin;
    this.mailboxes.set(key, mb);
    return mb;
  }
  customerId(domain) { return 'C0' + crypto.createHash('sha256').update(domain).digest('hex').slice(0, 7); }
}

module.exports = { World, Mailbox, Message, SYSTEM_LABELS, newMessageId };
