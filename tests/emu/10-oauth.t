#!/usr/bin/env node
// OAuth: consent redirect, PKCE, refresh, revoke, expiry, jwt-bearer, scopes.
'use strict';
const crypto = require('crypto');
const { start, SCOPES, main } = require('./lib/emu');

function jwt(key, claims, header = { alg: 'RS256', typ: 'JWT' }) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = enc(header) + '.' + enc(claims);
  return data + '.' + crypto.sign('RSA-SHA256', Buffer.from(data), key).toString('base64url');
}

main(async (t) => {
  const emu = await start();
  try {
    t.like(emu.readyLine, /^\{"url":"https:\/\/127\.0\.0\.1:\d+","ca":"[^"]+","pid":\d+\}$/, 'ready line has the contract shape');
    t.ok(emu.startMs < 2000, 'ready in under 2 s (' + emu.startMs + ' ms)');
    t.is(emu.pid, emu.proc.pid, 'pid in the ready line is the serving process');

    await emu.ctl('POST', 'users', { email: 'alice@example.com' });
    const file = await emu.ctl('POST', 'clients', {});
    const c = file.installed;
    t.ok(/\.apps\.googleusercontent\.com$/.test(c.client_id) && c.client_secret && c.token_uri === emu.url + '/token', 'client file as the console gives it');

    const verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'http://127.0.0.1:5555/cb';
    const scope = SCOPES.readonly + ' ' + SCOPES.insert;
    const auth = (extra) => '/o/oauth2/v2/auth?' + new URLSearchParams(Object.entries(Object.assign({ client_id: c.client_id, redirect_uri: redirect,
      response_type: 'code', scope, state: 'st-42', code_challenge: challenge, code_challenge_method: 'S256', access_type: 'offline', login_hint: 'alice@example.com' }, extra)).filter(([, v]) => v !== undefined));

    let r = await emu.req('GET', auth({}));
    t.is(r.status, 302, 'consent approves a test user at once');
    const loc = new URL(r.headers.location);
    t.is(loc.origin + loc.pathname, redirect, 'redirects to the loopback redirect_uri');
    t.is(loc.searchParams.get('state'), 'st-42', 'state round-trips');
    const code = loc.searchParams.get('code');
    t.ok(code && code.startsWith('4/'), 'an authorization code comes back');

    r = await emu.req('GET', auth({ client_id: 'nope.apps.googleusercontent.com' }));
    t.ok(r.status === 401 && /invalid_client/.test(r.text), 'unknown client_id: 401 invalid_client page');
    r = await emu.req('GET', auth({ redirect_uri: 'https://evil.example/cb' }));
    t.ok(r.status === 400 && /redirect_uri_mismatch/.test(r.text), 'non-loopback redirect_uri refused');
    r = await emu.req('GET', auth({ scope: 'https://www.googleapis.com/auth/gmail.everything' }));
    t.ok(r.status === 400 && /invalid_scope/.test(r.text), 'unknown scope refused');
    r = await emu.req('GET', auth({ response_type: 'token' }));
    t.like(r.headers.location, /error=unsupported_response_type.*state=st-42|state=st-42.*error=unsupported_response_type/, 'bad response_type redirects with error and state');
    r = await emu.req('GET', auth({ code_challenge_method: 'S512' }));
    t.is(r.status, 400, 'unknown code_challenge_method refused');

    const tok = (form) => emu.req('POST', '/token', { form });
    const base = { grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: c.client_id, client_secret: c.client_secret };
    r = await tok(Object.assign({}, base, { code_verifier: crypto.randomBytes(32).toString('base64url') }));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'wrong PKCE verifier: 400 invalid_grant');
    r = await tok(Object.assign({}, base, { code_verifier: undefined }));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'missing PKCE verifier: 400 invalid_grant');
    r = await tok(Object.assign({}, base, { client_secret: 'GOCSPX-wrong', code_verifier: verifier }));
    t.ok(r.status === 401 && r.json.error === 'invalid_client', 'wrong client secret: 401 invalid_client');
    r = await tok(Object.assign({}, base, { redirect_uri: 'http://127.0.0.1:5556/cb', code_verifier: verifier }));
    t.ok(r.status === 400 && r.json.error === 'redirect_uri_mismatch', 'redirect_uri must match the auth request');
    r = await tok(Object.assign({}, base, { code_verifier: verifier }));
    t.is(r.status, 200, 'right verifier: tokens');
    const grant = r.json;
    t.ok(/^ya29\./.test(grant.access_token) && grant.refresh_token && grant.expires_in === 3599 && grant.token_type === 'Bearer', 'access, refresh, expires_in 3599, Bearer');
    t.is(grant.scope, scope, 'granted scopes reported');
    r = await tok(Object.assign({}, base, { code_verifier: verifier }));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'a code is good once');

    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: grant.access_token });
    t.is(r.json.emailAddress, 'alice@example.com', 'access token works for the consenting user');
    r = await emu.req('POST', '/gmail/v1/users/me/labels', { token: grant.access_token, json: { name: 'X' } });
    t.ok(r.status === 403 && r.json.error.errors[0].reason === 'insufficientPermissions' && r.json.error.status === 'PERMISSION_DENIED', 'scope not granted: 403 insufficientPermissions');
    t.like(r.headers['www-authenticate'], /insufficient_scope/, 'with WWW-Authenticate insufficient_scope');
    r = await emu.req('GET', '/gmail/v1/users/bob@example.com/profile', { token: grant.access_token });
    t.ok(r.status === 403 && /Delegation denied/.test(r.json.error.message), 'another user: 403 delegation denied');

    // online access: no refresh token
    r = await emu.req('GET', auth({ access_type: 'online' }));
    const code2 = new URL(r.headers.location).searchParams.get('code');
    r = await tok(Object.assign({}, base, { code: code2, code_verifier: verifier }));
    t.ok(r.status === 200 && r.json.refresh_token === undefined, 'without access_type=offline there is no refresh token');

    const refresh = (rt, extra) => tok(Object.assign({ grant_type: 'refresh_token', refresh_token: rt, client_id: c.client_id, client_secret: c.client_secret }, extra));
    r = await refresh(grant.refresh_token);
    t.ok(r.status === 200 && r.json.access_token && r.json.access_token !== grant.access_token && r.json.refresh_token === undefined, 'refresh grant: a new access token, no new refresh token');
    const fresh = r.json.access_token;
    r = await refresh(grant.refresh_token, { scope: SCOPES.modify });
    t.ok(r.status === 400 && r.json.error === 'invalid_scope', 'refresh cannot widen scopes');
    r = await refresh('1//0garbage');
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'unknown refresh token: invalid_grant');

    // expiry by moving the clock
    await emu.ctl('POST', 'clock', { advance: 3600 });
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: fresh });
    t.ok(r.status === 401 && r.json.error.errors[0].reason === 'authError' && r.json.error.status === 'UNAUTHENTICATED', 'expired access token: 401 authError');
    t.like(r.headers['www-authenticate'], /invalid_token/, 'with WWW-Authenticate invalid_token');
    r = await emu.req('GET', '/gmail/v1/users/me/profile');
    t.ok(r.status === 401 && r.json.error.errors[0].reason === 'required', 'no credentials: 401 required');
    r = await refresh(grant.refresh_token);
    t.is(r.status, 200, 'refresh still works after the access token expired');
    const later = r.json.access_token;
    r = await emu.req('GET', '/tokeninfo?access_token=' + later);
    t.ok(r.status === 200 && r.json.email === 'alice@example.com' && r.json.scope === scope, 'tokeninfo describes the token');

    // revoke
    r = await emu.req('POST', '/revoke?token=' + encodeURIComponent(grant.refresh_token), { form: {} });
    t.is(r.status, 200, 'revoke answers 200');
    r = await refresh(grant.refresh_token);
    t.isDeeply([r.status, r.json], [400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }], 'refresh after revoke: invalid_grant, expired or revoked');
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: later });
    t.is(r.status, 401, 'access tokens of a revoked grant stop working');
    r = await emu.req('POST', '/revoke', { form: { token: 'nonsense' } });
    t.ok(r.status === 400 && r.json.error === 'invalid_token', 'revoking an unknown token: invalid_token');
    r = await tok({ grant_type: 'password', client_id: c.client_id, client_secret: c.client_secret });
    t.ok(r.status === 400 && r.json.error === 'unsupported_grant_type', 'unknown grant_type refused');

    // jwt-bearer
    const sa = await emu.ctl('POST', 'service-accounts', { domain: 'example.com' });
    t.ok(sa.type === 'service_account' && /BEGIN PRIVATE KEY/.test(sa.private_key) && sa.client_email && sa.token_uri === emu.url + '/token', 'service-account key file');
    const now = Math.floor(Date.now() / 1000) + 3600;   // the emulated clock moved an hour
    const claims = (o) => Object.assign({ iss: sa.client_email, scope: SCOPES.readonly, aud: 'https://oauth2.googleapis.com/token', iat: now, exp: now + 3600, sub: 'alice@example.com' }, o);
    const bearer = (assertion) => tok({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    r = await bearer(jwt(sa.private_key, claims({})));
    t.ok(r.status === 200 && r.json.access_token && r.json.refresh_token === undefined, 'jwt-bearer: an access token, no refresh token');
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: r.json.access_token });
    t.is(r.json && r.json.emailAddress, 'alice@example.com', 'the token acts as sub');
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    r = await bearer(jwt(other, claims({})));
    t.isDeeply([r.status, r.json], [400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }], 'signature by another key: Invalid JWT Signature.');
    r = await bearer(jwt(sa.private_key, claims({ sub: 'mallory@elsewhere.example' })));
    t.ok(r.status === 401 && r.json.error === 'unauthorized_client', 'sub outside the delegated domain: 401 unauthorized_client');
    r = await bearer(jwt(sa.private_key, claims({ exp: now + 7200 })));
    t.ok(r.status === 400 && /short-lived/.test(r.json.error_description), 'exp more than an hour after iat refused');
    r = await bearer(jwt(sa.private_key, claims({ iat: now - 7200, exp: now - 3600 })));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'expired assertion refused');
    r = await bearer(jwt(sa.private_key, claims({ aud: 'https://example.com/token' })));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'wrong audience refused');
    r = await bearer(jwt(sa.private_key, claims({ scope: undefined })));
    t.ok(r.status === 400 && r.json.error === 'invalid_scope', 'no scope: invalid_scope');
    r = await bearer(jwt(sa.private_key, claims({ iss: 'nobody@x.iam.gserviceaccount.com' })));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'unknown issuer refused');
    r = await bearer(jwt(sa.private_key, claims({}), { alg: 'HS256', typ: 'JWT' }));
    t.ok(r.status === 400 && r.json.error === 'invalid_grant', 'alg other than RS256 refused');

    // chooser page and denial
    await emu.ctl('POST', 'users', { email: 'bob@example.com', deny: true });
    r = await emu.req('GET', auth({ login_hint: undefined }));
    t.ok(r.status === 200 && /alice@example\.com/.test(r.text) && /bob@example\.com/.test(r.text), 'without login_hint and many users: an account chooser');
    r = await emu.req('GET', auth({ login_hint: 'bob@example.com' }));
    t.like(r.headers.location, /error=access_denied/, 'a user who refuses: access_denied');

    // granular consent and a password change
    await emu.ctl('POST', 'users', { email: 'carol@example.com', grant: [SCOPES.readonly] });
    r = await emu.req('GET', auth({ login_hint: 'carol@example.com' }));
    const cc = new URL(r.headers.location);
    t.is(cc.searchParams.get('scope'), SCOPES.readonly, 'granular consent: only the scopes the user ticked');
    r = await tok(Object.assign({}, base, { code: cc.searchParams.get('code'), code_verifier: verifier }));
    t.is(r.json.scope, SCOPES.readonly, 'and the token reports the narrower scope');
    const carol = r.json;
    await emu.ctl('POST', 'revoke-user', { email: 'carol@example.com' });
    r = await refresh(carol.refresh_token);
    t.is(r.json.error_description, 'Token has been expired or revoked.', 'after revoke-user (a password change) refresh fails');
    r = await emu.req('GET', '/gmail/v1/users/me/profile', { token: carol.access_token });
    t.is(r.status, 401, 'and the access token is dead');

    // the token endpoint is counted and can fail like any Google endpoint
    const dave = await emu.ctl('POST', 'tokens', { email: 'dave@example.com', scopes: [SCOPES.readonly], refresh: true, client_id: c.client_id });
    await emu.ctl('DELETE', 'stats');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['503'], methods: ['oauth2.token'] });
    r = await refresh(dave.refresh_token);
    t.isDeeply([r.status, r.json.error], [503, 'temporarily_unavailable'], 'a 503 fault on /token');
    await emu.ctl('POST', 'faults', { rate: 1, kinds: ['reset'], methods: ['oauth2.token'] });
    const err = await refresh(dave.refresh_token).then(() => null, (e) => e);
    t.ok(err && /ECONNRESET|socket hang up/.test(err.code + ' ' + err.message), 'a reset on /token: no answer at all');
    await emu.ctl('POST', 'faults', { rate: 0 });
    r = await refresh(dave.refresh_token);
    t.is(r.status, 200, 'faults off: the refresh goes through');
    const st = await emu.ctl('GET', 'stats');
    t.is(st.calls['oauth2.token'], 3, 'stats count token endpoint calls');
  } finally { await emu.stop(); }

  const short = await start(['--token-ttl', '60']);
  try {
    const file = await short.ctl('POST', 'clients', {});
    await short.ctl('POST', 'users', { email: 'a@example.org' });
    const tk = await short.ctl('POST', 'tokens', { email: 'a@example.org', scopes: [SCOPES.readonly], refresh: true, client_id: file.installed.client_id });
    t.is(tk.expires_in, 60, '--token-ttl shortens access tokens');
    await short.ctl('POST', 'clock', { advance: 61 });
    const r = await short.req('GET', '/gmail/v1/users/me/profile', { token: tk.access_token });
    t.is(r.status, 401, 'and they expire when the clock passes it');
  } finally { await short.stop(); }
});
