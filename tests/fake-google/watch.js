'use strict';
// Gmail push: users.watch and users.stop, and the notifications a watch
// publishes to its Cloud Pub/Sub topic (broker.js) when the mailbox changes.
//
// Sources: the watch/stop methods and WatchRequest/WatchResponse of the
// Gmail discovery document (gmail.v1.json; notes section 1.1/1.2); the push
// guide https://developers.google.com/gmail/api/guides/push (topic in the
// caller's project, the publish grant for gmail-api-push@system.gserviceaccount.com,
// renew at least every 7 days, "a maximum notification rate of 1 event/sec
// per user being watched"; notifications carry emailAddress and historyId).
// The 403 for a missing grant is quoted from reports (dacastro4/laravel-gmail#285,
// googleapis/google-api-nodejs-client#2843). See README "Gmail push".
const { ApiError, E } = require('./errors');
const { json, empty } = require('./answer');
const { seeded } = require('./rand');
const { TOPIC_RE } = require('./pubsub');

const WEEK_MS = 7 * 86400 * 1000;
const RATE_MS = 1000;   // Gmail's one notification per second per watched user
const CLIENT_PROJECT = 'hv-test';   // the project_id of every client and service account made here

class Watches {
  constructor(ctx) {
    this.ctx = ctx;
    this.byUser = new Map();   // lower-case email -> {email, topic, labelIds, behavior, expiration, since}
    this.pace = new Map();     // lower-case email -> {last (real ms), timer, historyId}
    this.checkProject = false; // POST /_emu/pubsub {"check_project":true}
    this.setFaults({});
    this.stats = { notifications: 0, coalesced: 0, dropped: 0, duplicated: 0, delayed: 0, undeliverable: 0, after_expiry: 0 };
  }

  // {"drop":rate,"delay":rate,"delay_ms":MS,"duplicate":rate,"seed":N}.
  // delay_ms alone delays every notification.
  setFaults(f) {
    this.faults = { drop: f.drop || 0, delay: f.delay !== undefined ? f.delay : (f.delay_ms ? 1 : 0), delay_ms: f.delay_ms || 0,
      duplicate: f.duplicate || 0, seed: f.seed === undefined ? 0 : f.seed };
    this.rng = seeded((Number(this.faults.seed) ^ 0x5eed) >>> 0);
  }

  list() {
    const now = this.ctx.clock.now();
    return [...this.byUser.values()].map((w) => ({ email: w.email, topicName: w.topic, labelIds: w.labelIds, labelFilterBehavior: w.behavior,
      historyId: String(w.since), expiration: String(w.expiration), expired: now >= w.expiration }));
  }

  // A history record was written in mb (store.js Mailbox.record).
  onRecord(mb, rec) {
    const key = mb.email.toLowerCase();
    const w = this.byUser.get(key);
    if (!w) return;
    if (this.ctx.clock.now() >= w.expiration) { this.stats.after_expiry++; return; }
    if (!matches(w, rec)) return;
    let p = this.pace.get(key);
    if (!p) { p = { last: -Infinity, timer: null, historyId: 0 }; this.pace.set(key, p); }
    p.historyId = rec.id;
    if (p.timer) { this.stats.coalesced++; return; }
    // The first change goes out at once (after the call that made it);
    // later ones within the second wait for it and go out as one, with
    // the latest historyId.
    const wait = Math.max(0, p.last + RATE_MS - Date.now());
    p.timer = setTimeout(() => this.fire(key, p), wait);
  }

  fire(key, p) {
    p.timer = null;
    const w = this.byUser.get(key);
    if (!w || this.ctx.clock.now() >= w.expiration) return;
    p.last = Date.now();
    this.stats.notifications++;
    const data = Buffer.from(JSON.stringify({ emailAddress: w.email, historyId: p.historyId })).toString('base64');
    const f = this.faults, rng = this.rng;
    if (f.drop && rng() < f.drop) { this.stats.dropped++; return; }
    const copies = f.duplicate && rng() < f.duplicate ? 2 : 1;
    if (copies > 1) this.stats.duplicated++;
    const delay = f.delay && f.delay_ms && rng() < f.delay ? f.delay_ms : 0;
    if (delay) this.stats.delayed++;
    const send = () => { for (let i = 0; i < copies; i++) this.publish(w.topic, data); };
    if (delay) setTimeout(send, delay); else send();
  }

  // Gmail publishes as gmail-api-push@: a topic deleted or a grant withdrawn
  // after the watch began loses the notification.
  publish(topic, data) {
    const b = this.ctx.broker;
    if (!b.topics.has(topic) || !b.gmailMayPublish(topic)) { this.stats.undeliverable++; return; }
    b.publish(topic, [{ data }]);
    this.ctx.persist.dirty();
    this.ctx.persist.flush();
  }

