#!/usr/bin/env node
// Timed rate-limit lockouts (POST /_emu/lockout): the three answers Gmail
// gives a user it has throttled, byte for byte, with and without Retry-After,
// until the emulated deadline; they change nothing and are counted.
'use strict';
const { start, SCOPES, main } = require('./lib/emu');
const batch = require('./lib/batch');

main(async (t) => {
  const emu = await start(['--quota', 'off', '--clock-rate', '0']);
  try {
    const U = 'lock@example.com', V = 'free@example.com';
    const tk = await emu.token(U, [SCOPES.modify]);
    const tv = await emu.token(V, [SCOPES.modify]);
    const { ids } = await emu.ctl('POST', 'seed', { email: U, count: 2, size: 500 });
    const profile = (tok) => emu.req('GET', '/gmail/v1/users/me/profile', { token: tok || tk });

    const now = (await emu.ctl('GET', 'clock')).epoch_ms;
    const l = await emu.ctl('POST', 'lockout', { email: U, seconds: 900, shape: 'user429' });
    t.is(l.lockouts.length, 1, 'POST /_emu/lockout answers the list');
    await emu.ctl('DELETE', 'stats');
    let r = await profile();
    const until = new Date(now + 900 * 1000).toISOString();
    t.isDeeply(r.json, { error: { code: 429, message: 'User-rate limit exceeded.  Retry after ' + until,
      errors: [{ message: 'User-rate limit exceeded.  Retry after ' + until, domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } },
    'user429: Google\'s body, the lockout\'s end in the text (two spaces, milliseconds, Z)');
    t.is(r.status, 429, 'user429: status 429');
    t.is(r.headers['retry-after'], undefined, 'no Retry-After header unless asked');
    t.like(r.json.error.message, /Retry after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'the time is RFC 3339 with milliseconds');
    t.is((await profile(tv)).status, 200, 'another user is not locked out');

    // nothing changes while locked out
    r = await emu.req('POST', '/gmail/v1/users/me/messages/' + ids[0] + '/modify', { token: tk, json: { addLabelIds: ['STARRED'] } });
    t.is(r.status, 429, 'a modify is refused too');
    const box = await emu.ctl('GET', 'mailbox/' + U);
    t.ok(!box.find((m) => m.id === ids[0]).labelIds.includes('STARRED'), 'and changed nothing');
    const st = await emu.ctl('GET', 'stats');
    t.is(st.errors['429'], 2, 'lockout answers are counted in stats errors');
    t.ok(!st.units[U], 'and charge no units');

    // a batch part of that user is refused the same way
    const b = batch.build([{ id: 'p1', method: 'GET', path: '/gmail/v1/users/me/profile' }]);
    r = await emu.req('POST', '/batch/gmail/v1', { token: tk, body: b.body, headers: { 'content-type': b.contentType } });
    const parts = batch.parse(r);
    t.ok(r.status === 200 && parts[0].status === 429 && /Retry after/.test(parts[0].json.error.message), 'a batch part answers the lockout');

    // usage403 with the header, seconds left rounded up
    await emu.ctl('POST', 'lockout', { email: U, seconds: 60.5, shape: 'usage403', retry_after_header: true });
    r = await profile();
    t.isDeeply(r.json, { error: { code: 403,
      message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:292824132082'.",
      errors: [{ message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:292824132082'.",
        domain: 'usageLimits', reason: 'rateLimitExceeded' }], status: 'PERMISSION_DENIED' } }, 'usage403: Google\'s 403 quota body');
    t.is(r.status, 403, 'usage403: status 403');
    t.is(r.headers['retry-after'], '61', 'Retry-After: seconds left, rounded up');
    await emu.ctl('POST', 'clock', { advance: 30 });
    t.is((await profile()).headers['retry-after'], '31', 'Retry-After counts down with emulated time');
    const listed = (await emu.ctl('GET', 'lockout')).lockouts;
    t.ok(listed.length === 1 && listed[0].email === U && listed[0].shape === 'usage403' && listed[0].seconds_left === 31 && listed[0].retry_after_header === true,
      'GET /_emu/lockout lists it');
    await emu.ctl('POST', 'clock', { advance: 31 });
    t.is((await profile()).status, 200, 'past the deadline the user is served again');
    t.is((await emu.ctl('GET', 'lockout')).lockouts.length, 0, 'and the lockout is gone');

    // exhausted429, then lifted early
    await emu.ctl('POST', 'lockout', { email: U, seconds: 120, shape: 'exhausted429', retry_after_header: true });
    r = await profile();
    t.isDeeply(r.json, { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).',
      errors: [{ message: 'Resource has been exhausted (e.g. check quota).', domain: 'global', reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' } },
    'exhausted429: Google\'s body');
    t.is(r.headers['retry-after'], '120', 'with the header when asked');
    await emu.ctl('POST', 'lockout', { email: U, seconds: 0 });
    t.is((await profile()).status, 200, 'seconds 0 lifts the lockout');

    // the directory is not Gmail
    const admin = await emu.token('boss@corp.example', [SCOPES.dirUserRo]);
    await emu.ctl('POST', 'lockout', { email: 'boss@corp.example', seconds: 60 });
    r = await emu.req('GET', '/admin/directory/v1/users?domain=corp.example', { token: admin });
    t.is(r.status, 200, 'Directory calls are not locked out');

    let bad = await emu.req('POST', '/_emu/lockout', { json: { email: U, seconds: 5, shape: 'nope' } });
    t.ok(bad.status === 400 && /shape/.test(bad.json.error), 'an unknown shape is a 400');
    bad = await emu.req('POST', '/_emu/lockout', { json: { email: U } });
    t.is(bad.status, 400, 'seconds is required');
  } finally { await emu.stop(); }
});
