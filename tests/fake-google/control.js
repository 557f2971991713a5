'use strict';
// The control API under /_emu/: tests set up the world (users, groups,
// clients, service accounts, tokens, mail), steer it (faults, clock, quota,
// history expiry) and read it back (mailboxes, stats, request log).
// JSON in and out; mistakes answer 400 {"error": "..."}.
const crypto = require('crypto');
const { json } = require('./answer');
const { mintAccess, mintRefresh } = require('./oauth');
const { KNOWN } = require('./scopes');
const { token } = require('./rand');
const { SHAPES } = require('./lockout');
const { parse: parseLatency } = require('./latency');
const { LABEL_ID_STYLES } = require('./gmail');

class Bad extends Error {}
const need = (cond, msg) => { if (!cond) throw new Bad(msg); };
const isEmail = (s) => typeof s === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s);

function mailbox(ctx, email) {
  need(isEmail(email), 'email: a valid address is required');
  return ctx.world.addMailbox(email);
}

function users(ctx, b) {
  need(isEmail(b.email), 'email: a valid address is required');
  const mb = ctx.world.addMailbox(b.email, b.admin === undefined ? {} : { admin: b.admin });
  if (b.admin !== undefined) mb.admin = !!b.admin;
  if (b.name) mb.name = String(b.name);
  if (b.deny !== undefined) mb.deny = !!b.deny;       // consent page answers access_denied
  if (b.grant) mb.grant = b.grant;                     // granular consent: only these scopes
  if (b.gmail !== undefined) {                         // false: "Mail service not enabled"
    need(typeof b.gmail === 'boolean', 'gmail: true or false');
    mb.gmail = b.gmail;
  }
  if (b.suspended !== undefined) mb.suspended = !!b.suspended;  // member status SUSPENDED
  return { email: mb.email, admin: mb.admin, gmail: mb.gmail !== false };
}

const TYPES = ['USER', 'GROUP', 'CUSTOMER'];

// A member: "addr", or {"email","role","type","status"}; {"type":"CUSTOMER"}
// is the whole organisation of the group's domain (no email; "id" may name
// another customer).  type defaults to GROUP for a group this world holds
// when listed, else USER.
function groupMember(g, m) {
  if (typeof m === 'string') m = { email: m };
  need(m && typeof m === 'object', 'members: an address or an object');
  const o = { role: (m.role || 'MEMBER').toUpperCase() };
  need(['OWNER', 'MANAGER', 'MEMBER'].includes(o.role), 'members: role OWNER, MANAGER or MEMBER');
  if (m.type !== undefined) {
    o.type = String(m.type).toUpperCase();
    need(TYPES.includes(o.type), 'members: type USER, GROUP or CUSTOMER');
  }
  if (m.status !== undefined) o.status = String(m.status).toUpperCase();
  if (o.type === 'CUSTOMER') {
    o.domain = g.split('@')[1].toLowerCase();
    if (m.id !== undefined) o.id = String(m.id);
    return o;
  }
  need(isEmail(m.email), 'members: bad address ' + JSON.stringify(m.email));
  o.email = m.email;
  return o;
}

function groups(ctx, b) {
  need(isEmail(b.email), 'email: a valid group address is required');
  need(Array.isArray(b.members), 'members: an array is required');
  const members = b.members.map((m) => groupMember(b.email, m));
  ctx.world.groups.set(b.email.toLowerCase(), { email: b.email, members });
  return { email: b.email, members: members.map((m) => m.email || m.type) };
}

function scopesOf(list) {
  need(Array.isArray(list) && list.length, 'scopes: a non-empty array is required');
  for (const s of list) need(KNOWN.has(s), 'scopes: unknown scope ' + s);
  return list.slice();
}

