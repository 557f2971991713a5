#!/usr/bin/env node
// Faults on demand: 429/500/503 bodies, resets, stalls, truncated bodies, at a
// seeded rate that replays the same way; filters and a budget.
'use strict';
const https = require('https');
const { start, SCOPES, main } = require('./lib/emu');

// A raw HTTP/1.1 GET that reports what really happened on the wire.
function probe(emu, path, token, waitMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const out = { status: null, bytes: 0, length: null, error: null, firstByteMs: null };
    const agent = new https.Agent({ ca: emu.ca, keepAlive: false });
    const r = https.get(emu.url + path, { agent, headers: { authorization: 'Bearer ' + token } }, (res) => {
      out.status = res.statusCode; out.length = Number(res.headers['content-length']); out.firstByteMs = Date.now() - t0;
      res.on('data', (c) => { out.bytes += c.length; });
      res.on('end', () => resolve(out));
      res.on('error', (e) => { out.error = e.code || e.message; resolve(out); });
      res.on('aborted', () => { out.error = out.error || 'aborted'; });
    });
    r.on('error', (e) => { out.error = out.error || e.code || e.message; resolve(out); });
    if (waitMs) r.setTimeout(waitMs, () => { out.error = 'client timeout'; r.destroy(); });
  });
}

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'f@example.com';
    const tk = await emu.token(U, [SCOPES.readonly]);
    const { ids } = await emu.ctl('POST', 'seed', { email: U, count: 40, size: 2000 });
    const run = async () => {
      const out = [];
      for (const id of ids) out.push((await emu.req('GET', '/gmail/v1/users/me/messages/' + id + '?format=minimal', { token: tk })).status);
      return out.join(',');
    };

    await emu.ctl('POST', 'faults', { rate: 0.5, kinds: ['429', '500', '503'], seed: 7 });
    const a = await run();
    const statuses = a.split(',');
    t.ok(statuses.some((s) => s !== '200') && statuses.some((s) => s === '200'), 'rate 0.5: some calls fail, some succeed (' + statuses.filter((s) => s !== '200').length + '/40)');
    await emu.ctl('POST', 'faults', { rate: 0.5, kinds: ['429', '500', '503'], seed: 7 });
    t.is(await run(), a, 'the same seed replays the same faults');
    await emu.ctl('POST', 'faults', { rate: 0.5, kinds: ['429', '500', '503'], seed: 8 });
    const b = await run();
    t.ok(b !== a, 'another seed, another schedule');
    // The ids, and so the draws, change from run to run: over two schedules
    // of twenty-odd faults each, a kind missing is a broken draw, not chance.
    const both = statuses.concat(b.split(','));
    t.ok(['429', '500', '503'].every((k) => both.includes(k)), 'all three kinds appear');
    const log = await emu.ctl('GET', 'faults');
    t.ok(log.log.length > 0 && log.log[0].method === 'gmail.users.messages.get', 'the fault log names what failed');

    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['500'] });
    let r = await emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0], { token: tk });
    t.isDeeply(r.json, { error: { code: 500, message: 'Internal error encountered.', errors: [{ message: 'Internal error encountered.', domain: 'global', reason: 'backendError' }], status: 'INTERNAL' } }, '500 backendError body');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['503'] });
    r = await emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0], { token: tk });
    t.ok(r.status === 503 && r.json.error.status === 'UNAVAILABLE', '503 UNAVAILABLE body');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['429'] });
    r = await emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0], { token: tk });
    t.ok(r.status === 429 && r.json.error.errors[0].reason === 'rateLimitExceeded' && r.headers['retry-after'], '429 with Retry-After');

    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['500'], methods: ['gmail.users.messages.get'] });
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk });
    t.is(r.status, 200, 'methods filter: other methods are spared');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['500'], count: 2 });
    const c = [];
    for (let i = 0; i < 4; i++) c.push((await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).status);
    t.isDeeply(c, [500, 500, 200, 200], 'count: a budget of faults');

    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['reset'] });
    let p = await probe(emu, '/gmail/v1/users/me/messages/' + ids[0] + '?format=raw', tk);
    t.ok(p.status === null && p.error, 'reset: the connection dies without an answer (' + p.error + ')');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['truncate'] });
    p = await probe(emu, '/gmail/v1/users/me/messages/' + ids[0] + '?format=raw', tk);
    t.ok(p.status === 200 && p.bytes < p.length && p.error, 'truncate: headers, then part of the body, then the connection dies (' + p.bytes + ' of ' + p.length + ')');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['stall'], stall_ms: 400 });
    p = await probe(emu, '/gmail/v1/users/me/messages/' + ids[0] + '?format=raw', tk, 200);
    t.ok(p.status === null && p.error === 'client timeout', 'stall: no answer at all before the client gives up');
    p = await probe(emu, '/gmail/v1/users/me/messages/' + ids[0] + '?format=raw', tk);
    t.ok(p.status === null && p.error, 'stall: after stall_ms the server drops it');

    await emu.ctl('POST', 'faults', { rate: 0 });
    r = await emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0], { token: tk });
    t.is(r.status, 200, 'rate 0 turns faults off');
    r = await emu.req('POST', '/_emu/faults', { json: { rate: 0.1, kinds: ['teapot'] } });
    t.is(r.status, 400, 'unknown fault kind refused');
    const st = await emu.ctl('GET', 'stats');
    t.ok(st.faults.reset >= 1 && st.faults.truncate >= 1 && st.faults.stall >= 1 && st.errors['500'] >= 1, 'stats count faults and errors sent');
  } finally { await emu.stop(); }
});
