'use strict';
// Service time per call, so clients are tested against Google's pace rather
// than a loopback's: none, a fixed delay, per-method delays, or a seeded
// profile of Google's latencies ("google"). Real milliseconds, times a scale
// factor so a test can run the profile fast and still measure its shape.
const { seeded } = require('./rand');

// The profile: a log-normal body per class of method (median, sigma), plus a
// rare long tail (a stall somewhere in Google's stack): with probability
// TAIL.p, a second log-normal delay is added. See README, "Latency", for the
// quantiles these give and where the numbers come from.
const CLASSES = {
  read: { median: 170, sigma: 0.3 },     // gets, lists, labels, history, profile, modify
  upload: { median: 520, sigma: 0.3 },   // insert, import: the message is stored and indexed
  token: { median: 100, sigma: 0.35 },   // /token, /revoke, /tokeninfo
};
const TAIL = { p: 0.02, median: 2000, sigma: 0.5 };

function classOf(method) {
  if (method.startsWith('oauth2.')) return 'token';
  if (method === 'gmail.users.messages.insert' || method === 'gmail.users.messages.import') return 'upload';
  return 'read';
}

// Parses what --latency and POST /_emu/quota {"latency"} accept: a number
// (fixed, API calls only, as --latency MS always was), "google", a
// per-method object, or a string "google|MS|METHOD=MS[,...]" where later
// entries override earlier ones for the methods they name.
function parse(spec) {
  const out = { base: 0, methods: {} };
  if (typeof spec === 'number') return fixed(out, spec);
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    for (const [m, ms] of Object.entries(spec)) out.methods[m] = ms2(ms, m);
    return out;
  }
  if (typeof spec !== 'string' || !spec.length) throw new Error('latency: MS, google, METHOD=MS[,...] or {"METHOD":MS}');
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (!part.length) throw new Error('latency: an empty entry in ' + JSON.stringify(spec));
    if (part === 'google') out.base = 'google';
    else if (eq > 0) out.methods[part.slice(0, eq)] = ms2(Number(part.slice(eq + 1)), part.slice(0, eq));
    else fixed(out, Number(part));
  }
  return out;
}
function fixed(out, ms) { out.base = ms2(ms, 'latency'); return out; }
function ms2(ms, what) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new Error(what + ': milliseconds, a number >= 0');
  return ms;
}

class Latency {
  constructor(spec, scale, seed) {
    this.rng = seeded(seed);
    this.spare = null;
    this.scale = 1;
    this.set(spec === undefined ? 0 : spec, scale);
  }
  set(spec, scale) {
    if (scale !== undefined) {
      if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) throw new Error('latency_scale: a number >= 0');
      this.scale = scale;
    }
    if (spec !== undefined) { this.spec = spec; this.cfg = parse(spec); }
  }

  // Milliseconds to wait for this call (0: none). A fixed base delays API
  // calls only; the profile delays OAuth calls too, as Google's token
  // endpoint takes its time as well.
  draw(method) {
    let ms = 0;
    if (Object.prototype.hasOwnProperty.call(this.cfg.methods, method)) ms = this.cfg.methods[method];
    else if (this.cfg.base === 'google') ms = this.sample(classOf(method));
    else if (!method.startsWith('oauth2.')) ms = this.cfg.base;
    return ms * this.scale;
  }

  sample(cls) {
    const c = CLASSES[cls];
    let ms = c.median * Math.exp(c.sigma * this.normal());
    if (this.rng() < TAIL.p) ms += TAIL.median * Math.exp(TAIL.sigma * this.normal());
    return ms;
  }

  // Box-Muller, keeping the second value for the next call.
  normal() {
    if (this.spare !== null) { const z = this.spare; this.spare = null; return z; }
    const u = 1 - this.rng(), v = this.rng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  describe() { return { latency: this.spec, latency_scale: this.scale, latency_ms: typeof this.cfg.base === 'number' ? this.cfg.base : null }; }
}

module.exports = { Latency, CLASSES, TAIL, classOf, parse };