function tokens(ctx, b) {
  const mb = mailbox(ctx, b.email);
  const scopes = scopesOf(b.scopes);
  need(b.expires_in === undefined || (Number.isInteger(b.expires_in) && b.expires_in > 0), 'expires_in: a positive integer');
  let refresh = null, client = null;
  if (b.refresh) {
    client = b.client_id ? ctx.world.clients.get(b.client_id) : newClient(ctx).installed;
    need(client, 'client_id: no such client');
    refresh = mintRefresh(ctx, { email: mb.email, scopes, client_id: client.client_id });
  }
  const o = mintAccess(ctx, { email: mb.email, scopes, ttl: b.expires_in, client_id: client ? client.client_id : null, refresh });
  if (refresh) Object.assign(o, { refresh_token: refresh, client_id: client.client_id, client_secret: client.client_secret });
  return o;
}

function newClient(ctx) {
  const id = String(100000000000 + crypto.randomInt(899999999999)) + '-' + crypto.randomBytes(16).toString('hex') + '.apps.googleusercontent.com';
  const secret = 'GOCSPX-' + token(21).slice(0, 28);
  ctx.world.clients.set(id, { client_id: id, client_secret: secret, type: 'installed' });
  return { installed: { client_id: id, project_id: 'hv-test', auth_uri: ctx.url + '/o/oauth2/auth', token_uri: ctx.url + '/token',
    auth_provider_x509_cert_url: ctx.url + '/oauth2/v1/certs', client_secret: secret, redirect_uris: ['http://localhost'] } };
}

function serviceAccount(ctx, b) {
  need(typeof b.domain === 'string' && /^[^@\s]+\.[^@\s]+$/.test(b.domain), 'domain: a domain name is required');
  if (b.scopes) scopesOf(b.scopes);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const n = ctx.world.serviceAccounts.size + 1;
  const email = 'hv-sync-' + n + '@hv-test.iam.gserviceaccount.com';
  const cid = String(100000000000000000000n + BigInt(crypto.randomInt(281474976710655)));
  const kid = crypto.randomBytes(20).toString('hex');
  ctx.world.serviceAccounts.set(email, { client_email: email, client_id: cid, private_key_id: kid, domain: b.domain.toLowerCase(),
    scopes: b.scopes || null, publicKey: publicKey.export({ type: 'spki', format: 'pem' }) });
  return { type: 'service_account', project_id: 'hv-test', private_key_id: kid, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: email, client_id: cid, auth_uri: ctx.url + '/o/oauth2/auth', token_uri: ctx.url + '/token',
    auth_provider_x509_cert_url: ctx.url + '/oauth2/v1/certs', client_x509_cert_url: ctx.url + '/robot/v1/metadata/x509/' + encodeURIComponent(email),
    universe_domain: 'googleapis.com' };
}

function labelsOk(mb, ids) {
  need(Array.isArray(ids), 'labelIds: an array is required');
  for (const l of ids) need(mb.labels.has(l), 'labelIds: no label ' + l + ' in ' + mb.email);
  return ids;
}

function deliver(ctx, b) {
  const mb = mailbox(ctx, b.email);
  need(typeof b.raw === 'string' && b.raw.length, 'raw: base64url message required');
  const raw = Buffer.from(b.raw, 'base64');
  const labels = labelsOk(mb, b.labelIds === undefined ? ['INBOX', 'UNREAD'] : b.labelIds);
  const now = ctx.clock.now();
  const m = mb.addMessage(raw, labels, b.internalDate === undefined ? now : Number(b.internalDate), now);
  ctx.persist.addRaw(m);
  return { id: m.id, threadId: m.threadId, historyId: String(m.historyId) };
}

