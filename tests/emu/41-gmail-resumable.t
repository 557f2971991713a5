#!/usr/bin/env node
// Resumable uploads as Google's upload guide describes them: the session,
// chunks and 308 with Range, the status query, the bytes kept when a reset
// breaks a PUT, the week a session lives, the 50 MiB limit, and the
// /_emu/stats counters that tell a resume from a restart.
'use strict';
const { start, SCOPES, message, main } = require('./lib/emu');

const KiB = 1024, MiB = 1024 * 1024;

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'rex@example.com';
    let tk = await emu.token(U, [SCOPES.insert, SCOPES.labels]);
    const rd = await emu.token(U, [SCOPES.readonly]);
    const lab = (await emu.req('POST', '/gmail/v1/users/me/labels', { token: tk, json: { name: 'Team' } })).json.id;
    const UP = '/upload/gmail/v1/users/me/messages/import';
    const open = async (len, meta, extra = '') => {
      const r = await emu.req('POST', UP + '?uploadType=resumable&internalDateSource=dateHeader' + extra, { token: tk, json: meta,
        headers: { 'x-upload-content-type': 'message/rfc822', 'x-upload-content-length': String(len) } });
      if (r.status !== 200) return r;
      const u = new URL(r.headers.location);
      return Object.assign(r, { session: u.pathname + u.search, url: u });
    };
    const put = (p, body, range) => emu.req('PUT', p, { token: tk, body, headers: range ? { 'content-range': range } : {} });
    const status = (p, total) => put(p, Buffer.alloc(0), 'bytes */' + total);
    const stats = async () => (await emu.ctl('GET', 'stats')).resumable;
    await emu.req('DELETE', '/_emu/stats');

    // The whole message in one PUT, labels from the initiation's metadata.
    const m1 = message({ messageId: '<r1@x.example>', date: 'Tue, 02 Jan 2024 03:04:05 +0000', body: 'a'.repeat(3 * MiB) });
    let s = await open(m1.length, { labelIds: ['INBOX', lab] });
    t.ok(s.status === 200 && s.url.origin === emu.url && /uploadType=resumable/.test(s.session) && /upload_id=/.test(s.session),
      'initiation: 200 with the session URI on the same origin in Location');
    let r = await status(s.session, m1.length);
    t.ok(r.status === 308 && r.headers.range === undefined, 'status query before any byte: 308 without Range');
    r = await put(s.session, m1);
    t.ok(r.status === 200 && r.json.labelIds.includes(lab) && r.json.labelIds.includes('INBOX'), 'one PUT of the whole message: 200 with the labels given at initiation');
    const id1 = r.json.id;
    let g = await emu.req('GET', '/gmail/v1/users/me/messages/' + id1 + '?format=raw', { token: rd });
    t.ok(Buffer.from(g.json.raw, 'base64url').equals(m1), 'stored byte for byte');
    t.is(g.json.internalDate, String(Date.UTC(2024, 0, 2, 3, 4, 5)), 'the query of the initiation (internalDateSource) applies');
    r = await status(s.session, m1.length);
    t.ok(r.status === 200 && r.json.id === id1, 'status query of a finished session: the final answer again');

    // Chunks, a status query in between, and an overlap.
    const m2 = message({ messageId: '<r2@x.example>', body: 'b'.repeat(700 * KiB) });
    s = await open(m2.length, { labelIds: [lab] });
    r = await put(s.session, m2.subarray(0, 256 * KiB), 'bytes 0-' + (256 * KiB - 1) + '/' + m2.length);
    t.ok(r.status === 308 && r.headers.range === 'bytes=0-' + (256 * KiB - 1), 'a chunk: 308 with Range: bytes=0-N');
    r = await status(s.session, m2.length);
    t.ok(r.status === 308 && r.headers.range === 'bytes=0-' + (256 * KiB - 1), 'status query: 308 with what was received');
    r = await put(s.session, m2.subarray(512 * KiB), 'bytes ' + 512 * KiB + '-' + (m2.length - 1) + '/' + m2.length);
    t.ok(r.status === 400 && /exceeds already uploaded size/.test(r.json.error.message), 'a chunk past the bytes received: 400');
    r = await put(s.session, m2.subarray(128 * KiB), 'bytes ' + 128 * KiB + '-' + (m2.length - 1) + '/' + m2.length);
    t.ok(r.status === 200, 'a chunk overlapping what was received: the overlap is not taken twice');
    g = await emu.req('GET', '/gmail/v1/users/me/messages/' + r.json.id + '?format=raw', { token: rd });
    t.ok(Buffer.from(g.json.raw, 'base64url').equals(m2), 'chunked bytes stored exactly');
    r = await put(s.session, Buffer.from('xyz'), 'bytes 0-9/' + m2.length);
    t.is(r.status, 200, 'a PUT to a finished session: the final answer');

    // A reset while the body came: the session keeps a prefix.
    await emu.req('DELETE', '/_emu/stats');
    const m3 = message({ messageId: '<r3@x.example>', body: 'c'.repeat(6 * MiB) });
    s = await open(m3.length, { labelIds: ['INBOX', lab] });
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['reset'], verbs: ['PUT'], count: 1 });
    let err = null;
    try { await put(s.session, m3); } catch (e) { err = e; }
    t.ok(err !== null, 'a reset fault on the PUT: no answer');
    const kept = Math.floor(m3.length / 2 / (256 * KiB)) * 256 * KiB;
    r = await status(s.session, m3.length);
    t.ok(r.status === 308 && r.headers.range === 'bytes=0-' + (kept - 1), 'status query: Google kept the largest multiple of 256 KiB below half the body');
    r = await put(s.session, m3.subarray(kept), 'bytes ' + kept + '-' + (m3.length - 1) + '/' + m3.length);
    t.ok(r.status === 200 && r.json.labelIds.includes(lab), 'the rest from the acknowledged offset finishes it');
    g = await emu.req('GET', '/gmail/v1/users/me/messages/' + r.json.id + '?format=raw', { token: rd });
    t.ok(Buffer.from(g.json.raw, 'base64url').equals(m3), 'resumed bytes stored exactly');
    let st = await stats();
    t.ok(st.sessions === 1 && st.interrupted === 1 && st.resumed === 1 && st.completed === 1 && st.status_queries === 1,
      'stats: one session, interrupted once, resumed once, completed');
    t.is(st.bytes, m3.length + (m3.length - kept), 'stats: bytes received count the broken PUT and the rest, not twice the message');
    t.is(st.kept, m3.length, 'stats: bytes kept add up to the message');

    // A 503 keeps nothing; a truncated answer to the last PUT leaves the
    // message made, and the status query hands back its answer.
    const m5 = message({ messageId: '<r5@x.example>', body: 'e'.repeat(600 * KiB) });
    s = await open(m5.length, { labelIds: [lab] });
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['503'], verbs: ['PUT'], count: 1 });
    r = await put(s.session, m5);
    t.is(r.status, 503, 'a 503 fault on the PUT');
    r = await status(s.session, m5.length);
    t.ok(r.status === 308 && r.headers.range === undefined, 'a 503 kept nothing');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['truncate'], verbs: ['PUT'], count: 1 });
    err = null;
    try { r = await put(s.session, m5); if (r.json === undefined) err = 'truncated'; } catch (e) { err = e; }
    t.ok(err !== null, 'a truncate fault on the last PUT: the answer is lost');
    r = await status(s.session, m5.length);
    t.ok(r.status === 200 && r.json.labelIds.includes(lab), 'the status query hands back the message made');
    const n5 = (await emu.ctl('GET', 'mailbox/' + U)).filter((m) => Buffer.from(m.raw, 'base64url').equals(m5)).length;
    t.is(n5, 1, 'one copy');
    await emu.ctl('POST', 'faults', { rate: 0 });

    // A session's life and the upload limit can be cut for tests.
    let lim = await emu.ctl('POST', 'limits', { session_ttl_s: 1, upload_max: 1000 });
    t.isDeeply(lim, { upload_max: 1000, session_ttl_s: 1 }, '/_emu/limits sets both');
    r = await open(1001, { labelIds: [lab] });
    t.ok(r.status === 413 && /limit: 1000 bytes/.test(r.json.error.message), 'a lowered limit: 413 naming it');
    s = await open(10, { labelIds: [lab] });
    await emu.ctl('POST', 'clock', { advance: 2 });
    r = await status(s.session, 10);
    t.is(r.status, 404, 'a session past its cut life: 404');
    lim = await emu.ctl('POST', 'limits', { session_ttl_s: 0, upload_max: 0 });
    t.isDeeply(lim, { upload_max: 52428800, session_ttl_s: 604800 }, '0 restores Google\'s limits');
    r = await emu.req('POST', '/_emu/limits', { json: { upload_max: 52428801 } });
    t.is(r.status, 400, 'a limit above Google\'s is refused');

    // The session lives a week.
    await emu.req('DELETE', '/_emu/stats');
    s = await open(m2.length, { labelIds: [lab] });
    await emu.ctl('POST', 'clock', { advance: 7 * 86400 + 1 });
    tk = await emu.token(U, [SCOPES.insert, SCOPES.labels]);
    r = await status(s.session, m2.length);
    t.is(r.status, 404, 'a session older than a week: 404');
    st = await stats();
    t.is(st.expired, 1, 'stats: expired');
    r = await put('/upload/gmail/v1/users/me/messages/import?uploadType=resumable&upload_id=nosuch', m2);
    t.is(r.status, 404, 'an unknown session: 404');

    // The 50 MiB limit, at initiation and on the bytes.
    r = await open(52428801, { labelIds: [lab] });
    t.ok(r.status === 413 && /52428800/.test(r.json.error.message), 'X-Upload-Content-Length over 50 MiB: 413 at initiation');
    s = await open(1000, { labelIds: [lab] });
    r = await put(s.session, Buffer.alloc(10), 'bytes 0-9/52428801');
    t.is(r.status, 413, 'a Content-Range total over 50 MiB: 413');
    s = await emu.req('POST', UP + '?uploadType=resumable', { token: tk, json: {} });
    const big = new URL(s.headers.location);
    r = await put(big.pathname + big.search, Buffer.alloc(52428801, 0x61));
    t.is(r.status, 413, 'more than 50 MiB of bytes in a session: 413');
    r = await put(big.pathname + big.search, Buffer.alloc(0), 'bytes */1');
    t.is(r.status, 404, 'a session refused for its size is gone');
  } finally { await emu.stop(); }
});
