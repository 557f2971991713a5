'use strict';
// --state DIR: the world survives a restart. Raw messages are written once
// each (raw/<id>.eml); everything else is one JSON snapshot written atomically
// (temp file, fsync, rename) before the answer to the change that dirtied it
// leaves, so a test may kill -9 the emulator right after any 2xx.
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Mailbox, Message } = require('./store');

class Persist {
  constructor(dir, world, clock) {
    this.dir = dir; this.world = world; this.clock = clock;
    this.pending = false; this.waiting = null;
    // Other keepers of state (Pub/Sub, watches) register {save, load} here by name.
    this.parts = new Map();
    if (dir) fs.mkdirSync(path.join(dir, 'raw'), { recursive: true, mode: 0o700 });
  }
  dirty() { if (this.dir) this.pending = true; }
  addRaw(m) { if (this.dir) writeAtomic(path.join(this.dir, 'raw', m.id + '.eml'), m.raw); }
  dropRaw(m) { if (this.dir) fs.rmSync(path.join(this.dir, 'raw', m.id + '.eml'), { force: true }); }

  // Coalesces: every change made before the write starts is in it.
  flush() {
    if (!this.dir || !this.pending) return Promise.resolve();
    if (!this.waiting) {
      this.waiting = new Promise((resolve) => setImmediate(() => {
        this.waiting = null;
        this.pending = false;
        this.saveNow();
        resolve();
      }));
    }
    return this.waiting;
  }

  saveNow() {
    if (!this.dir) return;
    const w = this.world;
    const snap = {
      version: 1, now: this.clock.now(),
      mailboxes: [...w.mailboxes.values()].map((mb) => ({
        email: mb.email, admin: mb.admin, name: mb.name, deny: mb.deny || false, grant: mb.grant || null, gmail: mb.gmail !== false, suspended: mb.suspended || false,
        labels: [...mb.labels.values()], nextLabel: mb.nextLabel, historyId: mb.historyId, floor: mb.floor, history: mb.history,
        messages: [...mb.messages.values()].map((m) => ({ id: m.id, threadId: m.threadId, labelIds: m.labelIds, internalDate: m.internalDate, historyId: m.historyId })),
      })),
      groups: [...w.groups.values()],
      clients: [...w.clients.values()],
      serviceAccounts: [...w.serviceAccounts.values()],
      accessTokens: [...w.accessTokens.entries()],
      refreshTokens: [...w.refreshTokens.entries()],
    };
    for (const [name, part] of this.parts) snap[name] = part.save();
    writeAtomic(path.join(this.dir, 'state.json'), JSON.stringify(snap));
  }

  load() {
    const f = this.dir && path.join(this.dir, 'state.json');
    if (!f || !fs.existsSync(f)) return false;
    const snap = JSON.parse(fs.readFileSync(f, 'utf8'));
    const w = this.world;
    this.clock.resumeFrom(snap.now);
    for (const s of snap.mailboxes) {
      const mb = new Mailbox(s.email, { admin: s.admin, name: s.name, historyId: s.historyId });
      mb.deny = s.deny; mb.grant = s.grant; mb.suspended = !!s.suspended;
      if (s.gmail === false) mb.gmail = false;
      mb.labels = new Map(s.labels.map((l) => [l.id, l]));
      mb.nextLabel = s.nextLabel; mb.floor = s.floor; mb.history = s.history;
      for (const r of s.messages) {
        const raw = fs.readFileSync(path.join(this.dir, 'raw', r.id + '.eml'));
        const m = new Message(Object.assign({}, r, { raw }));
        m.messageId = require('./mime').header(m.headers, 'Message-ID');
        mb.messages.set(m.id, m);
        if (m.messageId && !mb.byMessageId.has(m.messageId)) mb.byMessageId.set(m.messageId, m.id);
      }
      w.mailboxes.set(s.email.toLowerCase(), mb);
    }
    for (const g of snap.groups) w.groups.set(g.email.toLowerCase(), g);
    for (const c of snap.clients) w.clients.set(c.client_id, c);
    for (const sa of snap.serviceAccounts) w.serviceAccounts.set(sa.client_email, sa);
    w.accessTokens = new Map(snap.accessTokens);
    w.refreshTokens = new Map(snap.refreshTokens);
    for (const [name, part] of this.parts) if (snap[name]) part.load(snap[name]);
    return true;
  }
}

function writeAtomic(file, data) {
  const tmp = file + '.' + crypto.randomBytes(4).toString('hex') + '.tmp';
  const fd = fs.openSync(tmp, 'w', 0o600);
  try { fs.writeSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, file);
}

module.exports = { Persist };
