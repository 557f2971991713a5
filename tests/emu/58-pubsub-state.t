#!/usr/bin/env node
// --state DIR keeps Pub/Sub and Gmail push too: topics with their IAM
// policy, subscriptions with unacked messages and leases, watches.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

main(async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-pubsub-state-'));
  try {
    let emu = await start(['--state', dir, '--quota', 'off']);
    const U = 'sol@example.com';
    const tk = await emu.token(U, [SCOPES.readonly]);
    const ps = await emu.token(U, [PUBSUB]);
    const SUB = '/v1/projects/hv-test/subscriptions/kept';
    await emu.ctl('POST', 'pubsub/topics', { name: 'projects/hv-test/topics/kept' });
    await emu.ctl('POST', 'pubsub/subscriptions', { name: 'projects/hv-test/subscriptions/kept', topic: 'projects/hv-test/topics/kept' });
    const w = (await emu.req('POST', '/gmail/v1/users/me/watch', { token: tk, json: { topicName: 'projects/hv-test/topics/kept' } })).json;
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(150);
    let r = await emu.req('POST', SUB + ':pull', { token: ps, json: { maxMessages: 10 } });
    const leased = r.json.receivedMessages[0];
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(150);
    await emu.kill9();

    emu = await start(['--state', dir, '--quota', 'off']);
    const st = await emu.ctl('GET', 'pubsub');
    t.isDeeply(st.watches.map((x) => [x.email, x.expiration]), [[U, w.expiration]], 'the watch survives kill -9, same expiration');
    t.isDeeply(st.topics, [{ name: 'projects/hv-test/topics/kept', grant: true }], 'the topic and its grant survive');
    t.is(st.subscriptions[0].backlog, 2, 'both unacked notifications are kept');
    r = await emu.req('POST', SUB + ':pull', { token: ps, json: { maxMessages: 10, returnImmediately: true } });
    t.is((r.json.receivedMessages || []).length, 1, 'the leased one stays leased; the other is delivered');
    r = await emu.req('POST', SUB + ':acknowledge', { token: ps, json: { ackIds: [leased.ackId, r.json.receivedMessages[0].ackId] } });
    t.is(r.status, 200, 'an ackId from before the restart still acks');
    await emu.ctl('POST', 'clock', { advance: 11 });
    const ps2 = await emu.token(U, [PUBSUB]);
    r = await emu.req('POST', SUB + ':pull', { token: ps2, json: { maxMessages: 10, returnImmediately: true } });
    t.isDeeply(r.json, {}, 'nothing left after both acks');
    await sleep(1000);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(150);
    r = await emu.req('POST', SUB + ':pull', { token: ps2, json: { maxMessages: 10, returnImmediately: true } });
    t.is((r.json.receivedMessages || []).length, 1, 'the restored watch notifies');
    await emu.stop();
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