// Bulk mail for benchmarks and large-mailbox tests: count messages of about size bytes.
function seed(ctx, b) {
  const mb = mailbox(ctx, b.email);
  const count = Number(b.count || 1), size = Number(b.size || 2048);
  need(count > 0 && count <= 1000000 && size >= 200, 'count 1..1000000 and size >= 200 required');
  const labels = labelsOk(mb, b.labelIds === undefined ? ['INBOX'] : b.labelIds);
  const now = ctx.clock.now();
  const ids = [];
  const filler = 'The quick brown fox jumps over the lazy dog. 0123456789\r\n';
  for (let i = 0; i < count; i++) {
    const head = 'From: seed@example.net\r\nTo: ' + mb.email + '\r\nSubject: seed message ' + i + '\r\nDate: ' + new Date(now - (count - i) * 1000).toUTCString() +
      '\r\nMessage-ID: <seed-' + i + '-' + token(9) + '@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';
    const body = filler.repeat(Math.ceil(Math.max(0, size - head.length) / filler.length)).slice(0, Math.max(0, size - head.length));
    const m = mb.addMessage(Buffer.from(head + body), labels, now - (count - i) * 1000, now);
    ctx.persist.addRaw(m);
    ids.push(m.id);
  }
  return { ids, historyId: String(mb.historyId) };
}

function readMailbox(ctx, email) {
  const mb = ctx.world.mailbox(email);
  if (!mb) return null;
  return [...mb.messages.values()].map((m) => ({ id: m.id, threadId: m.threadId, labelIds: m.labelIds.slice(), raw: m.raw.toString('base64url') }));
}

function faults(ctx, b) {
  need(b.rate === undefined || (typeof b.rate === 'number' && b.rate >= 0 && b.rate <= 1), 'rate: a number in [0,1]');
  try { ctx.faults.set(b); } catch (e) { throw new Bad(e.message); }
  return { rate: ctx.faults.rate, kinds: ctx.faults.kinds, seed: ctx.faults.seed };
}

function expireHistory(ctx, b) {
  const mb = ctx.world.mailbox(b.email);
  need(mb, 'email: no such mailbox');
  mb.expireAll();
  return { historyId: String(mb.historyId) };
}

function clock(ctx, b) {
  need(typeof b.advance === 'number' && b.advance >= 0, 'advance: seconds, a number >= 0');
  ctx.clock.advance(b.advance);
  return clockNow(ctx);
}
const clockNow = (ctx) => ({ now: new Date(ctx.clock.now()).toISOString(), epoch_ms: Math.floor(ctx.clock.now()), rate: ctx.clock.rate });

function quota(ctx, b) {
  const table = b.table || ctx.quota.tableName;
  need(['legacy', '2026', 'off'].includes(table), 'table: legacy, 2026 or off');
  const ppm = b.project_per_minute;
  need(ppm === undefined || (Number.isInteger(ppm) && ppm >= 0), 'project_per_minute: an integer >= 0 (0: no project limit)');
  need(b.project_code === undefined || [403, 429].includes(b.project_code), 'project_code: 403 or 429');
  // latency_ms is the older spelling of a fixed "latency".
  const lat = b.latency !== undefined ? b.latency : b.latency_ms;
  try { if (lat !== undefined) parseLatency(lat); } catch (e) { throw new Bad(e.message); }
  need(b.latency_scale === undefined || (typeof b.latency_scale === 'number' && b.latency_scale >= 0), 'latency_scale: a number >= 0');
  try { ctx.quota.set(table, b.concurrency, b.batch_parallel); } catch (e) { throw new Bad(e.message); }
  ctx.quota.setProject(ppm, b.project_code);
  try { ctx.latency.set(lat, b.latency_scale); } catch (e) { throw new Bad(e.message); }
  return quotaNow(ctx);
}
const quotaNow = (ctx) => Object.assign({ table: ctx.quota.tableName, concurrency: ctx.quota.concurrency, batch_parallel: ctx.quota.batchParallel,
  project_per_minute: ctx.quota.projectPerMinute, project_code: ctx.quota.projectCode }, ctx.latency.describe());

