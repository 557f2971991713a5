#!/usr/bin/env node
// The 2026 table is the default, and the project-wide limit (1,200,000 units
// per minute across all users; lowered here so a test can reach it) answers
// 403 rateLimitExceeded "Queries per minute" without Retry-After.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const { start, SCOPES, main } = require('./lib/emu');

const RUN = path.join(__dirname, '..', 'fake-google', 'run');

main(async (t) => {
  const help = spawnSync(RUN, ['--help'], { encoding: 'utf8' });
  t.ok(help.status === 0 && /--quota 2026\|legacy\|off\|FILE/.test(help.stdout) && /default 2026/.test(help.stdout), '--help names 2026 as the default table');
  const emu = await start(['--clock-rate', '0']);
  try {
    let q = await emu.ctl('GET', 'quota');
    t.ok(q.table === '2026' && q.project_per_minute === 1200000 && q.project_code === 403, 'default: the 2026 table and the 1,200,000 units/minute project limit');

    const A = 'pa@example.com', B = 'pb@example.com';
    const ta = await emu.token(A, [SCOPES.readonly]), tb = await emu.token(B, [SCOPES.readonly]);
    const ia = (await emu.ctl('POST', 'seed', { email: A, count: 1, size: 300 })).ids[0];
    const ib = (await emu.ctl('POST', 'seed', { email: B, count: 1, size: 300 })).ids[0];
    const get = (tok, id) => emu.req('GET', '/gmail/v1/users/me/messages/' + id + '?format=minimal', { token: tok });

    q = await emu.ctl('POST', 'quota', { project_per_minute: 100 });
    t.ok(q.project_per_minute === 100 && q.table === '2026', 'POST /_emu/quota {"project_per_minute":100}');
    await emu.ctl('DELETE', 'stats');
    const rs = [await get(ta, ia), await get(ta, ia), await get(ta, ia), await get(tb, ib), await get(tb, ib)];
    t.ok(rs.every((r) => r.status === 200), 'five messages.get at 20 units, two users: 100 units, all served');
    let r = await get(tb, ib);
    const msg = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:292824132082'.";
    t.isDeeply([r.status, r.json], [403, { error: { code: 403, message: msg, errors: [{ message: msg, domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'PERMISSION_DENIED' } }],
      'the next, by a user with units left: 403 rateLimitExceeded, usageLimits, "Queries per minute"');
    t.is(r.headers['retry-after'], undefined, 'no Retry-After header');
    t.is((await emu.req('GET', '/gmail/v1/users/me/profile', { token: ta })).status, 403, 'every user of the project meets it');
    const st = await emu.ctl('GET', 'stats');
    t.ok(st.errors['403'] === 2 && st.units[A] === 60 && st.units[B] === 40, 'refused calls are counted as errors and charge nothing');

    await emu.ctl('POST', 'clock', { advance: 60 });
    t.is((await get(tb, ib)).status, 200, 'a minute later the project has units again');

    await emu.ctl('POST', 'quota', { project_per_minute: 20, project_code: 429 });
    await get(ta, ia);
    r = await get(tb, ib);
    t.ok(r.status === 429 && r.json.error.status === 'RESOURCE_EXHAUSTED' && r.json.error.message === msg && r.json.error.errors[0].reason === 'rateLimitExceeded',
      '"project_code":429: the same text as 429 RESOURCE_EXHAUSTED');

    // the user's own limit is met first when both are short
    await emu.ctl('POST', 'quota', { table: '2026', project_per_minute: 6000, project_code: 403 });
    for (let i = 0; i < 300; i++) await get(ta, ia);
    r = await get(ta, ia);
    t.ok(r.status === 429 && /per minute per user/.test(r.json.error.message) && r.headers['retry-after'], 'user and project both spent: the per-user 429 with Retry-After');

    await emu.ctl('POST', 'quota', { project_per_minute: 0 });
    t.is((await get(tb, ib)).status, 200, '"project_per_minute":0 lifts the project limit');
    await emu.ctl('POST', 'quota', { table: 'legacy', project_per_minute: 10 });
    const legacy = [(await get(tb, ib)).status, (await get(tb, ib)).status, (await get(tb, ib)).status];
    t.isDeeply(legacy, [200, 200, 403], 'the legacy table keeps a project limit too (gets at 5 units: two fit in 10)');
    await emu.ctl('POST', 'quota', { table: 'off' });
    t.is((await get(tb, ib)).status, 200, 'quota off: no project limit either');
    r = await emu.req('POST', '/_emu/quota', { json: { project_per_minute: -1 } });
    t.is(r.status, 400, 'a negative limit is a 400');
  } finally { await emu.stop(); }
});
