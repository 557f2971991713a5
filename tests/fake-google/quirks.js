'use strict';
// Switches for behaviours where Google's documentation and what clients rely
// on may differ, so a test can pick the side it wants to be tested against.
// One switchboard, read with GET /_emu/quirks and set with POST /_emu/quirks;
// each switch says why it exists and what its default follows.
const SWITCHES = {
  // tokeninfo reads the token from the access_token parameter, as the oauth2
  // v2 discovery document documents it (issue 13, item 1); true also takes
  // an Authorization: Bearer header, which google-auth-library 10's
  // getTokenInfo sends instead (and nothing else).
  tokeninfo_header: { default: false, check: (v) => typeof v === 'boolean' },
};

class Quirks {
  constructor() { for (const [k, s] of Object.entries(SWITCHES)) this[k] = s.default; }
  // Checks every field before changing any, so a bad request changes nothing.
  set(b) {
    for (const [k, v] of Object.entries(b)) {
      if (!SWITCHES[k]) throw new Error('unknown quirk ' + k + ' (known: ' + Object.keys(SWITCHES).join(', ') + ')');
      if (!SWITCHES[k].check(v)) throw new Error(k + ': a boolean is required');
    }
    Object.assign(this, b);
    return this.get();
  }
  get() { const o = {}; for (const k of Object.keys(SWITCHES)) o[k] = this[k]; return o; }
}

module.exports = { Quirks };