  // --state: the watches and the switches; pace timers start afresh.
  save() { return { byUser: [...this.byUser.values()], checkProject: this.checkProject, faults: this.faults }; }
  load(snap) {
    for (const w of snap.byUser) this.byUser.set(w.email.toLowerCase(), w);
    this.checkProject = !!snap.checkProject;
    if (snap.faults) this.setFaults(snap.faults);
  }

  stop(email) {
    const key = email.toLowerCase();
    this.byUser.delete(key);
    const p = this.pace.get(key);
    if (p && p.timer) clearTimeout(p.timer);
    this.pace.delete(key);
  }
}

// labelIds with INCLUDE: a change to a message carrying (or gaining/losing)
// one of them; EXCLUDE: any change except those. No labelIds: every change.
function matches(w, rec) {
  if (!w.labelIds.length) return true;
  const hit = w.labelIds.some((l) => rec.msgLabels.includes(l) || (rec.labelIds && rec.labelIds.includes(l)));
  return w.behavior === 'exclude' ? !hit : hit;
}

function filterBehavior(b) {
  // labelFilterBehavior replaces labelFilterAction; "if set,
  // labelFilterAction is ignored" (WatchRequest). Values include/exclude,
  // taken in either case.
  for (const [field, proto] of [['labelFilterBehavior', 'label_filter_behavior'], ['labelFilterAction', 'label_filter_action']]) {
    const v = b[field];
    if (v === undefined || v === null) continue;
    const s = String(v).toLowerCase();
    if (s !== 'include' && s !== 'exclude') {
      throw E.invalidArgument('Invalid value at \'' + proto + '\' (type.googleapis.com/google.apps.gmail.v1.WatchRequest.' +
        (field === 'labelFilterBehavior' ? 'LabelFilterBehavior' : 'LabelFilterAction') + '), "' + v + '"');
    }
    return s;
  }
  return 'include';
}

function watch(ctx, req, p, auth) {
  const { mailboxOf, checkLabels, bodyJson, ok } = require('./gmail');
  const mb = mailboxOf(ctx, auth, p[1]);
  const b = bodyJson(req);
  const topic = typeof b.topicName === 'string' ? b.topicName : '';
  const m = TOPIC_RE.exec(topic);
  const caller = auth.client_id || auth.sa ? CLIENT_PROJECT : null;
  // Modelled wording (Gmail's reference: the project "must exactly match
  // your Google developer project id").
  if (!m || (ctx.watches.checkProject && caller && m[1] !== caller)) {
    throw E.invalidArgument('Invalid topicName does not match projects/' + (caller || (m ? m[1] : 'PROJECT')) + '/topics/*');
  }
  if (b.labelIds !== undefined && b.labelIds !== null) checkLabels(mb, b.labelIds);
  const behavior = filterBehavior(b);
  // Gmail sends a test message when a watch is set up; its failures come
  // back prefixed with that. 403 quoted from reports; the 404 wording is
  // Pub/Sub's own, by analogy (modelled).
  const pre = 'Error sending test message to Cloud PubSub ' + topic + ' : ';
  if (!ctx.broker.topics.has(topic)) throw new ApiError(404, pre + 'Resource not found (resource=' + m[2] + ').', 'notFound');
  if (!ctx.broker.gmailMayPublish(topic)) throw new ApiError(403, pre + 'User not authorized to perform this action.', 'forbidden');
  const now = ctx.clock.now();
  const w = { email: mb.email, topic, labelIds: (b.labelIds || []).slice(), behavior, expiration: Math.floor(now) + WEEK_MS, since: mb.historyId };
  ctx.watches.byUser.set(mb.email.toLowerCase(), w);
  ctx.persist.dirty();
  return ok(req, { historyId: String(mb.historyId), expiration: String(w.expiration) });
}

function stop(ctx, req, p, auth) {
  const { mailboxOf } = require('./gmail');
  const mb = mailboxOf(ctx, auth, p[1]);
  ctx.watches.stop(mb.email);
  ctx.persist.dirty();
  return empty(204);
}

const U = '/gmail/v1/users/([^/]+)';
const routes = [
  ['POST', U + '/watch', 'gmail.users.watch', watch],
  ['POST', U + '/stop', 'gmail.users.stop', stop],
].map(([method, re, id, h]) => ({ method, re: new RegExp('^' + re + '$'), id, h }));

module.exports = { Watches, routes, matches, WEEK_MS };
