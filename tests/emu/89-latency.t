#!/usr/bin/env node
// Latency per method: the "google" profile's documented shape (sampled
// directly, then measured on the wire at a scaled-down profile), fixed and
// per-method delays, from the command line and POST /_emu/quota.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const { start, SCOPES, main, b64u, message } = require('./lib/emu');
const { Latency } = require('../fake-google/latency');

const RUN = path.join(__dirname, '..', 'fake-google', 'run');
const quantile = (a, p) => { const s = a.slice().sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const near = (got, want, tol) => Math.abs(got - want) <= want * tol;

async function timed(n, f) {
  const out = [];
  for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); const r = await f(i); if (r.status >= 400) throw new Error('status ' + r.status + ' ' + r.text); out.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  return out;
}

main(async (t) => {
  // The profile as README documents it: p5, median, p95, share above 2 s.
  const DOC = { 'gmail.users.messages.get': [105, 170, 300, 0.012], 'gmail.users.labels.list': [105, 170, 300, 0.012],
    'gmail.users.messages.import': [315, 525, 910, 0.015], 'oauth2.token': [55, 100, 195, 0.011] };
  for (const [m, [p5, p50, p95, tail]] of Object.entries(DOC)) {
    const l = new Latency('google', 1, 7);
    const a = Array.from({ length: 100000 }, () => l.draw(m));
    const over = a.filter((x) => x > 2000).length / a.length;
    t.ok(near(quantile(a, 0.05), p5, 0.08) && near(quantile(a, 0.5), p50, 0.05) && near(quantile(a, 0.95), p95, 0.08) && near(over, tail, 0.3),
      m + ': p5 ' + quantile(a, 0.05).toFixed(0) + ', median ' + quantile(a, 0.5).toFixed(0) + ', p95 ' + quantile(a, 0.95).toFixed(0) + ' ms, ' + (over * 100).toFixed(2) + '% above 2 s, as documented');
  }
  const seq = (seed) => { const l = new Latency('google', 1, seed); return Array.from({ length: 5 }, () => l.draw('gmail.users.messages.get')).join(); };
  t.ok(seq(3) === seq(3) && seq(3) !== seq(4), 'the profile is seeded: a seed gives one sequence of draws');
  const l2 = new Latency('google', 0.1, 3), l1 = new Latency('google', 1, 3);
  t.ok(near(l2.draw('gmail.users.messages.get'), l1.draw('gmail.users.messages.get') * 0.1, 1e-9), 'latency_scale multiplies every draw');

  t.is(spawnSync(RUN, ['--latency', 'nope'], { encoding: 'utf8' }).status, 64, '--latency with a bad value: usage error 64');

  // On the wire, at a fifth of the profile, against a baseline without latency.
  const emu = await start(['--quota', 'off', '--latency', 'google', '--latency-scale', '0.2', '--seed', '5']);
  try {
    const U = 'lat@example.com';
    const g = await emu.ctl('POST', 'tokens', { email: U, scopes: [SCOPES.modify, SCOPES.insert], refresh: true });
    const tk = g.access_token;
    const { ids } = await emu.ctl('POST', 'seed', { email: U, count: 1, size: 400 });
    const get = () => emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0] + '?format=minimal', { token: tk });
    const imp = (i) => emu.req('POST', '/gmail/v1/users/me/messages/import', { token: tk, json: { raw: b64u(message({ subject: 'lat ' + i })) } });
    const tok = () => emu.req('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: g.refresh_token, client_id: g.client_id, client_secret: g.client_secret } });

    let q = await emu.ctl('GET', 'quota');
    t.ok(q.latency === 'google' && q.latency_scale === 0.2 && q.latency_ms === null, 'GET /_emu/quota shows the profile and scale');
    await emu.ctl('POST', 'quota', { latency: 0 });
    const base = { get: quantile(await timed(40, get), 0.5), imp: quantile(await timed(10, imp), 0.5), tok: quantile(await timed(10, tok), 0.5) };
    await emu.ctl('POST', 'quota', { latency: 'google' });
    const gets = (await timed(40, get)).map((x) => x - base.get);
    const m = quantile(gets, 0.5), spread = quantile(gets, 0.9) - quantile(gets, 0.1);
    t.ok(m >= 22 && m <= 50, 'messages.get: median added ' + m.toFixed(1) + ' ms (profile 170 ms x 0.2 = 34)');
    t.ok(spread >= 8, 'and spread, not fixed: p90 - p10 = ' + spread.toFixed(1) + ' ms (profile: about 27)');
    const mi = quantile((await timed(16, imp)).map((x) => x - base.imp), 0.5);
    t.ok(mi >= 70 && mi <= 150, 'import: median added ' + mi.toFixed(1) + ' ms (profile 520 ms x 0.2 = 104)');
    const mt = quantile((await timed(16, tok)).map((x) => x - base.tok), 0.5);
    t.ok(mt >= 12 && mt <= 32, '/token gets latency too: median added ' + mt.toFixed(1) + ' ms (profile 100 ms x 0.2 = 20)');

    // per method, through the control API
    q = await emu.ctl('POST', 'quota', { latency: { 'gmail.users.getProfile': 150 }, latency_scale: 1 });
    t.isDeeply([q.latency, q.latency_scale], [{ 'gmail.users.getProfile': 150 }, 1], 'POST /_emu/quota {"latency":{"METHOD":MS}}');
    const prof = await timed(3, () => emu.req('GET', '/gmail/v1/users/me/profile', { token: tk }));
    const other = await timed(3, get);
    t.ok(Math.min(...prof) >= 150 && Math.max(...other) < 120, 'the named method waits ' + Math.min(...prof).toFixed(0) + ' ms, the others do not (' + Math.max(...other).toFixed(0) + ' ms)');
    q = await emu.ctl('POST', 'quota', { latency: 'google,gmail.users.messages.get=0', latency_scale: 0.2 });
    // The median, not the max: on a loaded machine one call in five may stall.
    t.ok(quantile(await timed(7, get), 0.5) < base.get + 12, 'a string "google,METHOD=MS": the named method overrides the profile');
    await emu.ctl('POST', 'quota', { latency_ms: 0 });
    t.is((await emu.ctl('GET', 'quota')).latency_ms, 0, 'latency_ms still sets a fixed latency');
    let r = await emu.req('POST', '/_emu/quota', { json: { latency: 'x=y' } });
    t.is(r.status, 400, 'a bad latency is a 400');
    r = await emu.req('POST', '/_emu/quota', { json: { latency: 'google', latency_scale: -1 } });
    t.ok(r.status === 400 && (await emu.ctl('GET', 'quota')).latency === 0, 'a bad scale is a 400 and changes nothing');
  } finally { await emu.stop(); }

  const e2 = await start(['--quota', 'off', '--latency', 'gmail.users.getProfile=200']);
  try {
    const tk = await e2.token('cli@example.com', [SCOPES.readonly]);
    const p = await timed(2, () => e2.req('GET', '/gmail/v1/users/me/profile', { token: tk }));
    const l = await timed(2, () => e2.req('GET', '/gmail/v1/users/me/labels', { token: tk }));
    t.ok(Math.min(...p) >= 200 && Math.max(...l) < 150, '--latency METHOD=MS: only that method waits');
  } finally { await e2.stop(); }
});
