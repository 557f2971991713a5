#!/usr/bin/env node
// Directory API: users by domain or customer with paging, group members with
// paging, admin-only access, scopes, errors.
'use strict';
const { start, SCOPES, main } = require('./lib/emu');

main(async (t) => {
  const emu = await start();
  try {
    await emu.ctl('POST', 'users', { email: 'admin@corp.example' });
    for (let i = 0; i < 7; i++) await emu.ctl('POST', 'users', { email: 'u' + i + '@corp.example' });
    await emu.ctl('POST', 'users', { email: 'x@other.example' });
    const members = Array.from({ length: 5 }, (_, i) => 'u' + i + '@corp.example').concat(['outsider@gmail.com']);
    await emu.ctl('POST', 'groups', { email: 'support@corp.example', members });
    const adm = await emu.token('admin@corp.example', [SCOPES.dirUserRo, SCOPES.dirMemberRo]);
    const usr = await emu.token('u1@corp.example', [SCOPES.dirUserRo, SCOPES.dirMemberRo]);
    const D = '/admin/directory/v1';

    let r = await emu.req('GET', D + '/users?domain=corp.example', { token: adm });
    t.ok(r.status === 200 && r.json.kind === 'admin#directory#users' && r.json.users.length === 8, 'users.list by domain');
    t.ok(r.json.users.every((u) => u.kind === 'admin#directory#user' && /@corp\.example$/.test(u.primaryEmail) && u.name.fullName), 'user resources');
    t.ok(r.json.users.find((u) => u.primaryEmail === 'admin@corp.example').isAdmin, 'the first account of a domain is its admin');
    const all = [];
    let pt = null, n = 0;
    do {
      r = await emu.req('GET', D + '/users?customer=my_customer&maxResults=3' + (pt ? '&pageToken=' + pt : ''), { token: adm });
      all.push(...r.json.users.map((u) => u.primaryEmail)); pt = r.json.nextPageToken; n++;
    } while (pt && n < 10);
    t.is(n, 3, 'customer=my_customer, pages of 3');
    t.is(new Set(all).size, 8, 'paging covers every user once');
    r = await emu.req('GET', D + '/users', { token: adm });
    t.is(r.status, 400, 'neither domain nor customer: 400');
    r = await emu.req('GET', D + '/users?domain=other.example', { token: adm });
    t.ok(r.status === 403 && r.json.error.message === 'Not Authorized to access this resource/api', 'another domain: 403');
    r = await emu.req('GET', D + '/users?domain=corp.example', { token: usr });
    t.is(r.status, 403, 'a non-admin: 403');
    r = await emu.req('GET', D + '/users?domain=corp.example&viewType=domain_public', { token: usr });
    t.is(r.status, 200, 'a non-admin with viewType=domain_public: 200');
    r = await emu.req('GET', D + '/users?domain=corp.example&maxResults=501', { token: adm });
    t.is(r.status, 400, 'maxResults over 500: 400');
    const gm = await emu.token('admin@corp.example', [SCOPES.readonly]);
    r = await emu.req('GET', D + '/users?domain=corp.example', { token: gm });
    t.is(r.status, 403, 'a Gmail-only token cannot list users');

    const got = [];
    pt = null; n = 0;
    do {
      r = await emu.req('GET', D + '/groups/support%40corp.example/members?maxResults=4' + (pt ? '&pageToken=' + pt : ''), { token: adm });
      got.push(...r.json.members.map((m) => m.email)); pt = r.json.nextPageToken; n++;
    } while (pt && n < 10);
    t.isDeeply(got, members, 'members.list pages through every member');
    t.is(n, 2, 'in two pages of 4');
    r = await emu.req('GET', D + '/groups/support@corp.example/members', { token: adm });
    t.ok(r.json.kind === 'admin#directory#members' && r.json.members[0].role === 'MEMBER' && r.json.members[0].type === 'USER' && r.json.members[0].status === 'ACTIVE', 'member resources');
    r = await emu.req('GET', D + '/groups/none@corp.example/members', { token: adm });
    t.ok(r.status === 404 && r.json.error.errors[0].reason === 'notFound', 'unknown group: 404');
    r = await emu.req('GET', D + '/groups/support@corp.example/members', { token: usr });
    t.is(r.status, 403, 'a non-admin cannot list members');

    // Nested groups, includeDerivedMembership, CUSTOMER and external members, status.
    await emu.ctl('POST', 'users', { email: 'gone@corp.example', suspended: true });
    await emu.ctl('POST', 'groups', { email: 'inner@corp.example', members: ['u5@corp.example', 'u0@corp.example', 'outer@corp.example'] });
    await emu.ctl('POST', 'groups', { email: 'outer@corp.example', members: ['u0@corp.example', 'inner@corp.example', 'ext@other.example',
      { type: 'CUSTOMER' }, 'gone@corp.example', { email: 'far@other.example', type: 'GROUP' }, { email: 'u6@corp.example', status: 'pending' }] });
    await emu.ctl('POST', 'groups', { email: 'far@other.example', members: ['x@other.example'] });
    const L = (g, q) => emu.req('GET', D + '/groups/' + g + '/members' + (q || ''), { token: adm });
    r = await L('outer@corp.example');
    const byEmail = (list) => Object.fromEntries(list.map((m) => [m.email || m.type, m]));
    let ms = byEmail(r.json.members);
    t.is(r.json.members.length, 7, 'without includeDerivedMembership: the direct members only');
    t.is(ms['inner@corp.example'].type, 'GROUP', 'a nested group is a member of type GROUP');
    t.ok(ms['ext@other.example'].type === 'USER' && ms['ext@other.example'].status === 'ACTIVE', 'an external address is a USER');
    t.ok(ms.CUSTOMER && ms.CUSTOMER.id === r.json.members.find((m) => m.type === 'CUSTOMER').id && /^C0/.test(ms.CUSTOMER.id) &&
      !('email' in ms.CUSTOMER), 'a CUSTOMER member has the customer id and no email');
    t.is(ms['gone@corp.example'].status, 'SUSPENDED', 'a suspended user: status SUSPENDED');
    t.is(ms['u6@corp.example'].status, 'PENDING', 'a status given by the test');
    t.is(ms['far@other.example'].type, 'GROUP', 'a group of another domain: GROUP');
    r = await L('outer@corp.example', '?includeDerivedMembership=false');
    t.is(r.json.members.length, 7, 'includeDerivedMembership=false: the same');
    r = await L('outer@corp.example', '?includeDerivedMembership=true');
    const names = r.json.members.map((m) => m.email || m.type);
    t.isDeeply(names, ['u0@corp.example', 'inner@corp.example', 'u5@corp.example', 'ext@other.example', 'CUSTOMER', 'gone@corp.example',
      'far@other.example', 'u6@corp.example'], 'includeDerivedMembership=true: nested users too, each once, cycles cut');
    t.ok(!names.includes('x@other.example'), 'a group of another customer is listed, not expanded');
    t.ok(!names.includes('outer@corp.example'), 'the group itself, reached through a cycle, is not its own member');
    r = await L('inner@corp.example', '?includeDerivedMembership=true&maxResults=2');
    const paged = [];
    pt = null; n = 0;
    do {
      r = await L('inner@corp.example', '?includeDerivedMembership=true&maxResults=2' + (pt ? '&pageToken=' + pt : ''));
      paged.push(...r.json.members.map((m) => m.email || m.type)); pt = r.json.nextPageToken; n++;
    } while (pt && n < 10);
    t.ok(paged.length === 8 && new Set(paged).size === 8 && paged.includes('u6@corp.example'), 'derived members page like the others, from the inner group too');
    r = await L('outer@corp.example', '?includeDerivedMembership=yes');
    t.is(r.status, 400, 'includeDerivedMembership not a boolean: 400');
  } finally { await emu.stop(); }
});
