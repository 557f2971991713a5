#!/usr/bin/env node
// users.watch and users.stop, and the notifications a watch publishes to
// its Pub/Sub topic: shapes, errors, label filters, the one-per-second
// pace, expiry after 7 days of emulated time, quota units.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'wendy@example.com';
    let tk = await emu.token(U, [SCOPES.readonly]);
    let ps = await emu.token(U, [PUBSUB]);
    // tokens live an hour of emulated time: new ones after each jump
    const fresh = async () => { tk = await emu.token(U, [SCOPES.readonly]); ps = await emu.token(U, [PUBSUB]); };
    const W = '/gmail/v1/users/me/watch';
    const TOPIC = 'projects/hv-test/topics/gmail';
    const SUB = '/v1/projects/hv-test/subscriptions/follow';
    const pull = async (o = {}) => (await emu.req('POST', SUB + ':pull', { token: ps, json: Object.assign({ maxMessages: 10, returnImmediately: true }, o) })).json.receivedMessages || [];
    const decode = (rm) => JSON.parse(Buffer.from(rm.message.data, 'base64').toString());
    const ackAll = async (got) => { if (got.length) await emu.req('POST', SUB + ':acknowledge', { token: ps, json: { ackIds: got.map((g) => g.ackId) } }); };

    // errors before the topic is there
    let r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC } });
    t.isDeeply([r.status, r.json.error.status, r.json.error.errors[0].reason], [404, 'NOT_FOUND', 'notFound'], 'watch on a topic that does not exist: 404');
    t.like(r.json.error.message, /^Error sending test message to Cloud PubSub projects\/hv-test\/topics\/gmail : Resource not found \(resource=gmail\)\.$/, 'with the test-message wording');
    r = await emu.req('POST', W, { token: tk, json: { topicName: 'gmail' } });
    t.isDeeply([r.status, r.json.error.message], [400, 'Invalid topicName does not match projects/PROJECT/topics/*'], 'a topicName that is no topic path: 400');
    r = await emu.req('POST', W, { token: tk, json: {} });
    t.is(r.status, 400, 'no topicName: 400');

    await emu.ctl('POST', 'pubsub/topics', { name: TOPIC, grant: false });
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC } });
    t.isDeeply([r.status, r.json.error.message, r.json.error.errors[0].reason, r.json.error.status],
      [403, 'Error sending test message to Cloud PubSub projects/hv-test/topics/gmail : User not authorized to perform this action.', 'forbidden', 'PERMISSION_DENIED'],
      'no publish grant for gmail-api-push@: 403 as Gmail words it');
    await emu.ctl('POST', 'pubsub/topics', { name: TOPIC });   // now with the grant
    await emu.ctl('POST', 'pubsub/subscriptions', { name: 'projects/hv-test/subscriptions/follow', topic: TOPIC, ackDeadlineSeconds: 30 });

    // scopes: the four read scopes; not gmail.insert, not pubsub
    const ins = await emu.token(U, [SCOPES.insert]);
    r = await emu.req('POST', W, { token: ins, json: { topicName: TOPIC } });
    t.isDeeply([r.status, r.json.error.errors[0].reason], [403, 'insufficientPermissions'], 'watch with gmail.insert: 403 insufficientPermissions');
    r = await emu.req('POST', W, { token: ps, json: { topicName: TOPIC } });
    t.is(r.status, 403, 'watch with the pubsub scope alone: 403');
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC, labelIds: ['NOPE'] } });
    t.is(r.status, 400, 'an unknown label id: 400');
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC, labelFilterBehavior: 'sideways' } });
    t.is(r.status, 400, 'a bad labelFilterBehavior: 400');
    r = await emu.req('POST', '/gmail/v1/users/other@example.com/watch', { token: tk, json: { topicName: TOPIC } });
    t.is(r.status, 403, 'another user\'s mailbox: 403 delegation denied');

    // success
    await emu.ctl('DELETE', 'stats');
    const prof = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json;
    const clock0 = (await emu.ctl('GET', 'clock')).epoch_ms;
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC, labelIds: ['INBOX'], labelFilterBehavior: 'INCLUDE' } });
    t.is(r.status, 200, 'watch: 200');
    t.isDeeply(Object.keys(r.json).sort(), ['expiration', 'historyId'], 'answer has historyId and expiration only');
    t.ok(typeof r.json.historyId === 'string' && r.json.historyId === prof.historyId, 'historyId: the mailbox\'s current one, as a string');
    const exp = Number(r.json.expiration);
    t.ok(typeof r.json.expiration === 'string' && Math.abs(exp - (clock0 + 7 * 86400000)) < 5000, 'expiration: epoch ms as a string, 7 days ahead');
    const st = await emu.ctl('GET', 'stats');
    t.isDeeply([st.calls['gmail.users.watch'], st.units[U]], [1, 101], 'watch is counted and costs 100 units (+1 for getProfile)');

    // a delivered message: one notification, data decodes to the mailbox and a historyId >= the change's
    const d = await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'push 1' })) });
    await sleep(100);
    let got = await pull();
    t.is(got.length, 1, 'one delivered message: one notification');
    const n = decode(got[0]);
    t.isDeeply(Object.keys(n).sort(), ['emailAddress', 'historyId'], 'data is JSON {emailAddress, historyId}');
    t.is(n.emailAddress, U, 'emailAddress is the mailbox');
    t.ok(typeof n.historyId === 'number' && n.historyId >= Number(d.historyId), 'historyId is a number >= the change\'s');
    t.ok(/^\d+$/.test(got[0].message.messageId) && !Number.isNaN(Date.parse(got[0].message.publishTime)), 'messageId and publishTime');
    t.ok(got[0].message.attributes === undefined, 'no attributes (an empty map is omitted in JSON)');
    await ackAll(got);

    // coalescing: changes within a second become one notification with the latest historyId
    await sleep(1100);
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push(await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'burst ' + i })) }));
    await sleep(1300);
    got = await pull();
    const ns = got.map(decode);
    t.is(got.length, 2, 'five changes within a second: two notifications (the first at once, the rest coalesced)');
    t.is(ns[ns.length - 1].historyId, Number(burst[4].historyId), 'the last carries the latest historyId');
    const pubs = got.map((g) => Date.parse(g.message.publishTime));
    t.ok(pubs[1] - pubs[0] >= 900, 'about a second apart (' + (pubs[1] - pubs[0]) + ' ms)');
    await ackAll(got);

    // label filter: INCLUDE INBOX ignores a message without INBOX
    await sleep(1100);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'archived' })), labelIds: ['STARRED'] });
    await sleep(100);
    t.is((await pull()).length, 0, 'INCLUDE [INBOX]: a change to a message outside INBOX sends nothing');
    // EXCLUDE via the older labelFilterAction spelling
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC, labelIds: ['STARRED'], labelFilterAction: 'exclude' } });
    t.is(r.status, 200, 'watch again (an update) with labelFilterAction exclude');
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'starred' })), labelIds: ['STARRED'] });
    await sleep(100);
    t.is((await pull()).length, 0, 'EXCLUDE [STARRED]: a starred message sends nothing');
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'plain' })) });
    await sleep(100);
    got = await pull();
    t.is(got.length, 1, 'EXCLUDE [STARRED]: another message notifies');
    await ackAll(got);

    // stop: 204, nothing after
    r = await emu.req('POST', '/gmail/v1/users/me/stop', { token: tk });
    t.isDeeply([r.status, r.body.length], [204, 0], 'stop: 204 with an empty body');
    t.is((await emu.ctl('GET', 'stats')).units[U], 100 + 1 + 100 + 50, 'stop costs 50 units');
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'after stop' })) });
    await sleep(150);
    t.is((await pull()).length, 0, 'after stop: no notification');

    // expiry: 7 days of emulated time
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC } });
    let state = await emu.ctl('GET', 'pubsub');
    t.isDeeply([state.watches.length, state.watches[0].email, state.watches[0].expiration, state.watches[0].expired], [1, U, r.json.expiration, false], 'GET /_emu/pubsub lists the watch with its expiration');
    await emu.ctl('POST', 'clock', { advance: 7 * 86400 - 60 });
    await fresh();
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'day 7' })) });
    await sleep(150);
    got = await pull();
    t.is(got.length, 1, 'a minute before expiry: still notified');
    await ackAll(got);
    await emu.ctl('POST', 'clock', { advance: 120 });
    await fresh();
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'day 8' })) });
    await sleep(150);
    t.is((await pull()).length, 0, 'after expiration: no notification');
    state = await emu.ctl('GET', 'pubsub');
    t.is(state.watches[0].expired, true, 'the watch reads expired');
    // renewing brings notifications back
    r = await emu.req('POST', W, { token: tk, json: { topicName: TOPIC } });
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'renewed' })) });
    await sleep(150);
    got = await pull();
    t.is(got.length, 1, 'a renewed watch notifies again');
    await ackAll(got);

    // a grant withdrawn after the watch began: notifications are lost
    await emu.ctl('POST', 'pubsub/topics', { name: TOPIC, grant: false });
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'no grant' })) });
    await sleep(150);
    t.is((await pull()).length, 0, 'grant withdrawn: the notification is lost');
    t.ok((await emu.ctl('GET', 'pubsub')).stats.undeliverable >= 1, 'and counted as undeliverable');
    await emu.ctl('POST', 'pubsub/topics', { name: TOPIC });

    // the project check (off by default: tokens from /_emu/tokens have no client)
    await emu.ctl('POST', 'pubsub', { check_project: true });
    await emu.ctl('POST', 'pubsub/topics', { name: 'projects/elsewhere/topics/gmail' });
    const withClient = await emu.token(U, [SCOPES.readonly], { refresh: true });
    r = await emu.req('POST', W, { token: withClient, json: { topicName: 'projects/elsewhere/topics/gmail' } });
    t.isDeeply([r.status, r.json.error.message], [400, 'Invalid topicName does not match projects/hv-test/topics/*'], 'check_project: a topic of another project than the client\'s: 400');
    r = await emu.req('POST', W, { token: withClient, json: { topicName: TOPIC } });
    t.is(r.status, 200, 'check_project: the client\'s own project is fine');
    await emu.ctl('POST', 'pubsub', { check_project: false });
  } finally { await emu.stop(); }
});
