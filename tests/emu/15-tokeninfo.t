#!/usr/bin/env node
// tokeninfo as documented: the token as the access_token parameter, in the
// query string or a form body; a bearer header alone is no token unless the
// tokeninfo_header quirk says so (POST /_emu/quirks).
'use strict';
const { start, SCOPES, main } = require('./lib/emu');

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'ti@example.com';
    const tk = await emu.token(U, [SCOPES.readonly]);
    const good = (r, how) => t.ok(r.status === 200 && r.json.email === U && r.json.scope === SCOPES.readonly, how);
    const none = { error: 'invalid_request', error_description: 'Either access_token, id_token, or token_handle required' };

    t.isDeeply(await emu.ctl('GET', 'quirks'), { tokeninfo_header: false }, 'GET /_emu/quirks: strict tokeninfo by default');
    good(await emu.req('GET', '/tokeninfo?access_token=' + tk), 'GET with ?access_token=');
    good(await emu.req('POST', '/tokeninfo?access_token=' + tk), 'POST with ?access_token=');
    good(await emu.req('POST', '/tokeninfo', { form: { access_token: tk } }), 'POST with access_token in a form-urlencoded body');
    good(await emu.req('POST', '/oauth2/v3/tokeninfo', { form: { access_token: tk } }), 'the v3 path too');

    let r = await emu.req('POST', '/tokeninfo', { token: tk, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    t.isDeeply([r.status, r.json], [400, none], 'a bearer header alone: 400 as a call without a token');
    r = await emu.req('GET', '/tokeninfo', { token: tk });
    t.isDeeply([r.status, r.json], [400, none], 'GET with a bearer header alone: the same');
    r = await emu.req('GET', '/tokeninfo');
    t.isDeeply([r.status, r.json], [400, none], 'no token at all: the same');
    r = await emu.req('GET', '/tokeninfo?access_token=ya29.nonsense');
    t.isDeeply([r.status, r.json], [400, { error: 'invalid_token', error_description: 'Invalid Value' }], 'an unknown token: invalid_token "Invalid Value"');

    t.isDeeply(await emu.ctl('POST', 'quirks', { tokeninfo_header: true }), { tokeninfo_header: true }, 'POST /_emu/quirks {"tokeninfo_header":true}');
    good(await emu.req('POST', '/tokeninfo', { token: tk }), 'then a bearer header alone is read');
    good(await emu.req('GET', '/tokeninfo?access_token=' + tk, { token: 'ya29.other' }), 'and the parameter still wins over the header');
    await emu.ctl('POST', 'quirks', { tokeninfo_header: false });
    t.is((await emu.req('POST', '/tokeninfo', { token: tk })).status, 400, 'turned off again: strict');

    r = await emu.req('POST', '/_emu/quirks', { json: { nope: true } });
    t.ok(r.status === 400 && /unknown quirk nope/.test(r.json.error), 'an unknown quirk is a 400');
    r = await emu.req('POST', '/_emu/quirks', { json: { tokeninfo_header: 'yes' } });
    t.ok(r.status === 400 && (await emu.ctl('GET', 'quirks')).tokeninfo_header === false, 'a bad value is a 400 and changes nothing');
  } finally { await emu.stop(); }
});
