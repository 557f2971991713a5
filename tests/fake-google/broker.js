'use strict';
// Cloud Pub/Sub's delivery model, without HTTP: topics, pull subscriptions,
// leases (ack deadlines), redelivery, at-least-once duplicates, long polls.
// pubsub.js puts the REST v1 surface on it; watch.js publishes Gmail's
// notifications into it.
//
// Semantics follow the Pub/Sub docs (https://cloud.google.com/pubsub/docs/subscriber,
// .../docs/lease-management, reference/rest/v1/projects.subscriptions):
// - a subscription receives only messages published after it was created;
// - a pulled message is leased for ackDeadlineSeconds; unacked, it is
//   delivered again after that, with a new ackId and the same messageId;
// - delivery is at least once: a message acked in time may still come again
//   (rate set by POST /_emu/pubsub {"redeliver_rate"}; 0 by default so
//   tests that do not ask for duplicates get none);
// - messages are kept messageRetentionDuration (default 7 days) unacked.
// Time is the emulated clock (deadlines, retention), so a test can advance
// it past a deadline instead of waiting.
const crypto = require('crypto');
const { seeded } = require('./rand');

const GMAIL_PUSH = 'serviceAccount:gmail-api-push@system.gserviceaccount.com';
// Roles that carry pubsub.topics.publish (predefined roles; basic roles too).
const PUBLISH_ROLES = new Set(['roles/pubsub.publisher', 'roles/pubsub.editor', 'roles/pubsub.admin', 'roles/editor', 'roles/owner']);
const RETENTION_S = 7 * 86400;
const DELETED_TOPIC = '_deleted-topic_';   // what a subscription's topic reads after the topic is deleted

class Broker {
  constructor(clock, seed) {
    this.clock = clock;
    this.topics = new Map();   // full name -> {name, policy:{version, bindings, etag}}
    this.subs = new Map();     // full name -> Subscription state
    this.acks = new Map();     // ackId -> {sub, entry}
    this.pullWaitMs = 10000;   // how long an empty pull is held (real ms)
    this.redeliverRate = 0;    // chance that an acked message comes once more
    this.rng = seeded(seed ^ 0x9b5b);
    this.msgSeq = 1000000000000000 + Math.floor(this.rng() * 1e15);
    this.ticker = null;
    this.stats = { published: 0, delivered: 0, redelivered: 0, acked: 0, duplicates: 0, retention_expired: 0 };
  }

  // ---- topics

  createTopic(name) {
    if (this.topics.has(name)) return null;
    const t = { name, policy: { version: 1, bindings: [], etag: 'ACAB' } };
    this.topics.set(name, t);
    return t;
  }
  deleteTopic(name) {
    if (!this.topics.delete(name)) return false;
    for (const s of this.subs.values()) if (s.topic === name) s.topic = DELETED_TOPIC;
    return true;
  }
  setPolicy(t, policy) {
    const bindings = (policy.bindings || []).map((b) => ({ role: b.role, members: (b.members || []).slice() })).filter((b) => b.members.length);
    // A new etag per change, as IAM gives (base64 of 8 bytes, e.g. "BwXhqhqy2Fk=").
    t.policy = { version: 1, bindings, etag: bindings.length ? crypto.randomBytes(8).toString('base64') : 'ACAB' };
    return t.policy;
  }
  // Whether Gmail's push account may publish: a publishing role bound to it
  // (or to allUsers / allAuthenticatedUsers) on the topic. Project-level
  // grants are not modelled.
  gmailMayPublish(name) {
    const t = this.topics.get(name);
    if (!t) return false;
    return t.policy.bindings.some((b) => PUBLISH_ROLES.has(b.role) &&
      b.members.some((m) => m === GMAIL_PUSH || m === 'allUsers' || m === 'allAuthenticatedUsers'));
  }

  // ---- subscriptions

  createSub(name, topic, ackDeadlineSeconds) {
    if (this.subs.has(name)) return null;
    const s = { name, topic, ackDeadlineSeconds, queue: [], waiters: [] };
    this.subs.set(name, s);
    return s;
  }
  deleteSub(name) {
    const s = this.subs.get(name);
    if (!s) return false;
    this.subs.delete(name);
    for (const e of s.queue) if (e.ackId) this.acks.delete(e.ackId);
    for (const w of s.waiters.splice(0)) w.finish([]);
    return true;
  }

  // ---- publishing

  // msgs: [{data (base64 string), attributes}] -> messageIds. Fan out to the
  // topic's subscriptions as they are now.
  publish(topic, msgs) {
    const now = this.clock.now();
    const ids = [];
    for (const m of msgs) {
      const id = String(this.msgSeq++);
      const msg = { data: m.data || '', messageId: id, publishTime: new Date(now).toISOString() };
      if (m.attributes && Object.keys(m.attributes).length) msg.attributes = Object.assign({}, m.attributes);
      ids.push(id);
      this.stats.published++;
      for (const s of this.subs.values()) {
        if (s.topic !== topic) continue;
        s.queue.push({ msg, at: now, leaseUntil: 0, ackId: null, deliveries: 0, extra: this.redeliverRate > 0 && this.rng() < this.redeliverRate });
        this.kick(s);
      }
    }
    return ids;
  }

  // ---- pulling

