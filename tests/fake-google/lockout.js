'use strict';
// Timed rate-limit lockouts: until an emulated deadline, every Gmail call of a
// user answers one of the three rate-limit shapes real Gmail sends (notes
// §2.3). A client that honours only a Retry-After header, or that retries a
// 403 as final, meets here what it would meet in production.
const { ApiError } = require('./errors');
const { PROJECT_NUMBER } = require('./quota');

const SHAPES = {
  // GAMADV-XTD3#337, gmail-tester#23: the wait is in the text, two spaces
  // after the full stop, the time with milliseconds and Z.
  user429: (until) => new ApiError(429, 'User-rate limit exceeded.  Retry after ' + new Date(until).toISOString(), 'rateLimitExceeded',
    { domain: 'usageLimits', status: 'RESOURCE_EXHAUSTED' }),
  // GYB#309, gmail-cleaner#5, inbox-zero#480: a 403 that is a quota, not a refusal.
  usage403: () => new ApiError(403, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:" +
    PROJECT_NUMBER + "'.", 'rateLimitExceeded', { domain: 'usageLimits', status: 'PERMISSION_DENIED' }),
  // The same reports' 429 variant; the notes give its domain as global.
  exhausted429: () => new ApiError(429, 'Resource has been exhausted (e.g. check quota).', 'rateLimitExceeded', { status: 'RESOURCE_EXHAUSTED' }),
};

class Lockouts {
  constructor(clock) { this.clock = clock; this.map = new Map(); }

  // seconds 0 lifts; a new lockout of the same user replaces the old one.
  set(email, seconds, shape, retryAfterHeader) {
    const key = email.toLowerCase();
    if (!seconds) { this.map.delete(key); return null; }
    const o = { email, until: this.clock.now() + seconds * 1000, shape, retryAfterHeader: !!retryAfterHeader };
    this.map.set(key, o);
    return o;
  }

  // Throws the lockout's answer if the user is locked out now.
  check(email) {
    if (!this.map.size) return;
    const key = email.toLowerCase();
    const o = this.map.get(key);
    if (!o) return;
    const now = this.clock.now();
    if (now >= o.until) { this.map.delete(key); return; }
    const e = SHAPES[o.shape](o.until);
    if (o.retryAfterHeader) e.headers = { 'retry-after': String(Math.ceil((o.until - now) / 1000)) };
    throw e;
  }

  list() {
    const now = this.clock.now(), out = [];
    for (const [key, o] of this.map) {
      if (now >= o.until) { this.map.delete(key); continue; }
      out.push({ email: o.email, shape: o.shape, until: new Date(o.until).toISOString(), seconds_left: Math.ceil((o.until - now) / 1000),
        retry_after_header: o.retryAfterHeader });
    }
    return out;
  }
}

module.exports = { Lockouts, SHAPES };
