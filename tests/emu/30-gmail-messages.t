#!/usr/bin/env node
// messages.list (paging, labelIds, includeSpamTrash, q), messages.get in each
// format, modify and batchModify.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'eve@example.com';
    const tk = await emu.token(U, [SCOPES.modify]);
    const meta = await emu.token(U, [SCOPES.metadata]);
    const day = (d) => Date.UTC(2024, 0, d, 20);   // 20:00 UTC = noon Pacific
    const ids = [];
    for (let i = 1; i <= 12; i++) {
      const r = await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'msg ' + i, messageId: '<m' + i + '@x.example>' })), internalDate: day(i) });
      ids.push(r.id);
    }
    await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ subject: 'junk', messageId: '<spam@x.example>' })), labelIds: ['SPAM'], internalDate: day(20) });
    const M = '/gmail/v1/users/me/messages';

    let r = await emu.req('GET', M, { token: tk });
    t.is(r.json.messages.length, 12, 'list hides SPAM by default');
    t.isDeeply(r.json.messages.map((m) => m.id), ids.slice().reverse(), 'newest first');
    t.isDeeply(Object.keys(r.json.messages[0]).sort(), ['id', 'threadId'], 'list items carry only id and threadId');
    r = await emu.req('GET', M + '?includeSpamTrash=true', { token: tk });
    t.is(r.json.messages.length, 13, 'includeSpamTrash shows it');

    // paging
    const seen = [];
    let pt = null, pages = 0;
    do {
      r = await emu.req('GET', M + '?maxResults=5' + (pt ? '&pageToken=' + pt : ''), { token: tk });
      seen.push(...r.json.messages.map((m) => m.id));
      pt = r.json.nextPageToken; pages++;
    } while (pt && pages < 10);
    t.is(pages, 3, 'three pages of at most 5');
    t.isDeeply(seen, ids.slice().reverse(), 'pages cover every message once, in order');
    r = await emu.req('GET', M + '?maxResults=2000', { token: tk });
    t.ok(r.status === 200 && r.json.messages.length === 12 && !r.json.nextPageToken, 'maxResults above 500 is clamped, not an error');
    r = await emu.req('GET', M + '?pageToken=bogus', { token: tk });
    t.is(r.status, 400, 'a bad pageToken: 400');
    r = await emu.req('GET', M + '?maxResults=abc', { token: tk });
    t.is(r.status, 400, 'a bad maxResults: 400');

    // labelIds AND and q forms
    await emu.req('POST', M + '/' + ids[0] + '/modify', { token: tk, json: { addLabelIds: ['STARRED'] } });
    r = await emu.req('GET', M + '?labelIds=INBOX&labelIds=STARRED', { token: tk });
    t.isDeeply(r.json.messages.map((m) => m.id), [ids[0]], 'labelIds are ANDed');
    const q = async (s) => { const x = await emu.req('GET', M + '?q=' + encodeURIComponent(s), { token: tk }); return (x.json.messages || []).map((m) => m.id); };
    t.isDeeply(await q('rfc822msgid:<m3@x.example>'), [ids[2]], 'q rfc822msgid: with brackets');
    t.isDeeply(await q('rfc822msgid:m4@x.example'), [ids[3]], 'q rfc822msgid: without brackets');
    t.isDeeply(await q('label:starred'), [ids[0]], 'q label:');
    t.isDeeply(await q('after:2024/01/10'), [ids[11], ids[10], ids[9]], 'q after: a date (Pacific midnight)');
    t.isDeeply(await q('before:2024/01/03'), [ids[1], ids[0]], 'q before: a date');
    t.isDeeply(await q('after:' + day(5) / 1000 + ' before:' + (day(7) / 1000)), [ids[5], ids[4]], 'q after:/before: epoch seconds');
    t.isDeeply(await q('subject:"msg 7"'), [ids[6]], 'q subject:');
    t.isDeeply(await q('rfc822msgid:<spam@x.example>'), [], 'q does not find spam');
    t.is((await q('in:anywhere rfc822msgid:<spam@x.example>')).length, 1, 'unless in:anywhere');
    t.is((await q('-label:starred')).length, 11, 'negation');
    t.isDeeply(await q('label:no-such-label'), [], 'an unknown label matches nothing');
    r = await emu.req('GET', M + '?q=label:inbox', { token: meta });
    t.ok(r.status === 403 && /Metadata scope/.test(r.json.error.message), 'q with gmail.metadata: 403');
    r = await emu.req('GET', M + '?q=rfc822msgid:nobody', { token: tk });
    t.isDeeply(r.json, { resultSizeEstimate: 0 }, 'no match: only resultSizeEstimate');

    // get in each format
    const G = M + '/' + ids[0];
    r = await emu.req('GET', G + '?format=raw', { token: tk });
    const want = message({ subject: 'msg 1', messageId: '<m1@x.example>' });
    t.ok(Buffer.from(r.json.raw, 'base64url').equals(want), 'raw round-trips the exact bytes, base64url');
    t.ok(r.json.id === ids[0] && r.json.threadId && r.json.labelIds.includes('STARRED') && r.json.sizeEstimate === want.length &&
      r.json.internalDate === String(day(1)) && /^\d+$/.test(r.json.historyId) && r.json.snippet === 'Hello there.' && r.json.payload === undefined, 'raw: id, labels, size, internalDate string, historyId, snippet, no payload');
    r = await emu.req('GET', G + '?format=metadata&metadataHeaders=Message-ID&metadataHeaders=subject', { token: meta });
    t.isDeeply(r.json.payload.headers, [{ name: 'Subject', value: 'msg 1' }, { name: 'Message-ID', value: '<m1@x.example>' }], 'metadata: only the headers asked for, in message order');
    t.ok(r.json.raw === undefined, 'metadata has no raw');
    r = await emu.req('GET', G + '?format=minimal', { token: tk });
    t.ok(r.json.payload === undefined && r.json.raw === undefined && r.json.labelIds && r.json.historyId, 'minimal: no payload, no raw');
    r = await emu.req('GET', G, { token: tk });
    t.ok(r.json.payload && r.json.payload.mimeType === 'text/plain' && Buffer.from(r.json.payload.body.data, 'base64url').toString() === 'Hello there.\r\n', 'default format full: parsed payload');
    r = await emu.req('GET', G + '?format=raw', { token: meta });
    t.ok(r.status === 403 && /Metadata scope/.test(r.json.error.message), 'raw with gmail.metadata: 403');
    r = await emu.req('GET', G + '?format=bogus', { token: tk });
    t.is(r.status, 400, 'unknown format: 400');
    r = await emu.req('GET', M + '/0123456789abcdef', { token: tk });
    t.isDeeply([r.status, r.json.error.errors[0].reason], [404, 'notFound'], 'absent id: 404 notFound');
    r = await emu.req('GET', M + '/not-an-id', { token: tk });
    t.is(r.status, 400, 'malformed id: 400');
    r = await emu.req('GET', G + '?format=raw&fields=id,raw', { token: tk });
    t.isDeeply(Object.keys(r.json), ['id', 'raw'], 'fields= on messages.get');

    // modify
    r = await emu.req('POST', G + '/modify', { token: tk, json: { addLabelIds: ['IMPORTANT'], removeLabelIds: ['UNREAD'] } });
    t.ok(r.status === 200 && r.json.labelIds.includes('IMPORTANT') && !r.json.labelIds.includes('UNREAD'), 'modify adds and removes');
    r = await emu.req('POST', G + '/modify', { token: tk, json: { addLabelIds: ['Label_77'] } });
    t.ok(r.status === 400 && /Invalid label/.test(r.json.error.message), 'modify with an unknown label: 400');
    const ro = await emu.token(U, [SCOPES.readonly]);
    r = await emu.req('POST', G + '/modify', { token: ro, json: { addLabelIds: ['STARRED'] } });
    t.is(r.status, 403, 'modify needs gmail.modify');

    // batchModify
    r = await emu.req('POST', M + '/batchModify', { token: tk, json: { ids: ids.slice(0, 5), addLabelIds: ['STARRED'] } });
    t.ok(r.status === 204 && r.body.length === 0, 'batchModify: 204, empty body');
    r = await emu.req('GET', M + '?labelIds=STARRED', { token: tk });
    t.is(r.json.messages.length, 5, 'batchModify applied to all');
    const many = Array.from({ length: 1001 }, (_, i) => (0x1000 + i).toString(16));
    r = await emu.req('POST', M + '/batchModify', { token: tk, json: { ids: many, addLabelIds: ['STARRED'] } });
    t.ok(r.status === 400 && r.json.error.status === 'INVALID_ARGUMENT', 'batchModify of 1001 ids: 400');
    r = await emu.req('POST', M + '/batchModify', { token: tk, json: { ids: many.slice(0, 1000), addLabelIds: ['STARRED'] } });
    t.is(r.status, 204, 'batchModify of 1000 ids is fine');

    // trash and untrash
    r = await emu.req('POST', M + '/' + ids[11] + '/trash', { token: tk });
    t.ok(r.status === 200 && r.json.labelIds.includes('TRASH'), 'trash adds TRASH');
    r = await emu.req('GET', M, { token: tk });
    t.ok(!r.json.messages.some((m) => m.id === ids[11]), 'trashed mail leaves the default list');
    r = await emu.req('POST', M + '/' + ids[11] + '/untrash', { token: tk });
    t.ok(r.status === 200 && !r.json.labelIds.includes('TRASH'), 'untrash');

    // a multipart message: full payload tree and attachments.get
    const mp = Buffer.from('From: a@x.example\r\nSubject: with file\r\nMessage-ID: <mp@x.example>\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n' +
      'Content-Type: application/octet-stream; name="f.bin"\r\nContent-Disposition: attachment; filename="f.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      Buffer.from('binary\x00data').toString('base64') + '\r\n--b1--\r\n');
    const mpid = (await emu.ctl('POST', 'deliver', { email: U, raw: b64u(mp) })).id;
    r = await emu.req('GET', M + '/' + mpid + '?format=full', { token: tk });
    const pl = r.json.payload;
    t.ok(pl.mimeType === 'multipart/mixed' && pl.parts.length === 2 && pl.parts[0].partId === '0' && pl.parts[1].filename === 'f.bin', 'full: the MIME tree with partIds and filenames');
    t.is(r.json.snippet, 'see attached', 'snippet from the first text part');
    const att = pl.parts[1].body;
    t.ok(att.attachmentId && att.size === 11 && att.data === undefined, 'an attachment part carries an attachmentId, not data');
    r = await emu.req('GET', M + '/' + mpid + '/attachments/' + att.attachmentId, { token: tk });
    t.ok(r.status === 200 && Buffer.from(r.json.data, 'base64url').toString('latin1') === 'binary\x00data', 'attachments.get answers the decoded bytes');

    // profile counts
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk });
    t.is(r.json.messagesTotal, 14, 'profile counts every message');

    // HTTP/2 and HTTP/1.1 both served
    r = await emu.req('GET', G + '?format=minimal', { token: tk, h2: true });
    t.ok(r.status === 200 && r.proto === 'h2' && r.json.id === ids[0], 'HTTP/2 works too');
  } finally { await emu.stop(); }
});
