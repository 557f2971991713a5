#!/usr/bin/env node
// failedPrecondition, transient (fault kind "precondition") and permanent
// (a user with "gmail":false: "Mail service not enabled").
'use strict';
const { start, SCOPES, main, b64u, message } = require('./lib/emu');
const batch = require('./lib/batch');

const BODY = (msg) => ({ error: { code: 400, message: msg, errors: [{ message: msg, domain: 'global', reason: 'failedPrecondition' }], status: 'FAILED_PRECONDITION' } });

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'pre@example.com';
    const tk = await emu.token(U, [SCOPES.modify, SCOPES.insert]);
    const { ids } = await emu.ctl('POST', 'seed', { email: U, count: 30, size: 400 });

    // transient: drawn like the other faults, changes nothing
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['precondition'] });
    let r = await emu.req('POST', '/gmail/v1/users/me/messages/' + ids[0] + '/modify', { token: tk, json: { addLabelIds: ['STARRED'] } });
    t.isDeeply([r.status, r.json], [400, BODY('Precondition check failed.')], 'fault "precondition": 400 failedPrecondition "Precondition check failed."');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(message({ subject: 'x' })) } });
    t.is(r.status, 400, 'an insert meets it too');
    const box = await emu.ctl('GET', 'mailbox/' + U);
    t.ok(box.length === 30 && !box.find((m) => m.id === ids[0]).labelIds.includes('STARRED'), 'and nothing changed');
    const f = await emu.ctl('GET', 'faults');
    t.ok(f.kinds.includes('precondition') && f.log.every((l) => l.kind === 'precondition'), 'the fault log names it');
    const st = await emu.ctl('GET', 'stats');
    t.ok(st.faults.precondition === 2 && st.errors['400'] === 2, 'stats count it as a fault and a 400');

    await emu.ctl('POST', 'faults', { rate: 0.5, kinds: ['precondition'], seed: 3 });
    const run = async () => {
      const out = [];
      for (const id of ids) out.push((await emu.req('GET', '/gmail/v1/users/me/messages/' + id + '?format=minimal', { token: tk })).status);
      return out.join(',');
    };
    const a = await run();
    t.ok(/400/.test(a) && /200/.test(a), 'at rate 0.5 some calls fail, some succeed');
    await emu.ctl('POST', 'faults', { rate: 0.5, kinds: ['precondition'], seed: 3 });
    t.is(await run(), a, 'the same seed replays the same schedule');

    const b = batch.build(ids.slice(0, 10).map((id, i) => ({ id: 'g' + i, method: 'GET', path: '/gmail/v1/users/me/messages/' + id + '?format=minimal' })));
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['precondition'] });
    r = await emu.req('POST', '/batch/gmail/v1', { token: tk, body: b.body, headers: { 'content-type': b.contentType } });
    t.ok(batch.parse(r).every((p) => p.status === 400 && p.json.error.errors[0].reason === 'failedPrecondition'), 'batch parts draw it too');

    const admin = await emu.token('root@corp.example', [SCOPES.dirUserRo]);
    r = await emu.req('GET', '/admin/directory/v1/users?domain=corp.example', { token: admin });
    t.is(r.status, 200, 'Directory calls never draw it');
    r = await emu.req('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'y', client_secret: 'z' } });
    t.ok(r.status !== 400 || r.json.error !== 'failedPrecondition', 'nor does the token endpoint');
    await emu.ctl('POST', 'faults', { rate: 0 });
    r = await emu.req('POST', '/_emu/faults', { json: { rate: 0.1 } });
    t.ok(!r.json.kinds.includes('precondition'), 'not among the default kinds (older seeds replay unchanged)');
    await emu.ctl('POST', 'faults', { rate: 0 });

    // permanent: Gmail off for a user
    const N = 'nomail@corp.example';
    let u = await emu.ctl('POST', 'users', { email: N, gmail: false });
    t.is(u.gmail, false, 'POST /_emu/users "gmail":false');
    const tn = await emu.token(N, [SCOPES.modify, SCOPES.insert]);
    for (const [m, p, o] of [['GET', '/gmail/v1/users/me/profile', {}], ['GET', '/gmail/v1/users/me/labels', {}],
      ['GET', '/gmail/v1/users/me/messages', {}], ['POST', '/gmail/v1/users/me/messages/import', { json: { raw: b64u(message({ subject: 'y' })) } }]]) {
      r = await emu.req(m, p, Object.assign({ token: tn }, o));
      t.isDeeply([r.status, r.json], [400, BODY('Mail service not enabled')], m + ' ' + p + ': 400 failedPrecondition "Mail service not enabled"');
    }
    t.is((await emu.ctl('GET', 'mailbox/' + N)).length, 0, 'nothing was imported');
    r = await emu.req('GET', '/admin/directory/v1/users?domain=corp.example', { token: admin });
    t.ok(r.json.users.some((x) => x.primaryEmail === N), 'the Directory still lists the user');
    u = await emu.ctl('POST', 'users', { email: N, gmail: true });
    t.ok(u.gmail === true && (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tn })).status === 200, '"gmail":true later turns it back on');
    r = await emu.req('POST', '/_emu/users', { json: { email: N, gmail: 'no' } });
    t.is(r.status, 400, 'gmail must be a boolean');
  } finally { await emu.stop(); }
});
