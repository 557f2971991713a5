#!/usr/bin/env node
// Per-user quota: token bucket with Google's unit costs under the legacy and
// 2026 tables, 429 bodies and Retry-After, the concurrency cap, quota off.
// The emulated clock is frozen (--clock-rate 0) so refills happen only when
// the test advances it.
'use strict';
const { start, SCOPES, main } = require('./lib/emu');
const batch = require('./lib/batch');

main(async (t) => {
  const emu = await start(['--quota', 'legacy', '--clock-rate', '0', '--concurrency', '0']);
  try {
    const U = 'q@example.com';
    const tk = await emu.token(U, [SCOPES.modify, SCOPES.insert]);
    const { ids } = await emu.ctl('POST', 'seed', { email: U, count: 5, size: 1024 });
    const get = () => emu.req('GET', '/gmail/v1/users/me/messages/' + ids[0] + '?format=minimal', { token: tk, h2: true });
    const burst = async (n) => { const rs = await Promise.all(Array.from({ length: n }, get)); return rs; };

    let rs = await burst(50);
    t.ok(rs.every((r) => r.status === 200), 'legacy: 50 messages.get (5 units each) fit in 250 units');
    let r = await get();
    t.is(r.status, 429, 'the 51st in the same second: 429');
    const e = r.json.error;
    t.ok(e.code === 429 && e.status === 'RESOURCE_EXHAUSTED' && e.errors[0].reason === 'rateLimitExceeded' && e.errors[0].domain === 'usageLimits', 'Google\'s 429 body');
    t.like(e.message, /^User-rate limit exceeded\.  Retry after \d{4}-\d\d-\d\dT[\d:.]+Z$/, 'legacy message names the time to retry');
    t.is(r.headers['retry-after'], '1', 'Retry-After header in seconds');
    await emu.ctl('POST', 'clock', { advance: 0.02 });  // 5 units refill
    t.is((await get()).status, 200, 'after the bucket refills a little, one more fits');
    t.is((await get()).status, 429, 'and only one');
    await emu.ctl('POST', 'clock', { advance: 1 });
    rs = await burst(50);
    t.ok(rs.every((x) => x.status === 200), 'a second later the full 250 units are back');

    // unit costs show up per user
    await emu.ctl('DELETE', 'stats');
    await emu.ctl('POST', 'clock', { advance: 1 });
    await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk });
    await emu.req('GET', '/gmail/v1/users/me/messages', { token: tk });
    await emu.req('GET', '/gmail/v1/users/me/history?startHistoryId=' + (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json.historyId, { token: tk });
    await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: Buffer.from('Subject: x\r\n\r\nx').toString('base64url') } });
    await emu.req('POST', '/gmail/v1/users/me/messages/batchModify', { token: tk, json: { ids: [ids[0]], addLabelIds: ['STARRED'] } });
    let st = await emu.ctl('GET', 'stats');
    t.is(st.units[U], 1 + 5 + 1 + 2 + 25 + 50, 'units per user: getProfile 1, list 5, history 2, insert 25, batchModify 50');
    t.is(st.calls['gmail.users.getProfile'], 2, 'calls per method');

    // 2026 table
    const q = await emu.ctl('POST', 'quota', { table: '2026' });
    t.is(q.table, '2026', 'quota table switched at run time');
    rs = await burst(300);
    t.ok(rs.every((x) => x.status === 200), '2026: 300 messages.get at 20 units fit in 6,000 per minute');
    r = await get();
    t.ok(r.status === 429 && r.json.error.errors[0].reason === 'rateLimitExceeded', 'the 301st: 429');
    t.like(r.json.error.message, /^Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com'/, '2026 message names the per-minute limit');
    t.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After present');
    await emu.ctl('POST', 'clock', { advance: 1 });
    rs = await burst(6);
    t.is(rs.filter((x) => x.status === 200).length, 5, 'one second refills 100 units: five more gets');
    st = await emu.ctl('GET', 'stats');
    t.ok(st.errors['429'] >= 2, 'stats count the 429s sent');

    // concurrency cap
    await emu.ctl('POST', 'quota', { table: 'off', concurrency: 3, latency_ms: 300 });
    rs = await burst(6);
    const c429 = rs.filter((x) => x.status === 429);
    t.is(rs.filter((x) => x.status === 200).length, 3, 'concurrency cap 3: three in flight succeed');
    t.ok(c429.length === 3 && c429.every((x) => x.json.error.message === 'Too many concurrent requests for user' && x.json.error.errors[0].reason === 'rateLimitExceeded'), 'the rest: 429 Too many concurrent requests for user');
    t.is((await get()).status, 200, 'once they finish, room again');

    // too many parts for one user in a batch
    await emu.ctl('POST', 'quota', { table: 'off', concurrency: 10, batch_parallel: 5, latency_ms: 0 });
    const b = batch.build(Array.from({ length: 8 }, (_, i) => ({ id: 'g' + i, method: 'GET', path: '/gmail/v1/users/me/messages/' + ids[0] + '?format=minimal' })));
    r = await emu.req('POST', '/batch/gmail/v1', { token: tk, body: b.body, headers: { 'content-type': b.contentType } });
    const parts = batch.parse(r);
    t.isDeeply([parts.filter((p) => p.status === 200).length, parts.filter((p) => p.status === 429).length], [5, 3], 'a batch past the per-user parallel cap: the excess parts 429');

    // off is off
    await emu.ctl('POST', 'quota', { table: 'off', concurrency: 0, latency_ms: 0 });
    rs = await burst(400);
    t.ok(rs.every((x) => x.status === 200), 'quota off: 400 gets in a burst, no 429');
  } finally { await emu.stop(); }
});
