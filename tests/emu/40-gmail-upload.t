#!/usr/bin/env node
// messages.insert and messages.import: JSON raw, uploadType=media, multipart,
// resumable; labels, internalDateSource, import dedup by Message-ID, spam,
// the 50 MiB limit and the errors.
'use strict';
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

function related(meta, raw, boundary = 'xyzzy') {
  return Buffer.concat([Buffer.from('--' + boundary + '\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n' + JSON.stringify(meta) +
    '\r\n--' + boundary + '\r\nContent-Type: message/rfc822\r\n\r\n'), raw, Buffer.from('\r\n--' + boundary + '--\r\n')]);
}

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'ivy@example.com';
    const tk = await emu.token(U, [SCOPES.insert, SCOPES.labels]);
    const rd = await emu.token(U, [SCOPES.readonly]);
    const lab = (await emu.req('POST', '/gmail/v1/users/me/labels', { token: tk, json: { name: 'Team' } })).json.id;
    const box = async () => emu.ctl('GET', 'mailbox/' + U);
    const UP = '/upload/gmail/v1/users/me/messages';

    // JSON raw form
    const m1 = message({ messageId: '<one@x.example>', date: 'Tue, 02 Jan 2024 03:04:05 +0000' });
    let r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(m1), labelIds: ['INBOX', lab] } });
    t.ok(r.status === 200 && /^[0-9a-f]{16}$/.test(r.json.id) && r.json.threadId, 'insert (JSON raw): an id and a threadId');
    t.isDeeply(r.json.labelIds, ['INBOX', lab], 'insert keeps the labels given');
    let g = await emu.req('GET', '/gmail/v1/users/me/messages/' + r.json.id + '?format=minimal', { token: rd });
    t.ok(Math.abs(Number(g.json.internalDate) - Date.now()) < 60000, 'insert: internalDate is the receive time by default');
    r = await emu.req('POST', '/gmail/v1/users/me/messages?internalDateSource=dateHeader', { token: tk, json: { raw: b64u(message({ date: 'Tue, 02 Jan 2024 03:04:05 +0000' })) } });
    g = await emu.req('GET', '/gmail/v1/users/me/messages/' + r.json.id + '?format=minimal', { token: rd });
    t.is(g.json.internalDate, String(Date.UTC(2024, 0, 2, 3, 4, 5)), 'internalDateSource=dateHeader uses the Date header');
    t.is(r.json.labelIds, undefined, 'insert without labels: no labels');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { labelIds: ['INBOX'] } });
    t.ok(r.status === 400 && /'raw' RFC822 payload message string/.test(r.json.error.message), 'no raw: Google\'s 400');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(message()), labelIds: ['Label_404'] } });
    t.ok(r.status === 400 && /Invalid label: Label_404/.test(r.json.error.message), 'an unknown label: 400 Invalid label');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: rd, json: { raw: b64u(message()) } });
    t.is(r.status, 403, 'insert needs gmail.insert');

    // uploadType=media
    const m2 = message({ messageId: '<two@x.example>' });
    r = await emu.req('POST', UP + '?uploadType=media', { token: tk, body: m2, headers: { 'content-type': 'message/rfc822' } });
    t.ok(r.status === 200 && r.json.id, 'insert uploadType=media');
    t.ok((await box()).some((m) => m.id === r.json.id && Buffer.from(m.raw, 'base64url').equals(m2)), 'media bytes stored exactly');
    r = await emu.req('POST', UP + '?uploadType=media', { token: tk, body: m2, headers: { 'content-type': 'text/plain' } });
    t.ok(r.status === 400 && /Media type 'text\/plain' is not supported/.test(r.json.error.message), 'media of the wrong type: 400');
    r = await emu.req('POST', UP, { token: tk, body: m2, headers: { 'content-type': 'message/rfc822' } });
    t.ok(r.status === 400 && /uploadType/.test(r.json.error.message), 'upload without uploadType: 400');

    // multipart/related
    const m3 = message({ messageId: '<three@x.example>', date: 'Wed, 03 Jan 2024 00:00:00 +0000' });
    r = await emu.req('POST', UP + '/import?uploadType=multipart', { token: tk, body: related({ labelIds: ['INBOX', 'UNREAD', lab] }, m3), headers: { 'content-type': 'multipart/related; boundary=xyzzy' } });
    t.ok(r.status === 200 && r.json.labelIds.includes(lab), 'import uploadType=multipart with labels in the metadata part');
    const imported = r.json.id;
    g = await emu.req('GET', '/gmail/v1/users/me/messages/' + imported + '?format=raw', { token: rd });
    t.ok(Buffer.from(g.json.raw, 'base64url').equals(m3), 'multipart media stored exactly');
    t.is(g.json.internalDate, String(Date.UTC(2024, 0, 3)), 'import: internalDate from the Date header by default');
    r = await emu.req('POST', UP + '/import?uploadType=multipart', { token: tk, body: 'garbage', headers: { 'content-type': 'multipart/related; boundary=xyzzy' } });
    t.is(r.status, 400, 'a broken multipart body: 400');

    // import dedup by Message-ID, labels merged
    const before = (await box()).length;
    r = await emu.req('POST', UP + '/import?uploadType=multipart', { token: tk, body: related({ labelIds: ['STARRED'] }, m3), headers: { 'content-type': 'multipart/related; boundary=xyzzy' } });
    t.is(r.json.id, imported, 'import of a Message-ID already held answers the existing message');
    t.is((await box()).length, before, 'no second copy');
    t.ok(r.json.labelIds.includes('STARRED') && r.json.labelIds.includes(lab), 'labels merged');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(m3) } });
    t.ok(r.json.id !== imported && (await box()).length === before + 1, 'insert does not deduplicate');

    // spam verdict on import
    const spam = message({ headers: { 'X-Spam-Flag': 'YES' } });
    r = await emu.req('POST', '/gmail/v1/users/me/messages/import', { token: tk, json: { raw: b64u(spam), labelIds: ['INBOX'] } });
    t.isDeeply(r.json.labelIds, ['SPAM'], 'import of spam lands in SPAM');
    r = await emu.req('POST', '/gmail/v1/users/me/messages/import?neverMarkSpam=true', { token: tk, json: { raw: b64u(message({ headers: { 'X-Spam-Flag': 'YES' } })), labelIds: ['INBOX'] } });
    t.isDeeply(r.json.labelIds, ['INBOX'], 'neverMarkSpam keeps it out of SPAM');

    // resumable
    const m4 = message({ messageId: '<four@x.example>', body: 'x'.repeat(5000) });
    r = await emu.req('POST', UP + '?uploadType=resumable', { token: tk, json: { labelIds: [lab] }, headers: { 'x-upload-content-type': 'message/rfc822', 'x-upload-content-length': String(m4.length) } });
    t.ok(r.status === 200 && /upload_id=/.test(r.headers.location), 'resumable: a session URL in Location');
    const sess = new URL(r.headers.location);
    const p = sess.pathname + sess.search;
    r = await emu.req('PUT', p, { token: tk, body: m4.subarray(0, 2000), headers: { 'content-range': 'bytes 0-1999/' + m4.length } });
    t.ok(r.status === 308 && r.headers.range === 'bytes=0-1999', 'a partial chunk: 308 with Range');
    r = await emu.req('PUT', p, { token: tk, body: m4.subarray(2000), headers: { 'content-range': 'bytes 2000-' + (m4.length - 1) + '/' + m4.length } });
    t.ok(r.status === 200 && r.json.labelIds.includes(lab), 'the last chunk creates the message');
    g = await emu.req('GET', '/gmail/v1/users/me/messages/' + r.json.id + '?format=raw', { token: rd });
    t.ok(Buffer.from(g.json.raw, 'base64url').equals(m4), 'resumable bytes stored exactly');

    // threading by References
    const a = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(message({ messageId: '<t1@x.example>' })) } });
    const b = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk, json: { raw: b64u(message({ messageId: '<t2@x.example>', headers: { 'In-Reply-To': '<t1@x.example>', References: '<t1@x.example>' } })) } });
    t.ok(a.json.threadId === b.json.threadId && a.json.id !== b.json.id, 'a reply joins its thread');

    // 50 MiB limit
    const big = Buffer.alloc(52428801, 0x61);
    big.write('Subject: big\r\n\r\n');
    r = await emu.req('POST', UP + '?uploadType=media', { token: tk, body: big, headers: { 'content-type': 'message/rfc822' } });
    t.ok(r.status === 413 && /52428800/.test(r.json.error.message), 'over 50 MiB: 413');
  } finally { await emu.stop(); }
});
