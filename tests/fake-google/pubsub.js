'use strict';
// Cloud Pub/Sub REST v1 (pubsub.googleapis.com/v1), the subset a pull
// subscriber and its setup need: topics create/get/delete/list/publish and
// their IAM policy, subscriptions create/get/delete/list, pull (a long
// poll), acknowledge, modifyAckDeadline. Paths, bodies and method ids as the
// pubsub v1 discovery document has them (https://pubsub.googleapis.com/$discovery/rest?version=v1;
// https://cloud.google.com/pubsub/docs/reference/rest). The delivery model
// is broker.js; api.js does auth and scopes (pubsub or cloud-platform).
//
// Error bodies are Pub/Sub's: {"error":{"code","message","status"}} with no
// errors[] array (the newer Google APIs' shape), e.g. 404 NOT_FOUND
// "Resource not found (resource=S)." naming the resource's short id.
const { ApiError } = require('./errors');
const { json } = require('./answer');
const { RETENTION_S } = require('./broker');

const bare = (code, status, msg) => new ApiError(code, msg, '', { status, bare: true });
const PE = {
  notFound: (id) => bare(404, 'NOT_FOUND', 'Resource not found (resource=' + id + ').'),
  exists: (id) => bare(409, 'ALREADY_EXISTS', 'Resource already exists in the project (resource=' + id + ').'),
  invalid: (msg) => bare(400, 'INVALID_ARGUMENT', msg),
  denied: () => bare(403, 'PERMISSION_DENIED', 'User not authorized to perform this action.'),
};

// Resource ids: "must start with a letter, and contain only letters
// ([A-Za-z]), numbers ([0-9]), dashes (-), underscores (_), periods (.),
// tildes (~), plus (+) or percent signs (%). It must be between 3 and 255
// characters in length, and it must not start with "goog"" (Topic.name and
// Subscription.name in the v1 reference).
const ID_RE = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
function checkName(kind, project, id) {
  const full = 'projects/' + project + '/' + kind + '/' + id;
  if (!ID_RE.test(id) || /^goog/i.test(id)) throw PE.invalid('Invalid [' + kind + '] name: (name=' + full + ')');
  return full;
}
const shortId = (full) => full.slice(full.lastIndexOf('/') + 1);
const TOPIC_RE = /^projects\/([^/]+)\/topics\/([^/]+)$/;

function body(req) {
  if (!req.body.length) return {};
  let b;
  try { b = JSON.parse(req.body.toString('utf8')); } catch (e) {
    throw PE.invalid('Invalid JSON payload received. ' + e.message.split('\n')[0]);
  }
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw PE.invalid('Invalid JSON payload received. Expected an object.');
  return b;
}
const ok = (req, obj) => json(200, obj, null, req.query.get('prettyPrint') !== 'false');
// Proto3 JSON takes an int32 as a number or a decimal string.
const int = (v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v);

// ---- topics

function topicOf(ctx, p) {
  const name = 'projects/' + p[1] + '/topics/' + p[2];
  const t = ctx.broker.topics.get(name);
  if (!t) throw PE.notFound(p[2]);
  return t;
}

function createTopic(ctx, req, p) {
  const name = checkName('topics', p[1], p[2]);
  body(req);
  if (!ctx.broker.createTopic(name)) throw PE.exists(p[2]);
  return ok(req, { name });
}
const getTopic = (ctx, req, p) => ok(req, { name: topicOf(ctx, p).name });
function deleteTopic(ctx, req, p) {
  topicOf(ctx, p);
  ctx.broker.deleteTopic('projects/' + p[1] + '/topics/' + p[2]);
  return ok(req, {});
}
function listTopics(ctx, req, p) {
  const pre = 'projects/' + p[1] + '/topics/';
  const topics = [...ctx.broker.topics.keys()].filter((n) => n.startsWith(pre)).sort().map((name) => ({ name }));
  return ok(req, topics.length ? { topics } : {});
}
function topicSubscriptions(ctx, req, p) {
  const t = topicOf(ctx, p);
  const subs = [...ctx.broker.subs.values()].filter((s) => s.topic === t.name).map((s) => s.name).sort();
  return ok(req, subs.length ? { subscriptions: subs } : {});
}

