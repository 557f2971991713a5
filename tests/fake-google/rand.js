'use strict';
// Random helpers. Secrets (tokens, codes) come from crypto; anything a test may
// want to replay (fault draws, history gaps, batch answer order) comes from
// seeded generators so the same seed gives the same run.
const crypto = require('crypto');

function token(bytes = 24) { return crypto.randomBytes(bytes).toString('base64url'); }

// mulberry32: small, fast, good enough for test schedules.
function seeded(seed) {
  let a = (Number(seed) >>> 0) || 0x9e3779b9;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A uniform draw in [0,1) that depends only on its inputs: used for faults so a
// run is replayable even when concurrent requests arrive in another order.
function hashUnit(...parts) {
  const h = crypto.createHash('sha256').update(parts.join('\0')).digest();
  return h.readUInt32BE(0) / 4294967296;
}

module.exports = { token, seeded, hashUnit };
