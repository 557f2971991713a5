#!/usr/bin/env node
// history.list: records after startHistoryId, random gaps, historyTypes,
// labelId, paging, and 404 for a cursor that expired (control API or age).
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

main(async (t) => {
  const emu = await start(['--quota', 'off', '--history-retention', '86400']);
  try {
    const U = 'hal@example.com';
    const tk = await emu.token(U, [SCOPES.modify]);
    const H = '/gmail/v1/users/me/history';
    const start0 = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json.historyId;

    let r = await emu.req('GET', H + '?startHistoryId=' + start0, { token: tk });
    t.isDeeply(r.json, { historyId: start0 }, 'nothing new: only historyId, no history field');

    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 's' + i })) })).id);
    await emu.req('POST', '/gmail/v1/users/me/messages/' + ids[0] + '/modify', { token: tk, json: { addLabelIds: ['STARRED'] } });
    await emu.req('POST', '/gmail/v1/users/me/messages/' + ids[1] + '/modify', { token: tk, json: { removeLabelIds: ['UNREAD'] } });
    await emu.req('POST', '/gmail/v1/users/me/messages/' + ids[1] + '/modify', { token: tk, json: { removeLabelIds: ['UNREAD'] } });  // no-op

    r = await emu.req('GET', H + '?startHistoryId=' + start0, { token: tk });
    const hist = r.json.history;
    t.is(hist.length, 8, 'six adds and two label changes (a no-op leaves no record)');
    const hids = hist.map((h) => Number(h.id));
    t.ok(hids.every((x, i) => i === 0 || x > hids[i - 1]), 'ids increase');
    t.ok(hids.some((x, i) => i > 0 && x - hids[i - 1] > 1), 'with gaps between them');
    t.ok(Number(r.json.historyId) >= hids[hids.length - 1], 'historyId is the mailbox\'s current one');
    t.isDeeply(hist[0].messagesAdded[0].message.id, ids[0], 'messagesAdded names the message');
    t.isDeeply(hist[0].messagesAdded[0].message.labelIds, ['INBOX', 'UNREAD'], 'with its labels');
    t.isDeeply(hist[6].labelsAdded[0], { message: { id: ids[0], threadId: ids[0], labelIds: ['INBOX', 'UNREAD', 'STARRED'] }, labelIds: ['STARRED'] }, 'labelsAdded record');
    t.isDeeply(hist[7].labelsRemoved[0].labelIds, ['UNREAD'], 'labelsRemoved record');

    r = await emu.req('GET', H + '?startHistoryId=' + hist[5].id, { token: tk });
    t.is(r.json.history.length, 2, 'only records after startHistoryId');
    r = await emu.req('GET', H + '?startHistoryId=' + start0 + '&historyTypes=labelAdded&historyTypes=labelRemoved', { token: tk });
    t.isDeeply(r.json.history.map((h) => Object.keys(h).filter((k) => k !== 'id' && k !== 'messages')[0]), ['labelsAdded', 'labelsRemoved'], 'historyTypes filters');
    r = await emu.req('GET', H + '?startHistoryId=' + start0 + '&labelId=STARRED', { token: tk });
    t.is(r.json.history.length, 1, 'labelId filters');
    r = await emu.req('GET', H + '?startHistoryId=' + start0 + '&historyTypes=bogus', { token: tk });
    t.is(r.status, 400, 'unknown historyType: 400');

    // paging
    const got = [];
    let pt = null, n = 0;
    do {
      r = await emu.req('GET', H + '?startHistoryId=' + start0 + '&maxResults=3' + (pt ? '&pageToken=' + pt : ''), { token: tk });
      got.push(...(r.json.history || []).map((h) => h.id)); pt = r.json.nextPageToken; n++;
    } while (pt && n < 10);
    t.isDeeply(got, hist.map((h) => h.id), 'pages of 3 cover every record once');
    t.is(n, 3, 'in three pages');

    r = await emu.req('GET', H, { token: tk });
    t.is(r.status, 400, 'startHistoryId is required');
    r = await emu.req('GET', H + '?startHistoryId=1', { token: tk });
    t.isDeeply([r.status, r.json.error.errors[0].reason, r.json.error.message], [404, 'notFound', 'Requested entity was not found.'], 'a cursor older than the mailbox: 404 notFound');

    // messages.delete leaves a messageDeleted record (needs mail.google.com)
    const full = await emu.token(U, [SCOPES.mail]);
    const cur = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json.historyId;
    r = await emu.req('DELETE', '/gmail/v1/users/me/messages/' + ids[5], { token: tk });
    t.is(r.status, 403, 'delete needs https://mail.google.com/');
    await emu.req('DELETE', '/gmail/v1/users/me/messages/' + ids[5], { token: full });
    r = await emu.req('GET', H + '?startHistoryId=' + cur, { token: tk });
    t.is(r.json.history[0].messagesDeleted[0].message.id, ids[5], 'messageDeleted record');

    // expiry through the control API
    const now = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk })).json.historyId;
    await emu.ctl('POST', 'expire-history', { email: U });
    r = await emu.req('GET', H + '?startHistoryId=' + start0, { token: tk });
    t.is(r.status, 404, 'after expire-history an older cursor answers 404');
    r = await emu.req('GET', H + '?startHistoryId=' + now, { token: tk });
    t.is(r.status, 200, 'the current historyId (what a full sync stores) still works');

    // expiry by age: retention is one day here
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    await emu.ctl('POST', 'clock', { advance: 2 * 86400 });
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message()) });
    r = await emu.req('GET', H + '?startHistoryId=' + now, { token: await emu.token(U, [SCOPES.readonly]) });
    t.is(r.status, 404, 'records older than the retention expire, and the cursor before them answers 404');
  } finally { await emu.stop(); }
});
