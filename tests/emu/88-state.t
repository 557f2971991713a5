#!/usr/bin/env node
// --state DIR: mailboxes, labels, history, tokens and the CA survive a restart,
// including a kill -9 straight after a 2xx.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { start, SCOPES, message, b64u, main } = require('./lib/emu');

main(async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-state-'));
  try {
    let emu = await start(['--state', dir, '--quota', 'off']);
    const U = 'sam@example.com';
    await emu.ctl('POST', 'users', { email: U });
    const file = await emu.ctl('POST', 'clients', {});
    const tk = await emu.ctl('POST', 'tokens', { email: U, scopes: [SCOPES.modify], refresh: true, client_id: file.installed.client_id });
    const lab = (await emu.req('POST', '/gmail/v1/users/me/labels', { token: tk.access_token, json: { name: 'Kept' } })).json.id;
    const d = await emu.ctl('POST', 'deliver', { email: U, raw: b64u(message({ messageId: '<keep@x.example>' })), labelIds: ['INBOX', lab] });
    const cursor = (await emu.req('GET', '/gmail/v1/users/me/profile', { token: tk.access_token })).json.historyId;
    await emu.req('POST', '/gmail/v1/users/me/messages/' + d.id + '/modify', { token: tk.access_token, json: { addLabelIds: ['STARRED'] } });
    const ca = emu.caPath, before = await emu.ctl('GET', 'mailbox/' + U);
    t.ok(fs.statSync(dir).mode % 512 === 0o700, 'state directory is 0700');
    await emu.stop();

    emu = await start(['--state', dir, '--quota', 'off']);
    t.is(emu.caPath, ca, 'the same CA after a restart');
    t.isDeeply(await emu.ctl('GET', 'mailbox/' + U), before, 'the mailbox is back, byte for byte');
    let r = await emu.req('GET', '/gmail/v1/users/me/labels/' + lab, { token: tk.access_token });
    t.ok(r.status === 200 && r.json.name === 'Kept', 'labels and the access token survive');
    r = await emu.req('GET', '/gmail/v1/users/me/history?startHistoryId=' + cursor, { token: tk.access_token });
    t.ok(r.status === 200 && r.json.history.length === 1 && r.json.history[0].labelsAdded, 'history survives: the cursor still works');
    r = await emu.req('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: tk.refresh_token, client_id: tk.client_id, client_secret: tk.client_secret } });
    t.is(r.status, 200, 'refresh token and client survive');
    r = await emu.req('POST', '/gmail/v1/users/me/messages', { token: tk.access_token, json: { raw: b64u(message({ messageId: '<late@x.example>' })) } });
    const late = r.json.id;
    await emu.kill9();

    emu = await start(['--state', dir, '--quota', 'off']);
    r = await emu.req('GET', '/gmail/v1/users/me/messages/' + late + '?format=minimal', { token: tk.access_token });
    t.is(r.status, 200, 'a message answered 2xx just before kill -9 is kept');
    r = await emu.req('GET', '/gmail/v1/users/me/history?startHistoryId=' + cursor, { token: tk.access_token });
    t.ok(Number(r.json.historyId) > Number(cursor), 'history ids keep increasing across restarts');
    await emu.stop();
    t.ok(fs.existsSync(path.join(dir, 'state.json')), 'state left in place after the emulator stops');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
