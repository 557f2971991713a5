#!/usr/bin/env node
// Gmail push end to end: a pull waiting on the subscription hears of new
// mail within ~100 ms; the notification faults (drop, delay, duplicate) do
// what they say and replay by seed; over HTTP/2 too.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'fay@example.com';
    const tk = await emu.token(U, [SCOPES.readonly]);
    const ps = await emu.token(U, [PUBSUB]);
    const TOPIC = 'projects/hv-test/topics/push';
    const SUB = '/v1/projects/hv-test/subscriptions/push-follow';
    await emu.ctl('POST', 'pubsub/topics', { name: TOPIC });
    const sub = await emu.ctl('POST', 'pubsub/subscriptions', { name: 'projects/hv-test/subscriptions/push-follow', topic: TOPIC, ackDeadlineSeconds: 20 });
    t.isDeeply(sub, { name: 'projects/hv-test/subscriptions/push-follow', topic: TOPIC, ackDeadlineSeconds: 20 }, 'POST /_emu/pubsub/subscriptions');
    let r = await emu.req('POST', '/_emu/pubsub/subscriptions', { json: { name: 'projects/hv-test/subscriptions/x1', topic: 'projects/hv-test/topics/none' } });
    t.is(r.status, 400, 'control: a subscription to a missing topic is a 400');
    r = await emu.req('POST', '/_emu/pubsub/faults', { json: { drop: 2 } });
    t.is(r.status, 400, 'control: drop must be a rate');
    r = await emu.req('POST', '/gmail/v1/users/me/watch', { token: tk, json: { topicName: TOPIC } });
    t.is(r.status, 200, 'watch');
    const pull = (o = {}) => emu.req('POST', SUB + ':pull', Object.assign({ token: ps, json: { maxMessages: 10 } }, o));
    const drain = async () => {
      const r = await emu.req('POST', SUB + ':pull', { token: ps, json: { maxMessages: 100, returnImmediately: true } });
      const got = r.json.receivedMessages || [];
      if (got.length) await emu.req('POST', SUB + ':acknowledge', { token: ps, json: { ackIds: got.map((g) => g.ackId) } });
      return got.map((g) => JSON.parse(Buffer.from(g.message.data, 'base64').toString()));
    };

    // a long poll answers within ~100 ms of the mail's arrival, HTTP/1.1 and HTTP/2
    for (const h2 of [false, true]) {
      await sleep(1100);
      const waiting = pull({ h2 });
      await sleep(300);
      const t0 = Date.now();
      const d = await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'fast' })) });
      r = await waiting;
      const lag = Date.now() - t0;
      const got = r.json.receivedMessages || [];
      t.ok(got.length === 1 && JSON.parse(Buffer.from(got[0].message.data, 'base64').toString()).historyId >= Number(d.historyId),
        (h2 ? 'HTTP/2' : 'HTTP/1.1') + ': the waiting pull gets the notification');
      t.ok(lag < 150, (h2 ? 'HTTP/2' : 'HTTP/1.1') + ': within ~100 ms of the delivery (' + lag + ' ms, the deliver call included)');
      await emu.req('POST', SUB + ':acknowledge', { token: ps, json: { ackIds: got.map((g) => g.ackId) } });
    }

    // drop: every notification lost
    await emu.ctl('POST', 'pubsub/faults', { drop: 1 });
    await sleep(1100);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(150);
    t.isDeeply(await drain(), [], 'drop 1: the notification never comes');
    let st = await emu.ctl('GET', 'pubsub');
    t.ok(st.stats.dropped === 1 && st.faults.drop === 1, 'GET /_emu/pubsub shows the fault and counts the drop');

    // delay: comes late
    await emu.ctl('POST', 'pubsub/faults', { delay_ms: 600 });
    await sleep(1100);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(300);
    t.isDeeply(await drain(), [], 'delay_ms 600: nothing after 300 ms');
    await sleep(500);
    t.is((await drain()).length, 1, 'there after 800 ms');

    // duplicate: two messages, same body, distinct messageIds
    await emu.ctl('POST', 'pubsub/faults', { duplicate: 1 });
    await sleep(1100);
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await sleep(150);
    r = await emu.req('POST', SUB + ':pull', { token: ps, json: { maxMessages: 10, returnImmediately: true } });
    const dup = r.json.receivedMessages || [];
    t.ok(dup.length === 2 && dup[0].message.data === dup[1].message.data && dup[0].message.messageId !== dup[1].message.messageId,
      'duplicate 1: the same notification published twice');
    await emu.req('POST', SUB + ':acknowledge', { token: ps, json: { ackIds: dup.map((g) => g.ackId) } });

    // a rate with a seed replays the same schedule
    const schedule = async () => {
      await emu.ctl('POST', 'pubsub/faults', { drop: 0.5, seed: 7 });
      const seen = [];
      for (let i = 0; i < 8; i++) {
        await sleep(1010);
        await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
        await sleep(100);
        seen.push((await drain()).length);
      }
      return seen;
    };
    const a = await schedule();
    const b = await schedule();
    t.ok(a.includes(0) && a.includes(1), 'drop 0.5: some lost, some not (' + a.join('') + ')');
    t.isDeeply(b, a, 'the same seed replays the same drops');

    // off again
    await emu.ctl('POST', 'pubsub/faults', {});
    st = await emu.ctl('GET', 'pubsub');
    t.isDeeply(st.faults, { drop: 0, delay: 0, delay_ms: 0, duplicate: 0, seed: 0 }, '{} turns the faults off');
  } finally { await emu.stop(); }
});