  available(s, now) {
    const out = [];
    const keep = now - RETENTION_S * 1000;
    // Messages past retention are gone, delivered or not.
    while (s.queue.length && s.queue[0].at < keep) { const e = s.queue.shift(); if (e.ackId) this.acks.delete(e.ackId); this.stats.retention_expired++; }
    for (const e of s.queue) if (e.leaseUntil <= now) out.push(e);
    return out;
  }

  lease(s, entries, now) {
    return entries.map((e) => {
      if (e.ackId) this.acks.delete(e.ackId);   // an older ackId of a redelivered message no longer acks it
      e.ackId = crypto.randomBytes(30).toString('base64url');
      e.leaseUntil = now + s.ackDeadlineSeconds * 1000;
      e.deliveries++;
      this.acks.set(e.ackId, { sub: s, entry: e });
      this.stats.delivered++;
      if (e.deliveries > 1) this.stats.redelivered++;
      return { ackId: e.ackId, message: e.msg };
    });
  }

  // Resolves with the received messages: at once if any are there or when
  // immediate, else when one arrives or after pullWaitMs (then []).
  // gone() says the caller hung up: its wait ends without leasing anything.
  pull(s, max, immediate, gone, onClose) {
    const now = this.clock.now();
    const av = this.available(s, now);
    if (av.length || immediate || this.pullWaitMs <= 0) return Promise.resolve(this.lease(s, av.slice(0, max), now));
    return new Promise((resolve) => {
      const w = { max, gone, timer: null, finish: null };
      w.finish = (got) => { clearTimeout(w.timer); const i = s.waiters.indexOf(w); if (i >= 0) s.waiters.splice(i, 1); resolve(got); };
      w.timer = setTimeout(() => w.finish([]), this.pullWaitMs);
      s.waiters.push(w);
      if (onClose) onClose(() => { if (s.waiters.includes(w)) w.finish([]); });
      this.tick();
    });
  }

  // Hand available messages to waiting pulls, oldest waiter first.
  kick(s) {
    if (!s.waiters.length) return;
    const now = this.clock.now();
    for (const w of s.waiters.slice()) {
      if (w.gone && w.gone()) { w.finish([]); continue; }
      const av = this.available(s, now);
      if (!av.length) break;
      w.finish(this.lease(s, av.slice(0, w.max), now));
    }
  }

  // Leases run out on the emulated clock, which can also jump (POST
  // /_emu/clock); while pulls wait, look every 50 ms.
  tick() {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      let waiting = false;
      for (const s of this.subs.values()) if (s.waiters.length) { waiting = true; this.kick(s); }
      if (!waiting) { clearInterval(this.ticker); this.ticker = null; }
    }, 50);
    this.ticker.unref();
  }

  // ---- acks and deadlines

  // Only the ackId of a message's latest delivery acks it; others (older,
  // unknown) are ignored, as Pub/Sub ignores acks of expired leases that
  // were delivered again. An ack after the deadline but before a new
  // delivery still counts ("may succeed", lease-management docs).
  acknowledge(s, ackIds) {
    for (const id of ackIds) {
      const a = this.acks.get(id);
      if (!a || a.sub !== s) continue;
      this.acks.delete(id);
      const e = a.entry;
      e.ackId = null;
      if (e.extra) {
        // At-least-once: this one comes back once more even though acked.
        e.extra = false; e.leaseUntil = 0; this.stats.duplicates++;
        this.kick(s);
        continue;
      }
      const i = s.queue.indexOf(e);
      if (i >= 0) s.queue.splice(i, 1);
      this.stats.acked++;
    }
  }

  // seconds 0 gives the messages back at once (a nack).
  modifyAckDeadline(s, ackIds, seconds) {
    const now = this.clock.now();
    for (const id of ackIds) {
      const a = this.acks.get(id);
      if (!a || a.sub !== s) continue;
      a.entry.leaseUntil = now + seconds * 1000;
    }
    if (seconds === 0) this.kick(s);
  }

  backlog(s) { return s.queue.length; }

  // --state: topics, subscriptions with their messages and leases, settings.
  save() {
    return {
      msgSeq: this.msgSeq, pullWaitMs: this.pullWaitMs, redeliverRate: this.redeliverRate,
      topics: [...this.topics.values()],
      subs: [...this.subs.values()].map((s) => ({ name: s.name, topic: s.topic, ackDeadlineSeconds: s.ackDeadlineSeconds,
        queue: s.queue.map((e) => ({ msg: e.msg, at: e.at, leaseUntil: e.leaseUntil, ackId: e.ackId, deliveries: e.deliveries, extra: e.extra })) })),
    };
  }
  load(snap) {
    this.msgSeq = snap.msgSeq; this.pullWaitMs = snap.pullWaitMs; this.redeliverRate = snap.redeliverRate;
    for (const t of snap.topics) this.topics.set(t.name, t);
    for (const x of snap.subs) {
      const s = { name: x.name, topic: x.topic, ackDeadlineSeconds: x.ackDeadlineSeconds, queue: x.queue, waiters: [] };
      this.subs.set(s.name, s);
      for (const e of s.queue) if (e.ackId) this.acks.set(e.ackId, { sub: s, entry: e });
    }
  }
}

module.exports = { Broker, GMAIL_PUSH, DELETED_TOPIC, RETENTION_S };
