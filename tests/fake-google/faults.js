'use strict';
// Faults on demand: 429, 500, 503, precondition, reset, stall, truncate at a
// seeded rate.
// Each draw depends only on (seed, request line, how many times that same
// request line was seen), not on arrival order, so a failing run replays
// exactly even when requests race; a retry of a failed call draws afresh.
const { hashUnit } = require('./rand');

const STATUS_KINDS = ['429', '500', '503'];
// Gmail's transient 400 failedPrecondition (google-api-go-client#645): Gmail
// calls only, and only when asked for by name, so the schedules of seeds
// chosen before it existed stay as they were.
const GMAIL_KINDS = ['precondition'];
const LINK_KINDS = ['reset', 'stall', 'truncate'];
const DEFAULT = STATUS_KINDS.concat(LINK_KINDS);
const ALL = DEFAULT.concat(GMAIL_KINDS);

class Faults {
  constructor() { this.set({}); }
  set(cfg) {
    const kinds = (cfg.kinds || DEFAULT).map(String);
    for (const k of kinds) if (!ALL.includes(k)) throw new Error('unknown fault kind: ' + k);
    this.rate = Number(cfg.rate || 0);
    this.kinds = kinds;
    this.seed = String(cfg.seed === undefined ? 0 : cfg.seed);
    this.methods = cfg.methods || null;     // discovery ids, e.g. gmail.users.messages.get
    this.users = cfg.users ? cfg.users.map((u) => u.toLowerCase()) : null;
    this.verbs = cfg.verbs ? cfg.verbs.map((v) => String(v).toUpperCase()) : null; // HTTP methods, e.g. PUT
    this.budget = cfg.count === undefined ? Infinity : Number(cfg.count);
    this.stallMs = Number(cfg.stall_ms || 30000);
    this.seen = new Map();
    this.log = [];
  }
  // kindsAllowed narrows the draw: batch parts can only fail with a status.
  draw(method, user, requestLine, kindsAllowed) {
    if (!this.rate || this.budget <= 0) return null;
    if (this.methods && !this.methods.includes(method)) return null;
    if (this.users && !this.users.includes(String(user).toLowerCase())) return null;
    if (this.verbs && !this.verbs.includes(requestLine.slice(0, requestLine.indexOf(' ')))) return null;
    const kinds = this.kinds.filter((k) => kindsAllowed.includes(k));
    if (!kinds.length) return null;
    const n = (this.seen.get(requestLine) || 0) + 1;
    this.seen.set(requestLine, n);
    if (hashUnit(this.seed, requestLine, n) >= this.rate) return null;
    const kind = kinds[Math.floor(hashUnit(this.seed, 'kind', requestLine, n) * kinds.length)];
    this.budget--;
    this.log.push({ kind, method, request: requestLine, occurrence: n });
    return kind;
  }
}

module.exports = { Faults, STATUS_KINDS, GMAIL_KINDS, LINK_KINDS };
