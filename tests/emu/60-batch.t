#!/usr/bin/env node
// The batch endpoint: parts answered out of order and matched by Content-ID,
// each judged on its own, the 100-part limit.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');
const batch = require('./lib/batch');

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'bo@example.com';
    const tk = await emu.token(U, [SCOPES.modify]);
    const seeded = await emu.ctl('POST', 'seed', { email: U, count: 20, size: 1024 });
    const send = (parts, o = {}) => {
      const b = batch.build(parts);
      return emu.req('POST', o.path || '/batch/gmail/v1', { token: o.noOuterAuth ? undefined : tk, body: b.body, headers: { 'content-type': b.contentType }, h2: o.h2 });
    };

    const parts = seeded.ids.map((id, i) => ({ id: 'item-' + i, method: 'GET', path: '/gmail/v1/users/me/messages/' + id + '?format=minimal' }));
    let r = await send(parts);
    t.ok(r.status === 200 && /^multipart\/mixed; boundary=/.test(r.headers['content-type']), 'outer answer: 200 multipart/mixed');
    let ans = batch.parse(r);
    t.is(ans.length, 20, 'one answer per part');
    t.ok(ans.some((a, i) => a.contentId !== 'response-item-' + i), 'answers come out of order');
    t.ok(ans.every((a) => a.status === 200 && a.json.id === seeded.ids[Number(a.contentId.replace('response-item-', ''))]), 'each answer matches its request by Content-ID <response-...>');

    // parts judged on their own
    const mixed = [
      { id: 'ok', method: 'GET', path: '/gmail/v1/users/me/messages/' + seeded.ids[0] + '?format=minimal' },
      { id: 'missing', method: 'GET', path: '/gmail/v1/users/me/messages/0000000000000001' },
      { id: 'badtoken', method: 'GET', path: '/gmail/v1/users/me/profile', headers: { Authorization: 'Bearer ya29.nope' } },
      { id: 'modify', method: 'POST', path: '/gmail/v1/users/me/messages/' + seeded.ids[1] + '/modify', json: { addLabelIds: ['STARRED'] } },
      { id: 'insert', method: 'POST', path: '/gmail/v1/users/me/messages', json: { raw: b64u(message()) } },
      { id: 'unknown', method: 'GET', path: '/gmail/v1/users/me/nothing' },
    ];
    r = await send(mixed);
    t.is(r.status, 200, 'outer 200 even when parts fail');
    const by = Object.fromEntries(batch.parse(r).map((a) => [a.contentId, a]));
    t.is(by['response-ok'].status, 200, 'good part: 200');
    t.ok(by['response-missing'].status === 404 && by['response-missing'].json.error.errors[0].reason === 'notFound', 'missing message part: 404 with Google\'s body');
    t.ok(by['response-badtoken'].status === 401, 'a part\'s own bad Authorization: 401 for that part only');
    t.ok(by['response-modify'].status === 200 && by['response-modify'].json.labelIds.includes('STARRED'), 'POST part with a JSON body works');
    t.ok(by['response-insert'].status === 200 && by['response-insert'].json.id, 'insert with JSON raw inside a batch');
    t.is(by['response-unknown'].status, 404, 'unknown path part: 404');
    t.like(by['response-ok'].head, /Content-Type: application\/json; charset=UTF-8/, 'parts carry their own headers');

    r = await send(parts.slice(0, 3), { noOuterAuth: true });
    t.ok(batch.parse(r).every((a) => a.status === 401), 'no credentials anywhere: every part 401');

    const over = Array.from({ length: 101 }, (_, i) => ({ id: 'p' + i, method: 'GET', path: '/gmail/v1/users/me/profile' }));
    r = await send(over);
    t.isDeeply([r.status, r.json], [400, { error: { code: 400, message: 'Inner request count exceeds the limit. Received: 101, Limit: 100', status: 'INVALID_ARGUMENT' } }], 'over 100 parts: 400 with Google\'s message');
    r = await send(over.slice(0, 100));
    t.ok(r.status === 200 && batch.parse(r).length === 100, '100 parts are fine');
    r = await send(parts.slice(0, 2), { path: '/batch', h2: true });
    t.ok(r.status === 200 && batch.parse(r).length === 2 && r.proto === 'h2', '/batch (discovery batchPath) over HTTP/2');
    r = await emu.req('POST', '/batch/gmail/v1', { token: tk, body: 'x', headers: { 'content-type': 'text/plain' } });
    t.is(r.status, 400, 'not multipart: 400');
    const st = await emu.ctl('GET', 'stats');
    t.ok(st.calls['gmail.users.messages.get'] >= 20, 'batch parts are counted as calls, one each');
  } finally { await emu.stop(); }
});
