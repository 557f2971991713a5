'use strict';
// Control API for Pub/Sub and Gmail push (mounted by control.js under
// /_emu/pubsub...): tests make topics (with Gmail's publish grant) and
// subscriptions without the REST dance, steer notification faults and the
// long poll, and read the state back.
const { GMAIL_PUSH } = require('./broker');
const { TOPIC_RE, checkName } = require('./pubsub');

function makeControl(Bad) {
  const need = (cond, msg) => { if (!cond) throw new Bad(msg); };
  const rate = (v, name) => need(v === undefined || (typeof v === 'number' && v >= 0 && v <= 1), name + ': a number in [0,1]');
  const nameOk = (kind, full) => {
    const re = kind === 'topics' ? TOPIC_RE : /^projects\/([^/]+)\/subscriptions\/([^/]+)$/;
    const m = re.exec(typeof full === 'string' ? full : '');
    need(m, 'name: projects/P/' + kind + '/ID');
    try { checkName(kind, m[1], m[2]); } catch (e) { throw new Bad('name: ' + e.message); }
    return full;
  };

  // {"name":"projects/P/topics/T","grant":bool} grant (default true) binds
  // roles/pubsub.publisher to gmail-api-push@system.gserviceaccount.com.
  // An existing topic is kept (its messages too); its grant follows "grant".
  function topics(ctx, b) {
    const name = nameOk('topics', b.name);
    need(b.grant === undefined || typeof b.grant === 'boolean', 'grant: true or false');
    const t = ctx.broker.topics.get(name) || ctx.broker.createTopic(name);
    ctx.broker.setPolicy(t, { bindings: b.grant === false ? [] : [{ role: 'roles/pubsub.publisher', members: [GMAIL_PUSH] }] });
    return { name, grant: ctx.broker.gmailMayPublish(name) };
  }

  // {"name":"projects/P/subscriptions/S","topic":"projects/P/topics/T","ackDeadlineSeconds":10..600}
  function subscriptions(ctx, b) {
    const name = nameOk('subscriptions', b.name);
    nameOk('topics', b.topic);
    need(ctx.broker.topics.has(b.topic), 'topic: no such topic ' + b.topic);
    const dl = b.ackDeadlineSeconds === undefined ? 10 : b.ackDeadlineSeconds;
    need(Number.isInteger(dl) && dl >= 10 && dl <= 600, 'ackDeadlineSeconds: an integer 10..600');
    need(!ctx.broker.subs.has(name), 'name: subscription exists');
    const s = ctx.broker.createSub(name, b.topic, dl);
    return { name: s.name, topic: s.topic, ackDeadlineSeconds: s.ackDeadlineSeconds };
  }

  // Notification faults: {"drop":rate,"delay":rate,"delay_ms":MS,"duplicate":rate,"seed":N};
  // {} turns them off.
  function faults(ctx, b) {
    rate(b.drop, 'drop'); rate(b.delay, 'delay'); rate(b.duplicate, 'duplicate');
    need(b.delay_ms === undefined || (typeof b.delay_ms === 'number' && b.delay_ms >= 0), 'delay_ms: a number >= 0');
    ctx.watches.setFaults(b);
    return ctx.watches.faults;
  }

  // {"pull_wait_ms":MS,"redeliver_rate":rate,"check_project":bool}
  function settings(ctx, b) {
    need(b.pull_wait_ms === undefined || (typeof b.pull_wait_ms === 'number' && b.pull_wait_ms >= 0 && b.pull_wait_ms <= 600000), 'pull_wait_ms: 0..600000');
    rate(b.redeliver_rate, 'redeliver_rate');
    need(b.check_project === undefined || typeof b.check_project === 'boolean', 'check_project: true or false');
    if (b.pull_wait_ms !== undefined) ctx.broker.pullWaitMs = b.pull_wait_ms;
    if (b.redeliver_rate !== undefined) ctx.broker.redeliverRate = b.redeliver_rate;
    if (b.check_project !== undefined) ctx.watches.checkProject = b.check_project;
    return state(ctx);
  }

  function state(ctx) {
    const br = ctx.broker, now = ctx.clock.now();
    return {
      pull_wait_ms: br.pullWaitMs, redeliver_rate: br.redeliverRate, check_project: ctx.watches.checkProject,
      faults: ctx.watches.faults,
      topics: [...br.topics.values()].map((t) => ({ name: t.name, grant: br.gmailMayPublish(t.name) })),
      subscriptions: [...br.subs.values()].map((s) => ({ name: s.name, topic: s.topic, ackDeadlineSeconds: s.ackDeadlineSeconds,
        backlog: br.backlog(s), outstanding: s.queue.filter((e) => e.leaseUntil > now).length, waiting_pulls: s.waiters.length })),
      watches: ctx.watches.list(),
      stats: Object.assign({}, br.stats, ctx.watches.stats),
    };
  }

  return { post: { 'pubsub/topics': topics, 'pubsub/subscriptions': subscriptions, 'pubsub/faults': faults, pubsub: settings }, state };
}

module.exports = { makeControl };
