#!/usr/bin/env node
// Cloud Pub/Sub v1 REST subset: topics, IAM, subscriptions, pull as a long
// poll, acknowledge, redelivery after the ack deadline, modifyAckDeadline,
// at-least-once duplicates, scopes and Pub/Sub's error shapes, call counts.
'use strict';
const { start, SCOPES, main } = require('./lib/emu');

const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const CLOUD = 'https://www.googleapis.com/auth/cloud-platform';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64 = (s) => Buffer.from(s).toString('base64');

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'pat@example.com';
    let ps = await emu.token(U, [PUBSUB]);
    const P = '/v1/projects/hv-test';
    const call = (m, p, json, token = ps) => emu.req(m, P + p, json === undefined ? { token } : { token, json });

    // topics
    let r = await call('PUT', '/topics/mail', {});
    t.isDeeply([r.status, r.json], [200, { name: 'projects/hv-test/topics/mail' }], 'topics.create: PUT answers the Topic');
    r = await call('PUT', '/topics/mail', {});
    t.isDeeply([r.status, r.json], [409, { error: { code: 409, message: 'Resource already exists in the project (resource=mail).', status: 'ALREADY_EXISTS' } }], 'again: 409 ALREADY_EXISTS, Pub/Sub\'s shape (no errors[])');
    r = await call('GET', '/topics/mail');
    t.isDeeply(r.json, { name: 'projects/hv-test/topics/mail' }, 'topics.get');
    r = await call('GET', '/topics/nope');
    t.isDeeply([r.status, r.json], [404, { error: { code: 404, message: 'Resource not found (resource=nope).', status: 'NOT_FOUND' } }], 'unknown topic: 404 NOT_FOUND "Resource not found (resource=nope)."');
    r = await call('PUT', '/topics/x', {});
    t.isDeeply([r.status, r.json.error.status], [400, 'INVALID_ARGUMENT'], 'a topic id of one letter: 400 INVALID_ARGUMENT');
    r = await call('PUT', '/topics/goog-x', {});
    t.is(r.status, 400, 'an id starting with goog: 400');

    // IAM
    r = await call('GET', '/topics/mail:getIamPolicy');
    t.isDeeply(r.json, { etag: 'ACAB' }, 'getIamPolicy (GET, as discovery has it) of a new topic: the empty policy');
    r = await call('POST', '/topics/mail:getIamPolicy', {});
    t.isDeeply(r.json, { etag: 'ACAB' }, 'getIamPolicy by POST too');
    const grant = { policy: { bindings: [{ role: 'roles/pubsub.publisher', members: ['serviceAccount:gmail-api-push@system.gserviceaccount.com'] }] } };
    r = await call('POST', '/topics/mail:setIamPolicy', grant);
    t.ok(r.status === 200 && r.json.bindings[0].role === 'roles/pubsub.publisher' && r.json.etag && r.json.etag !== 'ACAB', 'setIamPolicy answers the policy with a new etag');
    const etag = r.json.etag;
    t.is((await emu.ctl('GET', 'pubsub')).topics.find((x) => x.name === 'projects/hv-test/topics/mail').grant, true, 'the control API sees the Gmail grant');
    r = await call('POST', '/topics/mail:setIamPolicy', { policy: Object.assign({}, grant.policy, { etag: 'BwOld00000=' }) });
    t.isDeeply([r.status, r.json.error.status], [409, 'ABORTED'], 'a stale etag: 409 ABORTED');
    r = await call('POST', '/topics/mail:setIamPolicy', { policy: Object.assign({}, grant.policy, { etag }) });
    t.is(r.status, 200, 'the current etag: accepted');
    r = await call('POST', '/topics/mail:setIamPolicy', { policy: { bindings: [{ role: 'roles/pubsub.publisher', members: ['gmail-api-push@system.gserviceaccount.com'] }] } });
    t.is(r.status, 400, 'a member without its type prefix: 400');

    // subscriptions
    r = await call('PUT', '/subscriptions/follow', { topic: 'projects/hv-test/topics/mail' });
    t.isDeeply(r.json, { name: 'projects/hv-test/subscriptions/follow', topic: 'projects/hv-test/topics/mail', pushConfig: {}, ackDeadlineSeconds: 10,
      messageRetentionDuration: '604800s', expirationPolicy: { ttl: '2678400s' }, state: 'ACTIVE' }, 'subscriptions.create: the Subscription, ackDeadlineSeconds 10 by default');
    r = await call('PUT', '/subscriptions/follow', { topic: 'projects/hv-test/topics/mail' });
    t.is(r.status, 409, 'again: 409');
    r = await call('PUT', '/subscriptions/orphan', { topic: 'projects/hv-test/topics/nope' });
    t.isDeeply([r.status, r.json.error.message], [404, 'Resource not found (resource=nope).'], 'a subscription to a missing topic: 404');
    r = await call('PUT', '/subscriptions/short', { topic: 'projects/hv-test/topics/mail', ackDeadlineSeconds: 5 });
    t.isDeeply([r.status, r.json.error.status], [400, 'INVALID_ARGUMENT'], 'ackDeadlineSeconds 5: 400');
    r = await call('PUT', '/subscriptions/long', { topic: 'projects/hv-test/topics/mail', ackDeadlineSeconds: 601 });
    t.is(r.status, 400, 'ackDeadlineSeconds 601: 400');
    r = await call('PUT', '/subscriptions/slow', { topic: 'projects/hv-test/topics/mail', ackDeadlineSeconds: 600 });
    t.is(r.json.ackDeadlineSeconds, 600, 'ackDeadlineSeconds 600: accepted');
    r = await call('GET', '/subscriptions/follow');
    t.is(r.json.topic, 'projects/hv-test/topics/mail', 'subscriptions.get');
    r = await call('GET', '/subscriptions');
    t.isDeeply(r.json.subscriptions.map((s) => s.name), ['projects/hv-test/subscriptions/follow', 'projects/hv-test/subscriptions/slow'], 'subscriptions.list');
    r = await call('GET', '/topics/mail/subscriptions');
    t.isDeeply(r.json.subscriptions, ['projects/hv-test/subscriptions/follow', 'projects/hv-test/subscriptions/slow'], 'topics.subscriptions.list');
    r = await call('DELETE', '/subscriptions/slow');
    t.isDeeply([r.status, r.json], [200, {}], 'subscriptions.delete: {}');
    r = await call('GET', '/subscriptions/slow');
    t.is(r.status, 404, 'then 404');

    // scopes and auth
    const gm = await emu.token(U, [SCOPES.modify]);
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 1 }, gm);
    t.isDeeply([r.status, r.json.error.status, r.json.error.message, r.json.error.errors], [403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', undefined],
      'a Gmail token on Pub/Sub: 403 insufficient scopes, without errors[]');
    t.is(r.json.error.details[0].metadata.service, 'pubsub.googleapis.com', 'naming pubsub.googleapis.com');
    r = await emu.req('POST', P + '/subscriptions/follow:pull', { json: { maxMessages: 1 } });
    t.isDeeply([r.status, r.json.error.status], [401, 'UNAUTHENTICATED'], 'no token: 401 UNAUTHENTICATED');
    const cp = await emu.token(U, [CLOUD]);
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 1, returnImmediately: true }, cp);
    t.isDeeply([r.status, r.json], [200, {}], 'cloud-platform works too; nothing there: {}');

    // pull: argument checks
    r = await call('POST', '/subscriptions/follow:pull', {});
    t.isDeeply([r.status, r.json.error.status], [400, 'INVALID_ARGUMENT'], 'pull without maxMessages: 400');
    r = await call('POST', '/subscriptions/nope:pull', { maxMessages: 1 });
    t.isDeeply([r.status, r.json.error.message], [404, 'Resource not found (resource=nope).'], 'pull on a missing subscription: 404');

    // publish + pull + ack
    r = await call('POST', '/topics/mail:publish', { messages: [{ data: b64('one') }, { data: b64('two'), attributes: { k: 'v' } }] });
    t.ok(r.status === 200 && r.json.messageIds.length === 2 && r.json.messageIds.every((x) => /^\d+$/.test(x)), 'topics.publish answers messageIds');
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    const rm = r.json.receivedMessages;
    t.is(rm.length, 2, 'pull gets both');
    t.isDeeply(rm.map((m) => Buffer.from(m.message.data, 'base64').toString()), ['one', 'two'], 'in order, data as sent');
    t.isDeeply(rm[1].message.attributes, { k: 'v' }, 'attributes kept');
    t.ok(rm.every((m) => typeof m.ackId === 'string' && m.ackId.length > 20 && m.deliveryAttempt === undefined), 'each with an ackId; no deliveryAttempt (no dead-letter policy)');
    r = await call('POST', '/subscriptions/follow:acknowledge', { ackIds: rm.map((m) => m.ackId) });
    t.isDeeply([r.status, r.json], [200, {}], 'acknowledge: {}');
    r = await call('POST', '/subscriptions/follow:acknowledge', {});
    t.is(r.status, 400, 'acknowledge without ackIds: 400');
    r = await call('POST', '/subscriptions/follow:acknowledge', { ackIds: ['!!'] });
    t.is(r.status, 400, 'a malformed ackId: 400');
    await emu.ctl('POST', 'clock', { advance: 11 });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'acked messages do not come back after the deadline');

    // long poll
    await emu.ctl('POST', 'pubsub', { pull_wait_ms: 3000 });
    let t0 = Date.now();
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    const held = Date.now() - t0;
    t.ok(r.status === 200 && r.json && Object.keys(r.json).length === 0 && held >= 2900 && held < 4500, 'an empty pull is held pull_wait_ms, then {} (' + held + ' ms)');
    t0 = Date.now();
    const pending = call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    await sleep(500);
    const tPub = Date.now();
    await call('POST', '/topics/mail:publish', { messages: [{ data: b64('wake') }] });
    r = await pending;
    const lag = Date.now() - tPub;
    t.ok(r.json.receivedMessages && r.json.receivedMessages.length === 1, 'a waiting pull gets a message published meanwhile');
    t.ok(lag < 100, 'within 100 ms of the publish (' + lag + ' ms)');
    const first = r.json.receivedMessages[0];

    // no ack: redelivered after the deadline (10 s, emulated), same messageId, new ackId
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'leased: not delivered again before the deadline');
    await emu.ctl('POST', 'clock', { advance: 10 });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    const again = r.json.receivedMessages;
    t.ok(again && again.length === 1 && again[0].message.messageId === first.message.messageId && again[0].ackId !== first.ackId,
      'after the deadline: delivered again, same messageId, new ackId');
    // the old ackId no longer acks it
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: [first.ackId] });
    await emu.ctl('POST', 'clock', { advance: 10 });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.ok(r.json.receivedMessages && r.json.receivedMessages.length === 1, 'an ack with a superseded ackId does not ack');
    // a long poll that waits sees the lease run out
    let cur = r.json.receivedMessages[0];
    const waiting = call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    await sleep(200);
    await emu.ctl('POST', 'clock', { advance: 10 });
    r = await waiting;
    t.ok(r.json.receivedMessages && r.json.receivedMessages[0].message.messageId === cur.message.messageId, 'a waiting pull gets the message whose lease ran out');
    cur = r.json.receivedMessages[0];

    // modifyAckDeadline extends; 0 gives it back at once
    r = await call('POST', '/subscriptions/follow:modifyAckDeadline', { ackIds: [cur.ackId], ackDeadlineSeconds: 60 });
    t.isDeeply([r.status, r.json], [200, {}], 'modifyAckDeadline: {}');
    await emu.ctl('POST', 'clock', { advance: 30 });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'extended to 60 s: not redelivered after 30 s');
    r = await call('POST', '/subscriptions/follow:modifyAckDeadline', { ackIds: [cur.ackId], ackDeadlineSeconds: 601 });
    t.is(r.status, 400, 'ackDeadlineSeconds 601: 400');
    await call('POST', '/subscriptions/follow:modifyAckDeadline', { ackIds: [cur.ackId], ackDeadlineSeconds: 0 });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.ok(r.json.receivedMessages && r.json.receivedMessages[0].message.messageId === cur.message.messageId, 'deadline 0 (a nack): back at once');
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: [r.json.receivedMessages[0].ackId] });
    // an ack that comes late but before a new delivery still counts
    await call('POST', '/topics/mail:publish', { messages: [{ data: b64('late') }] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    const late = r.json.receivedMessages[0];
    await emu.ctl('POST', 'clock', { advance: 20 });
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: [late.ackId] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'an ack after the deadline, before any redelivery: acked');

    // at-least-once: redeliver_rate 1 makes every acked message come once more
    await emu.ctl('POST', 'pubsub', { redeliver_rate: 1 });
    await call('POST', '/topics/mail:publish', { messages: [{ data: b64('dup') }] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10 });
    const d1 = r.json.receivedMessages[0];
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: [d1.ackId] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    const d2 = r.json.receivedMessages && r.json.receivedMessages[0];
    t.ok(d2 && d2.message.messageId === d1.message.messageId, 'redeliver_rate 1: an acked message comes once more, same messageId');
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: [d2.ackId] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'and only once');
    await emu.ctl('POST', 'pubsub', { redeliver_rate: 0 });

    // maxMessages caps a pull
    await call('POST', '/topics/mail:publish', { messages: [1, 2, 3].map((i) => ({ data: b64('m' + i) })) });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 2 });
    t.is(r.json.receivedMessages.length, 2, 'maxMessages 2: two of three');
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: r.json.receivedMessages.map((m) => m.ackId) });

    // proto3 JSON: an int32 may come as a decimal string
    await call('POST', '/topics/mail:publish', { messages: [{ data: b64('s1') }, { data: b64('s2') }] });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: '1' });
    t.is(r.json.receivedMessages && r.json.receivedMessages.length, 1, 'maxMessages "1" as a string: one message');
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: r.json.receivedMessages.map((m) => m.ackId) });
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 5 });
    // ack s2; m3 from above stays for the checks below (its lease runs out)
    await call('POST', '/subscriptions/follow:acknowledge', { ackIds: r.json.receivedMessages.filter((m) => Buffer.from(m.message.data, 'base64').toString() === 's2').map((m) => m.ackId) });
    await emu.ctl('POST', 'clock', { advance: 11 });
    ps = await emu.token(U, [PUBSUB]);

    // a subscription sees only what is published after it exists
    await call('PUT', '/subscriptions/late', { topic: 'projects/hv-test/topics/mail' });
    r = await call('POST', '/subscriptions/late:pull', { maxMessages: 10, returnImmediately: true });
    t.isDeeply(r.json, {}, 'a new subscription does not get older messages');

    // the control API's view and the call counts
    const st = await emu.ctl('GET', 'pubsub');
    const f = st.subscriptions.find((s) => s.name === 'projects/hv-test/subscriptions/follow');
    t.isDeeply([f.backlog, f.outstanding], [1, 0], 'GET /_emu/pubsub: backlog and outstanding per subscription');
    const stats = await emu.ctl('GET', 'stats');
    t.ok(stats.calls['pubsub.projects.subscriptions.pull'] >= 10 && stats.calls['pubsub.projects.topics.create'] >= 3 && stats.calls['pubsub.projects.subscriptions.acknowledge'] >= 5,
      '/_emu/stats counts Pub/Sub calls by method id');
    t.ok(stats.units[U] === undefined, 'Pub/Sub calls are not charged Gmail units');

    // topic deleted: subscriptions stay, reading _deleted-topic_
    r = await call('DELETE', '/topics/mail');
    t.isDeeply([r.status, r.json], [200, {}], 'topics.delete: {}');
    r = await call('GET', '/subscriptions/follow');
    t.is(r.json.topic, '_deleted-topic_', 'its subscriptions remain, topic reads _deleted-topic_');
    r = await call('POST', '/subscriptions/follow:pull', { maxMessages: 10, returnImmediately: true });
    t.is(r.json.receivedMessages.length, 1, 'and can still be pulled');

    // a pull whose caller hangs up leases nothing
    await call('PUT', '/topics/hang', {});
    await call('PUT', '/subscriptions/hang', { topic: 'projects/hv-test/topics/hang' });
    await new Promise((resolve) => {
      const https = require('https');
      const rq = https.request(emu.url + P + '/subscriptions/hang:pull', { method: 'POST', ca: emu.ca, headers: { authorization: 'Bearer ' + ps, 'content-type': 'application/json' } });
      rq.on('error', () => {});   // the hang-up; then give the server a moment to see it
      rq.end(JSON.stringify({ maxMessages: 1 }));
      setTimeout(() => { rq.destroy(); setTimeout(resolve, 100); }, 300);
    });
    await call('POST', '/topics/hang:publish', { messages: [{ data: b64('x') }] });
    r = await call('POST', '/subscriptions/hang:pull', { maxMessages: 1, returnImmediately: true });
    t.ok(r.json.receivedMessages && r.json.receivedMessages.length === 1, 'a pull abandoned by its caller does not swallow the next message');
  } finally { await emu.stop(); }
});