// A password change: every grant of the user dies.
function revokeUser(ctx, b) {
  const mb = ctx.world.mailbox(b.email);
  need(mb, 'email: no such mailbox');
  let n = 0;
  for (const r of ctx.world.refreshTokens.values()) if (r.email === mb.email && !r.revoked) { r.revoked = true; n++; }
  for (const [k, a] of ctx.world.accessTokens) if (a.email === mb.email) { ctx.world.accessTokens.delete(k); n++; }
  return { revoked: n };
}

// A timed rate-limit lockout in one of Google's shapes (lockout.js).
function lockout(ctx, b) {
  need(isEmail(b.email), 'email: a valid address is required');
  need(typeof b.seconds === 'number' && b.seconds >= 0, 'seconds: a number >= 0');
  const shape = b.shape === undefined ? 'user429' : b.shape;
  need(Object.prototype.hasOwnProperty.call(SHAPES, shape), 'shape: user429, usage403 or exhausted429');
  need(b.retry_after_header === undefined || typeof b.retry_after_header === 'boolean', 'retry_after_header: true or false');
  ctx.lockouts.set(b.email, b.seconds, shape, b.retry_after_header);
  return { lockouts: ctx.lockouts.list() };
}

// One account's grant ends before its expiry (the user removed hv's access,
// an admin signed the user out): with client_id only that client's grant,
// without it every grant the user made to any client. Tokens minted by
// domain-wide delegation are no user grant and survive; revoke-user and
// revoke-delegation end those.
function revokeGrant(ctx, b) {
  const mb = ctx.world.mailbox(b.email);
  need(mb, 'email: no such mailbox');
  need(b.client_id === undefined || ctx.world.clients.has(b.client_id), 'client_id: no such client');
  const mine = (x) => x.email === mb.email && (b.client_id === undefined || x.client_id === b.client_id);
  let grants = 0, tokens = 0;
  for (const r of ctx.world.refreshTokens.values()) if (mine(r) && !r.revoked) { r.revoked = true; grants++; }
  for (const [k, a] of ctx.world.accessTokens) if (mine(a) && !a.sa) { ctx.world.accessTokens.delete(k); tokens++; }
  return { grants, access_tokens: tokens };
}

// The admin takes domain-wide delegation away from every service account
// over the domain: jwt-bearer with a sub there answers unauthorized_client.
// Tokens already minted live on unless "tokens" says otherwise: Google says a
// delegation change can take up to 24 hours to apply. "restore" gives it back.
function revokeDelegation(ctx, b) {
  need(typeof b.domain === 'string' && b.domain.length, 'domain: a domain name is required');
  const domain = b.domain.toLowerCase();
  let accounts = 0, tokens = 0;
  for (const sa of ctx.world.serviceAccounts.values()) {
    if (sa.domain !== domain) continue;
    sa.delegationRemoved = !b.restore;
    accounts++;
    if (b.restore || !b.tokens) continue;
    for (const [k, a] of ctx.world.accessTokens) if (a.sa === sa.client_email) { ctx.world.accessTokens.delete(k); tokens++; }
  }
  need(accounts, 'domain: no service account has delegation over ' + domain);
  return { service_accounts: accounts, access_tokens: tokens, delegation: !!b.restore };
}

function quirks(ctx, b) {
  try { return ctx.quirks.set(b); } catch (e) { throw new Bad(e.message); }
}
// The shape of the ids new user labels get (gmail.js createLabel).
function labelIds(ctx, b) {
  need(LABEL_ID_STYLES.includes(b.style), 'style: ' + LABEL_ID_STYLES.join(' or '));
  ctx.labelIdStyle = b.style;
  return labelIdsNow(ctx);
}
const labelIdsNow = (ctx) => ({ style: ctx.labelIdStyle || 'google' });

