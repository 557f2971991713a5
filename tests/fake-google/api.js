'use strict';
// The path every Gmail and Directory call takes, alone or as a batch part:
// bearer token, scopes, Gmail turned off, lockout, fault draw, concurrency
// cap, quota units (user and project), handler, service latency. Errors
// become Google's JSON bodies here.
const { ApiError, E, answerOf } = require('./errors');
const { authenticate } = require('./oauth');
const { allowed } = require('./scopes');
const { STATUS_KINDS, GMAIL_KINDS } = require('./faults');

const routes = require('./gmail').routes.concat(require('./watch').routes, require('./directory').routes, require('./pubsub').routes);

function match(method, path) {
  let pathHit = false;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    pathHit = true;
    if (r.method === method) return { route: r, params: m };
  }
  return pathHit ? { methodMismatch: true } : null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function faultError(kind) {
  if (kind === '429') return E.concurrency();
  if (kind === '500') return E.backendError();
  if (kind === 'precondition') return E.failedPrecondition();
  return E.unavailable();
}

// opts: {linkKinds: fault kinds allowed besides statuses, overCap: batch part past the per-batch cap}
async function call(ctx, req, route, params, opts = {}) {
  const st = ctx.stats;
  st.calls[route.id] = (st.calls[route.id] || 0) + 1;
  let answer, release = null, link = null;
  try {
    const auth = authenticate(ctx, req);
    if (!allowed(route.id, auth.scopes)) throw E.insufficientScopes(route.id, route.pubsub ? 'pubsub.googleapis.com' : undefined);
    // Gmail's own gates (Gmail off, lockouts, units) are not Pub/Sub's.
    const gmail = !route.directory && !route.pubsub;
    if (gmail) {
      // A user without Gmail (Workspace service off) fails every Gmail call,
      // for good; the Directory still lists the user.
      const mb = ctx.world.mailbox(auth.email);
      if (mb && mb.gmail === false) throw E.failedPrecondition('Mail service not enabled');
      // A locked-out user is refused before anything is drawn or charged: the
      // answer changes nothing, as Google's does.
      ctx.lockouts.check(auth.email);
    }
    const statusKinds = !gmail ? STATUS_KINDS : STATUS_KINDS.concat(GMAIL_KINDS);
    const kind = ctx.faults.draw(route.id, auth.email, req.method + ' ' + req.url, statusKinds.concat(opts.linkKinds || []));
    if (kind) {
      st.faults[kind] = (st.faults[kind] || 0) + 1;
      if (statusKinds.includes(kind)) {
        const e = faultError(kind);
        if (kind === '429') e.headers = { 'retry-after': '1' };
        throw e;
      }
      link = kind;
    }
    if (opts.overCap) throw E.concurrency();
    release = !gmail ? null : ctx.quota.enter(auth.email.toLowerCase());
    if (gmail) {
      ctx.quota.charge(auth.email.toLowerCase(), route.id);
      const u = auth.email.toLowerCase();
      st.units[u] = (st.units[u] || 0) + ctx.quota.cost(route.id);
    }
    // A handler that keeps part of a body when the link breaks (a
    // resumable PUT) needs to know it will.
    req.linkFault = link;
    answer = route.h(ctx, req, params, auth);
    const ms = ctx.latency.draw(route.id);
    if (ms) await sleep(ms);
    if (answer && answer.then) answer = await answer;
    if (ctx.persist.pending) await ctx.persist.flush();
  } catch (e) {
    if (!(e instanceof ApiError)) {
      process.stderr.write('fake-google: ' + req.method + ' ' + req.url + ': ' + (e.stack || e) + '\n');
      e = E.backendError();
    }
    // Pub/Sub answers errors without the errors[] array.
    if (route.pubsub) e.bare = true;
    answer = answerOf(e, req.query.get('prettyPrint') !== 'false');
  } finally {
    if (release) release();
  }
  if (answer.status >= 400) st.errors[answer.status] = (st.errors[answer.status] || 0) + 1;
  if (link) answer = Object.assign({}, answer, { fault: link, stallMs: ctx.faults.stallMs });
  return answer;
}

// OAuth endpoints are counted and can fail too (a refresh that meets a reset
// or a 503 is a case clients must handle); their error bodies are OAuth's.
const OAUTH_FAULT = {
  429: [429, { error: 'rate_limit_exceeded', error_description: 'Rate Limit Exceeded' }],
  500: [500, { error: 'internal_failure', error_description: 'Backend Error' }],
  503: [503, { error: 'temporarily_unavailable', error_description: 'The service is currently unavailable.' }],
};

async function oauthCall(ctx, req, id, handler) {
  const st = ctx.stats;
  st.calls[id] = (st.calls[id] || 0) + 1;
  const kind = ctx.faults.draw(id, '', req.method + ' ' + req.url + ' ' + req.body.toString('latin1'), STATUS_KINDS.concat(['reset', 'stall', 'truncate']));
  let a;
  if (kind) st.faults[kind] = (st.faults[kind] || 0) + 1;
  if (kind && OAUTH_FAULT[kind]) {
    const [code, body] = OAUTH_FAULT[kind];
    a = require('./answer').json(code, body, kind === '429' ? { 'retry-after': '1' } : null);
  } else {
    a = handler(ctx, req);
  }
  const ms = ctx.latency.draw(id);
  if (ms) await sleep(ms);
  if (a.status >= 400) st.errors[a.status] = (st.errors[a.status] || 0) + 1;
  if (kind && !OAUTH_FAULT[kind]) a = Object.assign({}, a, { fault: kind, stallMs: ctx.faults.stallMs });
  return a;
}

module.exports = { match, call, routes, oauthCall };
