'use strict';
// Per-user quota as Gmail enforces it: a token bucket charged with each
// method's unit cost, and a cap on requests in flight per mailbox.
// Tables from ../shared/notes/google-api.md section 2.1.
const fs = require('fs');
const { ApiError, E } = require('./errors');

const LEGACY_COSTS = {
  'gmail.users.getProfile': 1, 'gmail.users.history.list': 2,
  'gmail.users.labels.list': 1, 'gmail.users.labels.get': 1, 'gmail.users.labels.create': 5,
  'gmail.users.labels.update': 5, 'gmail.users.labels.patch': 5, 'gmail.users.labels.delete': 5,
  'gmail.users.messages.list': 5, 'gmail.users.messages.get': 5, 'gmail.users.messages.modify': 5,
  'gmail.users.messages.trash': 5, 'gmail.users.messages.untrash': 5, 'gmail.users.messages.delete': 10,
  'gmail.users.messages.insert': 25, 'gmail.users.messages.import': 25,
  'gmail.users.messages.batchModify': 50, 'gmail.users.messages.batchDelete': 50,
  'gmail.users.messages.attachments.get': 5,
  'gmail.users.watch': 100, 'gmail.users.stop': 50,
};

// The consumer Google names in quota messages; any fixed number will do.
const PROJECT_NUMBER = '292824132082';

const TABLES = {
  // 250 units per user per second, a moving average that allows short bursts.
  legacy: { capacity: 250, perSecond: 250, costs: LEGACY_COSTS, window: 'second',
    message: (retryAt) => 'User-rate limit exceeded.  Retry after ' + new Date(retryAt).toISOString() },
  // Projects created since May 2026: 6,000 units per user per minute, messages.get at 20.
  2026: { capacity: 6000, perSecond: 100, costs: Object.assign({}, LEGACY_COSTS, { 'gmail.users.messages.get': 20 }), window: 'minute',
    message: () => "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:" + PROJECT_NUMBER + "'." },
};

// A FILE table: {"capacity":N,"perSecond":N,"costs":{"gmail.users.messages.get":5,...}}
function loadTable(name) {
  if (name === 'off') return null;
  if (TABLES[name]) return TABLES[name];
  const t = JSON.parse(fs.readFileSync(name, 'utf8'));
  return { capacity: t.capacity, perSecond: t.perSecond, costs: Object.assign({}, LEGACY_COSTS, t.costs || {}),
    window: 'custom', message: TABLES.legacy.message };
}

// The project-wide limit: 1,200,000 units per minute across all users in
// every published table since the legacy one (notes section 2.1).
const PROJECT_PER_MINUTE = 1200000;

// Refills a token bucket {tokens, at} to now; capacity and rate per second.
function refill(b, capacity, perSecond, now) {
  b.tokens = Math.min(capacity, b.tokens + (now - b.at) / 1000 * perSecond);
  b.at = now;
}

class Quota {
  constructor(clock, table, concurrency, batchParallel) {
    this.clock = clock;
    this.projectPerMinute = PROJECT_PER_MINUTE;
    this.projectCode = 403;
    this.set(table, concurrency, batchParallel);
  }
  set(table, concurrency, batchParallel) {
    this.tableName = table;
    this.table = loadTable(table);
    // Off means off: the benchmark must not measure the emulator's limits.
    this.concurrency = concurrency === undefined ? (this.table ? 10 : 0) : concurrency;
    if (batchParallel !== undefined) this.batchParallel = batchParallel;
    else if (this.batchParallel === undefined) this.batchParallel = 50;
    this.buckets = new Map();
    this.inflight = new Map();
    this.project = null;
  }
  // perMinute 0 lifts the project limit; code is the status it answers.
  setProject(perMinute, code) {
    if (perMinute !== undefined) this.projectPerMinute = perMinute;
    if (code !== undefined) this.projectCode = code;
    this.project = null;
  }
  cost(method) { return (this.table ? this.table.costs : LEGACY_COSTS)[method] || 1; }

  // Charge units to the user's bucket and the project's, or throw: the
  // user's 429 with Retry-After first, else the project's answer. A refused
  // call charges neither.
  charge(user, method) {
    if (!this.table) return;
    const t = this.table, now = this.clock.now(), cost = this.cost(method);
    let b = this.buckets.get(user);
    if (!b) { b = { tokens: t.capacity, at: now }; this.buckets.set(user, b); }
    refill(b, t.capacity, t.perSecond, now);
    if (b.tokens < cost) {
      const wait = Math.max(1, Math.ceil((cost - b.tokens) / t.perSecond));
      const msg = t.message(now + wait * 1000);
      throw new ApiError(429, msg, 'rateLimitExceeded', { domain: 'usageLimits', headers: { 'retry-after': String(wait) } });
    }
    const cap = this.projectPerMinute;
    if (cap) {
      if (!this.project) this.project = { tokens: cap, at: now };
      refill(this.project, cap, cap / 60, now);
      if (this.project.tokens < cost) throw this.projectError();
      this.project.tokens -= cost;
    }
    b.tokens -= cost;
  }

  // The per-project limit's answer: Google names the limit as the Cloud
  // console does ('Queries per minute', beside '... per user'), as 403 (GYB#309)
  // or, by choice, 429; no Retry-After header (none is reported with it).
  projectError() {
    const msg = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:" +
      PROJECT_NUMBER + "'.";
    return new ApiError(this.projectCode, msg, 'rateLimitExceeded', { domain: 'usageLimits', status: this.projectCode === 403 ? 'PERMISSION_DENIED' : 'RESOURCE_EXHAUSTED' });
  }

  // Returns a release function, or throws the concurrency 429.
  enter(user) {
    if (!this.concurrency) return () => {};
    const n = this.inflight.get(user) || 0;
    if (n >= this.concurrency) throw E.concurrency();
    this.inflight.set(user, n + 1);
    let done = false;
    return () => { if (!done) { done = true; this.inflight.set(user, this.inflight.get(user) - 1); } };
  }
}

module.exports = { Quota, TABLES, LEGACY_COSTS, PROJECT_NUMBER, PROJECT_PER_MINUTE };
