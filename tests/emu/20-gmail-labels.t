#!/usr/bin/env node
// Gmail labels and profile: list, create, get, case-insensitive clash, errors;
// user label ids of Google's shape (Label_N) or opaque (POST /_emu/label-ids).
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

// Google documents label ids as opaque: with the style "opaque" new user
// labels get ids that are not Label_N, and every call that takes a label id
// (get, messages.list, modify, history) takes them as it takes Label_N.
async function opaqueIds(t, emu) {
  const U = 'ola@example.com', L = '/gmail/v1/users/me/labels';
  const tk = await emu.token(U, [SCOPES.modify]);
  let r = await emu.ctl('GET', 'label-ids');
  t.is(r.style, 'google', 'label ids: Google\'s shape by default');
  r = await emu.req('POST', '/_emu/label-ids', { json: { style: 'round' } });
  t.ok(r.status === 400 && /style: google or opaque/.test(r.json.error), 'an unknown style: 400');
  r = await emu.ctl('POST', 'label-ids', { style: 'opaque' });
  t.is(r.style, 'opaque', 'label ids: opaque from now on');
  const ids = [];
  for (let i = 0; i < 40; i++) {
    r = await emu.req('POST', L, { token: tk, json: { name: 'Team/' + i } });
    if (r.status !== 200) break;
    ids.push(r.json.id);
  }
  t.is(ids.length, 40, 'forty labels made');
  t.ok(ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9_-]{6,40}$/.test(id)), 'ids of 6 to 40 characters');
  t.ok(!ids.some((id) => /^Label_/.test(id)), 'none is Label_N');
  t.is(new Set(ids).size, ids.length, 'all different');
  t.ok(new Set(ids.map((id) => id.length)).size >= 5, 'of different lengths');
  t.ok(ids.some((id) => /^[a-z0-9]+$/.test(id) && /[a-z]/.test(id)), 'some lower case');
  t.ok(ids.some((id) => /[a-z]/.test(id) && /[A-Z]/.test(id)), 'some mixed case');
  t.ok(ids.some((id) => /[_-]/.test(id)), 'some with _ or -');
  r = await emu.req('GET', L, { token: tk });
  t.ok(ids.every((id) => r.json.labels.some((l) => l.id === id && l.type === 'user')), 'labels.list gives them');
  t.ok(r.json.labels.some((l) => l.id === 'INBOX' && l.type === 'system'), 'system labels keep their ids');
  const id = ids[0];
  r = await emu.req('GET', L + '/' + encodeURIComponent(id), { token: tk });
  t.ok(r.status === 200 && r.json.id === id && r.json.name === 'Team/0', 'labels.get by an opaque id');
  const m = await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()), labelIds: ['INBOX', id] });
  r = await emu.req('GET', '/gmail/v1/users/me/messages?labelIds=' + encodeURIComponent(id), { token: tk });
  t.ok(r.status === 200 && r.json.messages && r.json.messages.length === 1 && r.json.messages[0].id === m.id, 'messages.list by an opaque id');
  const h0 = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json.historyId;
  r = await emu.req('POST', '/gmail/v1/users/me/messages/' + m.id + '/modify', { token: tk, json: { addLabelIds: [ids[1]], removeLabelIds: [id] } });
  t.ok(r.status === 200 && r.json.labelIds.includes(ids[1]) && !r.json.labelIds.includes(id), 'modify with opaque ids');
  r = await emu.req('GET', '/gmail/v1/users/me/history?historyTypes=labelAdded&historyTypes=labelRemoved&startHistoryId=' + h0, { token: tk });
  const recs = (r.json.history || []).flatMap((h) => (h.labelsAdded || []).concat(h.labelsRemoved || []));
  t.ok(recs.some((x) => x.labelIds.includes(ids[1])) && recs.some((x) => x.labelIds.includes(id)), 'history names the opaque ids');
  r = await emu.req('POST', L, { token: tk, json: { name: 'team/0' } });
  t.is(r.status, 409, 'names still clash without regard to case');
  r = await emu.ctl('POST', 'label-ids', { style: 'google' });
  r = await emu.req('POST', L, { token: tk, json: { name: 'Back' } });
  t.ok(r.status === 200 && /^Label_\d+$/.test(r.json.id), 'back to Label_N');
}

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
    await opaqueIds(t, emu);
  } finally { await emu.stop(); }
});