function policyOut(pol) {
  // An empty policy reads {"etag":"ACAB"}, as IAM answers one.
  return pol.bindings.length ? { version: pol.version, etag: pol.etag, bindings: pol.bindings } : { etag: pol.etag };
}
const getIamPolicy = (ctx, req, p) => ok(req, policyOut(topicOf(ctx, p).policy));
function setIamPolicy(ctx, req, p) {
  const t = topicOf(ctx, p);
  const b = body(req);
  const pol = b.policy;
  if (!pol || typeof pol !== 'object') throw PE.invalid('Invalid JSON payload received. Unknown name or missing "policy".');
  const bindings = pol.bindings === undefined ? [] : pol.bindings;
  if (!Array.isArray(bindings)) throw PE.invalid('Invalid JSON payload received. "bindings" must be a list.');
  for (const x of bindings) {
    if (!x || typeof x.role !== 'string' || !/^roles\//.test(x.role)) throw PE.invalid('Role (' + (x && x.role) + ') does not exist in the resource\'s hierarchy.');
    if (!Array.isArray(x.members)) throw PE.invalid('Invalid JSON payload received. "members" must be a list.');
    for (const m of x.members) {
      if (typeof m !== 'string' || !/^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet):.+)$/.test(m)) {
        throw PE.invalid('Invalid principal: ' + m);
      }
    }
  }
  // An etag from an older read means someone changed it meanwhile.
  if (pol.etag && pol.etag !== t.policy.etag) throw bare(409, 'ABORTED', 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
  return ok(req, policyOut(ctx.broker.setPolicy(t, pol)));
}

function publish(ctx, req, p) {
  const t = topicOf(ctx, p);
  const b = body(req);
  if (!Array.isArray(b.messages) || !b.messages.length) throw PE.invalid('The request contains no messages.');
  for (const m of b.messages) {
    if (!m || typeof m !== 'object') throw PE.invalid('Invalid JSON payload received. Expected an object.');
    if (m.data !== undefined && (typeof m.data !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(m.data))) throw PE.invalid('Invalid value at \'messages[0].data\' (TYPE_BYTES), Base64 decoding failed for "' + m.data + '"');
    if (!m.data && !(m.attributes && Object.keys(m.attributes).length)) throw PE.invalid('Some messages are empty: a message needs data or attributes.');
  }
  return ok(req, { messageIds: ctx.broker.publish(t.name, b.messages) });
}

// ---- subscriptions

function subOf(ctx, p) {
  const s = ctx.broker.subs.get('projects/' + p[1] + '/subscriptions/' + p[2]);
  if (!s) throw PE.notFound(p[2]);
  return s;
}

function subResource(s) {
  return { name: s.name, topic: s.topic, pushConfig: {}, ackDeadlineSeconds: s.ackDeadlineSeconds,
    messageRetentionDuration: RETENTION_S + 's', expirationPolicy: { ttl: '2678400s' }, state: 'ACTIVE' };
}

// ackDeadlineSeconds: "The minimum custom deadline you can specify is 10
// seconds. The maximum ... is 600 seconds ... If this parameter is 0, a
// default value of 10 seconds is used." (Subscription reference)
function ackDeadline(v) {
  if (v === undefined || v === null || v === 0) return 10;
  if (!Number.isInteger(v) || v < 10 || v > 600) throw PE.invalid('Invalid ack deadline given: ' + v + '. Must be between 10 and 600 seconds.');
  return v;
}

function createSub(ctx, req, p) {
  const name = checkName('subscriptions', p[1], p[2]);
  const b = body(req);
  if (typeof b.topic !== 'string' || !b.topic) throw PE.invalid('Invalid resource name given (name=' + (b.topic || '') + ').');
  const m = TOPIC_RE.exec(b.topic);
  if (!m) throw PE.invalid('Invalid [topics] name: (name=' + b.topic + ')');
  const dl = ackDeadline(int(b.ackDeadlineSeconds));
  if (!ctx.broker.topics.has(b.topic)) throw PE.notFound(m[2]);
  const s = ctx.broker.createSub(name, b.topic, dl);
  if (!s) throw PE.exists(p[2]);
  return ok(req, subResource(s));
}
const getSub = (ctx, req, p) => ok(req, subResource(subOf(ctx, p)));
function deleteSub(ctx, req, p) {
  const s = subOf(ctx, p);
  ctx.broker.deleteSub(s.name);
  return ok(req, {});
}
function listSubs(ctx, req, p) {
  const pre = 'projects/' + p[1] + '/subscriptions/';
  const subs = [...ctx.broker.subs.values()].filter((s) => s.name.startsWith(pre)).sort((a, b) => (a.name < b.name ? -1 : 1)).map(subResource);
  return ok(req, subs.length ? { subscriptions: subs } : {});
}

