'use strict';
// The emulator's notion of time. Everything that Google measures in time
// (token expiry, quota windows, history retention, auth code lifetime) reads
// this clock, never Date.now(), so a test can move time forward instead of
// waiting: emulated = start + (real elapsed) * rate + advanced.

class Clock {
  constructor(rate = 1) {
    this.rate = rate;
    this.realBase = Date.now();
    this.emuBase = this.realBase;
    this.advanced = 0;
  }
  now() {
    if (this.rate === 1) return Date.now() + (this.emuBase - this.realBase) + this.advanced;
    return this.emuBase + (Date.now() - this.realBase) * this.rate + this.advanced;
  }
  advance(seconds) { this.advanced += seconds * 1000; return this.now(); }
  // After a restart, time must not run backwards for persisted deadlines.
  resumeFrom(emuMs) {
    const cur = this.now();
    if (emuMs > cur) this.advanced += emuMs - cur;
  }
}

module.exports = { Clock };
