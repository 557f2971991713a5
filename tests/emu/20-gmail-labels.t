#!/usr/bin/env node
// Gmail labels and profile: list, create, get, case-insensitive clash, errors.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const tk = await emu.token('ann@example.com', [SCOPES.labels]);
    const ro = await emu.token('ann@example.com', [SCOPES.readonly]);
    const L = '/gmail/v1/users/me/labels';

    let r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: ro });
    t.is(r.status, 200, 'getProfile');
    t.ok(r.json.emailAddress === 'ann@example.com' && r.json.messagesTotal === 0 && r.json.threadsTotal === 0 && /^\d+$/.test(r.json.historyId), 'profile fields, historyId a decimal string');
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk });
    t.is(r.status, 403, 'getProfile is not allowed with gmail.labels alone');

    r = await emu.req('GET', L, { token: tk });
    t.is(r.status, 200, 'labels.list');
    const ids = r.json.labels.map((l) => l.id);
    t.ok(['INBOX', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'SENT', 'DRAFT'].every((x) => ids.includes(x)), 'system labels present');
    t.ok(r.json.labels.every((l) => l.type === 'system' && l.messagesTotal === undefined), 'list items carry no counts');

    r = await emu.req('POST', L, { token: tk, json: { name: 'Support', labelListVisibility: 'labelShow', messageListVisibility: 'show' } });
    t.is(r.status, 200, 'labels.create');
    const sup = r.json;
    t.ok(/^Label_\d+$/.test(sup.id) && sup.name === 'Support' && sup.type === 'user', 'user label id and type');
    r = await emu.req('POST', L, { token: tk, json: { name: 'support' } });
    t.is(r.status, 409, 'same name in another case: 409');
    t.isDeeply(r.json, { error: { code: 409, message: 'Label name exists or conflicts', errors: [{ message: 'Label name exists or conflicts', domain: 'global', reason: 'duplicate' }], status: 'ALREADY_EXISTS' } }, 'Google\'s 409 body');
    r = await emu.req('POST', L, { token: tk, json: { name: 'Inbox' } });
    t.ok(r.status === 400 && r.json.error.message === 'Invalid label name', 'a system name: 400 Invalid label name');
    r = await emu.req('POST', L, { token: tk, json: {} });
    t.is(r.status, 400, 'no name: 400');
    r = await emu.req('POST', L, { token: tk, body: '{nope', headers: { 'content-type': 'application/json' } });
    t.ok(r.status === 400 && /Invalid JSON payload/.test(r.json.error.message), 'bad JSON: 400');
    r = await emu.req('POST', L, { token: tk, json: { name: 'Support/Nested' } });
    t.is(r.status, 200, 'nested label name');
    r = await emu.req('POST', L, { token: ro, json: { name: 'Other' } });
    t.is(r.json.error.errors[0].reason, 'insufficientPermissions', 'readonly cannot create labels');

    await emu.ctl('POST', 'deliver', { email: 'ann@example.com', raw: b64u(message()), labelIds: ['INBOX', 'UNREAD', sup.id] });
    r = await emu.req('GET', L + '/' + sup.id, { token: ro });
    t.ok(r.status === 200 && r.json.messagesTotal === 1 && r.json.messagesUnread === 1 && r.json.threadsTotal === 1, 'labels.get has counts');
    r = await emu.req('GET', L + '/Label_999', { token: ro });
    t.ok(r.status === 404 && r.json.error.errors[0].reason === 'notFound' && r.json.error.message === 'Requested entity was not found.', 'unknown label: 404 notFound');
    r = await emu.req('GET', L + '?prettyPrint=false&fields=labels(id,name)', { token: ro });
    t.ok(!r.text.includes('\n ') && r.json.labels.every((l) => Object.keys(l).join() === 'id,name'), 'prettyPrint=false and fields= honoured');

    r = await emu.req('PATCH', L + '/' + sup.id, { token: tk, json: { name: 'SUPPORT/NESTED' } });
    t.is(r.status, 409, 'renaming onto another label: 409');
    r = await emu.req('DELETE', L + '/' + sup.id, { token: tk });
    t.is(r.status, 204, 'labels.delete');
    r = await emu.req('GET', L + '/' + sup.id, { token: ro });
    t.is(r.status, 404, 'gone after delete');
    r = await emu.req('DELETE', L + '/INBOX', { token: tk });
    t.is(r.status, 400, 'system labels cannot be deleted');
  } finally { await emu.stop(); }
});