const MAX_PULL = 1000;

// A long poll: with nothing to deliver the call is held until a message
// comes or the wait (POST /_emu/pubsub {"pull_wait_ms"}, default 10 s)
// passes, then answers {}. returnImmediately (deprecated) answers at once.
async function pull(ctx, req, p) {
  const s = subOf(ctx, p);
  const b = body(req);
  const max = int(b.maxMessages);
  if (max === undefined || max === null) throw PE.invalid('A required argument is missing in the request: (argument="max_messages").');
  if (!Number.isInteger(max) || max <= 0) throw PE.invalid('Invalid max_messages: ' + max + '. Must be a positive number.');
  const got = await ctx.broker.pull(s, Math.min(max, MAX_PULL), b.returnImmediately === true, req.gone, req.onClose);
  return ok(req, got.length ? { receivedMessages: got } : {});
}

function ackIdsOf(b) {
  if (!Array.isArray(b.ackIds) || !b.ackIds.length) throw PE.invalid('No ack ids specified.');
  for (const id of b.ackIds) if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{8,}$/.test(id)) throw PE.invalid('You have passed an invalid ack ID to the service (ack_id=' + id + ').');
  return b.ackIds;
}

function acknowledge(ctx, req, p) {
  const s = subOf(ctx, p);
  ctx.broker.acknowledge(s, ackIdsOf(body(req)));
  return ok(req, {});
}

function modifyAckDeadline(ctx, req, p) {
  const s = subOf(ctx, p);
  const b = body(req);
  const ids = ackIdsOf(b);
  const sec = b.ackDeadlineSeconds === undefined ? 0 : int(b.ackDeadlineSeconds);
  if (!Number.isInteger(sec) || sec < 0 || sec > 600) throw PE.invalid('Invalid ack deadline given: ' + sec + '. Must be between 0 and 600 seconds.');
  ctx.broker.modifyAckDeadline(s, ids, sec);
  return ok(req, {});
}

const PRJ = '/v1/projects/([^/:]+)';
const ID = '([^/:]+)';
const VERB = '(?::|%3A)';   // ':verb', sometimes sent percent-encoded
const T = 'pubsub.projects.topics.', S = 'pubsub.projects.subscriptions.';
const routes = [
  ['GET', PRJ + '/topics', T + 'list', listTopics],
  ['PUT', PRJ + '/topics/' + ID, T + 'create', createTopic],
  ['GET', PRJ + '/topics/' + ID, T + 'get', getTopic],
  ['DELETE', PRJ + '/topics/' + ID, T + 'delete', deleteTopic],
  ['GET', PRJ + '/topics/' + ID + '/subscriptions', T + 'subscriptions.list', topicSubscriptions],
  ['POST', PRJ + '/topics/' + ID + VERB + 'publish', T + 'publish', publish],
  ['POST', PRJ + '/topics/' + ID + VERB + 'setIamPolicy', T + 'setIamPolicy', setIamPolicy],
  // GET in the v1 discovery document; POST as older clients send it.
  ['GET', PRJ + '/topics/' + ID + VERB + 'getIamPolicy', T + 'getIamPolicy', getIamPolicy],
  ['POST', PRJ + '/topics/' + ID + VERB + 'getIamPolicy', T + 'getIamPolicy', getIamPolicy],
  ['GET', PRJ + '/subscriptions', S + 'list', listSubs],
  ['PUT', PRJ + '/subscriptions/' + ID, S + 'create', createSub],
  ['GET', PRJ + '/subscriptions/' + ID, S + 'get', getSub],
  ['DELETE', PRJ + '/subscriptions/' + ID, S + 'delete', deleteSub],
  ['POST', PRJ + '/subscriptions/' + ID + VERB + 'pull', S + 'pull', pull],
  ['POST', PRJ + '/subscriptions/' + ID + VERB + 'acknowledge', S + 'acknowledge', acknowledge],
  ['POST', PRJ + '/subscriptions/' + ID + VERB + 'modifyAckDeadline', S + 'modifyAckDeadline', modifyAckDeadline],
].map(([method, re, id, h]) => ({ method, re: new RegExp('^' + re + '$'), id, pubsub: true,
  // Every call but a read changes what --state keeps (a pull leases).
  h: method === 'GET' ? h : (c, r, p, a) => { c.persist.dirty(); return h(c, r, p, a); } }));

module.exports = { routes, PE, TOPIC_RE, checkName };