// A smaller upload limit than Google's 50 MiB (0: Google's again), so a
// test can see a refusal without moving 50 MiB.
// A shorter life for upload sessions than Google's week (0: a week again),
// so a test can see a session die under a client.
function limits(ctx, b) {
  const { MAX, WEEK } = require('./upload');
  if (b.upload_max !== undefined) {
    need(typeof b.upload_max === 'number' && b.upload_max >= 0 && b.upload_max <= MAX, 'upload_max: bytes, 0..' + MAX);
    ctx.uploadMax = b.upload_max;
  }
  if (b.session_ttl_s !== undefined) {
    need(typeof b.session_ttl_s === 'number' && b.session_ttl_s >= 0, 'session_ttl_s: seconds, >= 0');
    ctx.sessionTtl = b.session_ttl_s * 1000;
  }
  return { upload_max: ctx.uploadMax || MAX, session_ttl_s: (ctx.sessionTtl || WEEK) / 1000 };
}

function stats(ctx) {
  const s = ctx.stats;
  const r = s.resumable || { sessions: 0, puts: 0, status_queries: 0, interrupted: 0, resumed: 0, completed: 0, expired: 0, bytes: 0, kept: 0 };
  const ps = ctx.broker ? Object.assign({}, ctx.broker.stats, ctx.watches.stats) : {};
  return { calls: s.calls, units: s.units, errors: s.errors, faults: s.faults, resumable: r, pubsub: ps };
}

const POST = { users, groups, tokens, clients: (ctx) => newClient(ctx), 'service-accounts': serviceAccount, deliver, seed, faults,
  'expire-history': expireHistory, clock, quota, 'revoke-user': revokeUser, 'revoke-grant': revokeGrant,
  'revoke-delegation': revokeDelegation, lockout, quirks,
  'label-ids': labelIds, limits };
// Pub/Sub and Gmail push: pubsub-control.js.
const pubsubControl = require('./pubsub-control').makeControl(Bad);
Object.assign(POST, pubsubControl.post);

async function handle(ctx, req) {
  const name = req.path.slice('/_emu/'.length);
  try {
    if (req.method === 'GET') {
      if (name.startsWith('mailbox/')) {
        const box = readMailbox(ctx, decodeURIComponent(name.slice(8)));
        return box ? json(200, box, null, false) : json(404, { error: 'no such mailbox' });
      }
      if (name === 'stats') return json(200, stats(ctx));
      if (name === 'pubsub') return json(200, pubsubControl.state(ctx));
      if (name === 'clock') return json(200, clockNow(ctx));
      if (name === 'quota') return json(200, quotaNow(ctx));
      if (name === 'lockout') return json(200, { lockouts: ctx.lockouts.list() });
      if (name === 'quirks') return json(200, ctx.quirks.get());
      if (name === 'label-ids') return json(200, labelIdsNow(ctx));
      if (name === 'faults') return json(200, { rate: ctx.faults.rate, kinds: ctx.faults.kinds, seed: ctx.faults.seed, log: ctx.faults.log });
      if (name === 'log') return json(200, ctx.log.slice(-Number(req.query.get('n') || 1000)), null, false);
    } else if (req.method === 'DELETE' && name === 'stats') {
      Object.assign(ctx.stats, { calls: {}, units: {}, errors: {}, faults: {}, resumable: undefined });
      for (const c of [ctx.broker.stats, ctx.watches.stats]) for (const k of Object.keys(c)) c[k] = 0;
      ctx.log.length = 0;
      return json(200, {});
    } else if (req.method === 'POST' && POST[name]) {
      let b;
      try { b = req.body.length ? JSON.parse(req.body.toString('utf8')) : {}; } catch { throw new Bad('body: not JSON'); }
      need(b && typeof b === 'object' && !Array.isArray(b), 'body: a JSON object is required');
      const out = POST[name](ctx, b);
      ctx.persist.dirty();
      await ctx.persist.flush();
      return json(200, out);
    }
    return json(404, { error: 'no control endpoint ' + req.method + ' ' + req.path });
  } catch (e) {
    if (e instanceof Bad) return json(400, { error: e.message });
    throw e;
  }
}

module.exports = { handle };
