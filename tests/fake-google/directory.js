'use strict';
// Admin SDK Directory API: users.list (by domain or customer) and
// members.list of a group, with paging. Only a domain administrator may list,
// except users with viewType=domain_public, as in Google Workspace.
const crypto = require('crypto');
const { ApiError, E } = require('./errors');
const { ok } = require('./gmail');

const D = '/admin/directory/v1';
const notAuthorized = () => new ApiError(403, 'Not Authorized to access this resource/api', 'forbidden');

function etag(s) { return '"' + crypto.createHash('sha1').update(s).digest('base64url') + '"'; }
function numId(s) { return String(BigInt('0x' + crypto.createHash('sha256').update(s).digest('hex').slice(0, 15))); }

function page(req, items, def, max) {
  const v = req.query.get('maxResults');
  let n = def;
  if (v !== null) {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw E.invalidArgument('Invalid Input: maxResults');
    n = Number(v);
  }
  let start = 0;
  const pt = req.query.get('pageToken');
  if (pt) {
    const s = Buffer.from(pt, 'base64url').toString();
    if (!/^\d+$/.test(s)) throw E.badRequest('Invalid Input: pageToken');
    start = Number(s);
  }
  const slice = items.slice(start, start + n);
  const next = start + n < items.length ? Buffer.from(String(start + n)).toString('base64url') : null;
  return { slice, next };
}

function callerOf(ctx, auth) {
  const me = ctx.world.mailbox(auth.email);
  if (!me) throw notAuthorized();
  return me;
}

function userResource(ctx, mb) {
  const local = mb.email.split('@')[0];
  const domain = mb.email.split('@')[1].toLowerCase();
  const given = mb.name ? mb.name.split(' ')[0] : local.charAt(0).toUpperCase() + local.slice(1);
  const family = mb.name ? mb.name.split(' ').slice(1).join(' ') : 'Test';
  return { kind: 'admin#directory#user', id: numId('user:' + mb.email.toLowerCase()), etag: etag('u' + mb.email), primaryEmail: mb.email,
    name: { givenName: given, familyName: family, fullName: (given + ' ' + family).trim() }, isAdmin: mb.admin, isDelegatedAdmin: false,
    suspended: !!mb.suspended, archived: false, orgUnitPath: '/', customerId: ctx.world.customerId(domain), isMailboxSetup: true };
}

function listUsers(ctx, req, p, auth) {
  const me = callerOf(ctx, auth);
  const myDomain = me.email.split('@')[1].toLowerCase();
  const domain = (req.query.get('domain') || '').toLowerCase();
  const customer = req.query.get('customer');
  if (!domain && !customer) throw E.badRequest('Bad Request');
  let want;
  if (domain) want = domain;
  else if (customer === 'my_customer' || customer === ctx.world.customerId(myDomain)) want = myDomain;
  else throw notAuthorized();
  if (want !== myDomain) throw notAuthorized();
  if (!me.admin && req.query.get('viewType') !== 'domain_public') throw notAuthorized();
  const users = [...ctx.world.mailboxes.values()].filter((m) => m.email.split('@')[1].toLowerCase() === want)
    .sort((a, b) => a.email.localeCompare(b.email));
  const { slice, next } = page(req, users, 100, 500);
  const o = { kind: 'admin#directory#users', etag: etag('users:' + want + ':' + users.length) };
  if (slice.length) o.users = slice.map((m) => userResource(ctx, m));
  if (next) o.nextPageToken = next;
  return ok(req, o);
}

// One member resource as Google answers it.  A CUSTOMER member (the whole
// organisation) has no email and the customer id as its id; a GROUP is a
// group this world holds (or one a test calls a group); anything else is a
// USER, whether or not it has a mailbox here (external addresses are USERs).
function memberResource(ctx, m) {
  const type = memberType(ctx, m);
  if (type === 'CUSTOMER') {
    const id = m.id || ctx.world.customerId(m.domain);
    return { kind: 'admin#directory#member', etag: etag('m' + id), id, role: m.role || 'MEMBER', type, status: m.status || 'ACTIVE' };
  }
  const mb = ctx.world.mailbox(m.email);
  const status = m.status || (mb && mb.suspended ? 'SUSPENDED' : 'ACTIVE');
  return { kind: 'admin#directory#member', etag: etag('m' + m.email), id: numId((type === 'GROUP' ? 'group:' : 'user:') + m.email.toLowerCase()),
    email: m.email, role: m.role || 'MEMBER', type, status };
}

function memberType(ctx, m) {
  if (m.type) return m.type;
  return ctx.world.groups.has(m.email.toLowerCase()) ? 'GROUP' : 'USER';
}

const domainOf = (email) => email.split('@')[1].toLowerCase();

// includeDerivedMembership=true: the direct members, then the members of
// each nested group of the same customer, depth first, each address (or
// customer id) once, however many paths lead to it and whatever cycles the
// groups make.  The nested GROUP entries stay in the list (clients filter
// them out: zentral PR #1299, "Groups itself will be filtered out in the
// iteration"); a group of another customer is listed, not expanded.
function derived(ctx, g) {
  const out = [], seen = new Set([g.email.toLowerCase()]), visited = new Set([g.email.toLowerCase()]);
  const walk = (grp) => {
    for (const m of grp.members) {
      const key = m.type === 'CUSTOMER' ? 'customer:' + (m.id || m.domain) : m.email.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(m);
      if (memberType(ctx, m) !== 'GROUP') continue;
      const inner = ctx.world.groups.get(m.email.toLowerCase());
      if (!inner || visited.has(m.email.toLowerCase()) || domainOf(inner.email) !== domainOf(g.email)) continue;
      visited.add(m.email.toLowerCase());
      walk(inner);
    }
  };
  walk(g);
  return out;
}

function listMembers(ctx, req, p, auth) {
  const me = callerOf(ctx, auth);
  const key = decodeURIComponent(p[1]).toLowerCase();
  const g = ctx.world.groups.get(key);
  if (!g) throw new ApiError(404, 'Resource Not Found: groupKey', 'notFound');
  if (!me.admin || domainOf(g.email) !== domainOf(me.email)) throw notAuthorized();
  const dm = req.query.get('includeDerivedMembership');
  if (dm !== null && dm !== 'true' && dm !== 'false') throw E.invalidArgument('Invalid value for: includeDerivedMembership');
  const roles = req.query.get('roles') ? req.query.get('roles').toUpperCase().split(',') : null;
  const all = dm === 'true' ? derived(ctx, g) : g.members;
  const members = all.filter((m) => !roles || roles.includes(m.role || 'MEMBER'));
  const { slice, next } = page(req, members, 200, 200);
  const o = { kind: 'admin#directory#members', etag: etag('members:' + key + ':' + dm + ':' + members.length) };
  if (slice.length) o.members = slice.map((m) => memberResource(ctx, m));
  if (next) o.nextPageToken = next;
  return ok(req, o);
}

const routes = [
  ['GET', D + '/users', 'directory.users.list', listUsers],
  ['GET', D + '/groups/([^/]+)/members', 'directory.members.list', listMembers],
].map(([method, re, id, h]) => ({ method, re: new RegExp('^' + re + '$'), id, h, directory: true }));

module.exports = { routes };
