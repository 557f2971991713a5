#!/usr/bin/env node
// Tokens killed before their expiry: one account's grant (revoke-grant), all
// of a user's tokens (revoke-user), and domain-wide delegation taken away
// (revoke-delegation). Access tokens answer 401 at once; refresh tokens
// invalid_grant; jwt-bearer mints again unless delegation is gone.
'use strict';
const crypto = require('crypto');
const { start, SCOPES, main } = require('./lib/emu');

function jwt(key, claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = enc({ alg: 'RS256', typ: 'JWT' }) + '.' + enc(claims);
  return data + '.' + crypto.sign('RSA-SHA256', Buffer.from(data), key).toString('base64url');
}

main(async (t) => {
  const emu = await start(['--quota', 'off']);
  try {
    const U = 'kim@example.com';
    await emu.ctl('POST', 'users', { email: U });
    const ca = (await emu.ctl('POST', 'clients', {})).installed;
    const cb = (await emu.ctl('POST', 'clients', {})).installed;
    const grant = (c) => emu.ctl('POST', 'tokens', { email: U, scopes: [SCOPES.readonly], refresh: true, client_id: c.client_id });
    const ga = await grant(ca), gb = await grant(cb);
    const profile = (tok) => emu.req('GET', '/gmail/v1/users/me/profile', { token: tok });
    const refresh = (g) => emu.req('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: g.refresh_token, client_id: g.client_id, client_secret: g.client_secret } });
    const sa = await emu.ctl('POST', 'service-accounts', { domain: 'example.com' });
    const mint = async () => {
      const now = (await emu.ctl('GET', 'clock')).epoch_ms / 1000 | 0;
      return emu.req('POST', '/token', { form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwt(sa.private_key, { iss: sa.client_email, sub: U, scope: SCOPES.readonly, aud: 'https://oauth2.googleapis.com/token', iat: now, exp: now + 3600 }) } });
    };
    let r = await mint();
    const saTok = r.json.access_token;
    t.ok(r.status === 200 && (await profile(saTok)).status === 200, 'a delegated token works');

    // one account's grant
    r = await emu.ctl('POST', 'revoke-grant', { email: U, client_id: ca.client_id });
    t.isDeeply(r, { grants: 1, access_tokens: 1 }, 'revoke-grant with client_id ends that grant and its access token');
    r = await profile(ga.access_token);
    t.is(r.status, 401, 'its access token answers 401 at once, long before expiry');
    t.ok(r.json.error.errors[0].reason === 'authError' && r.json.error.message.startsWith('Request had invalid authentication credentials.') &&
      /invalid_token/.test(r.headers['www-authenticate']), 'with Google\'s 401 body and WWW-Authenticate');
    r = await refresh(ga);
    t.isDeeply([r.status, r.json], [400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }], 'its refresh token: invalid_grant "Token has been expired or revoked."');
    t.is((await profile(gb.access_token)).status, 200, 'the grant to another client lives on');
    t.is((await refresh(gb)).status, 200, 'and refreshes');
    r = await emu.req('POST', '/tokeninfo', { form: { access_token: ga.access_token } });
    t.ok(r.status === 400 && r.json.error === 'invalid_token', 'tokeninfo no longer knows the killed token');

    // every grant of the user, delegation untouched
    r = await emu.ctl('POST', 'revoke-grant', { email: U });
    t.ok(r.grants === 1 && r.access_tokens >= 2, 'revoke-grant without client_id ends every grant of the user');
    t.is((await profile(gb.access_token)).status, 401, 'the other client\'s access token: 401');
    t.is((await refresh(gb)).json.error, 'invalid_grant', 'its refresh token: invalid_grant');
    t.is((await profile(saTok)).status, 200, 'a token minted by delegation survives revoke-grant');

    // every token of the user; delegation still holds, so jwt-bearer mints again
    r = await emu.ctl('POST', 'revoke-user', { email: U });
    t.ok(r.revoked >= 1, 'revoke-user');
    t.is((await profile(saTok)).status, 401, 'revoke-user kills the delegated token too');
    r = await mint();
    t.ok(r.status === 200 && (await profile(r.json.access_token)).status === 200, 'jwt-bearer mints a new token that works: the delegation still holds');
    const saTok2 = r.json.access_token;

    // delegation removed by the admin
    r = await emu.ctl('POST', 'revoke-delegation', { domain: 'example.com' });
    t.is(r.service_accounts, 1, 'revoke-delegation names the service accounts it touched');
    r = await mint();
    t.isDeeply([r.status, r.json], [401, { error: 'unauthorized_client',
      error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.' }],
    'jwt-bearer then answers 401 unauthorized_client');
    t.is((await profile(saTok2)).status, 200, 'a token already minted lives on (a delegation change takes time)');
    r = await emu.ctl('POST', 'revoke-delegation', { domain: 'example.com', tokens: true });
    t.ok(r.access_tokens === 1 && (await profile(saTok2)).status === 401, '"tokens":true kills the delegated tokens too');
    await emu.ctl('POST', 'revoke-delegation', { domain: 'example.com', restore: true });
    t.is((await mint()).status, 200, '"restore":true gives delegation back');

    r = await emu.req('POST', '/_emu/revoke-grant', { json: { email: U, client_id: 'nope' } });
    t.is(r.status, 400, 'revoke-grant: an unknown client is a 400');
    r = await emu.req('POST', '/_emu/revoke-delegation', { json: { domain: 'nowhere.example' } });
    t.is(r.status, 400, 'revoke-delegation: a domain no service account serves is a 400');
  } finally { await emu.stop(); }
});
