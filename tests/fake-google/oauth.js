'use strict';
// Google OAuth 2.0: the consent page, the token endpoint (authorization_code
// with PKCE, refresh_token, jwt-bearer), revoke and tokeninfo, and bearer
// checks for the APIs. Error bodies are Google's: {"error","error_description"}.
const crypto = require('crypto');
const { json, html, redirect, escapeHtml, formOf, empty } = require('./answer');
const { E } = require('./errors');
const { KNOWN } = require('./scopes');
const { token } = require('./rand');

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CODE_TTL_MS = 10 * 60 * 1000;
// Google accepts its token endpoint URLs as the JWT audience; so do we, plus our own.
const GOOGLE_AUDIENCES = ['https://oauth2.googleapis.com/token', 'https://www.googleapis.com/oauth2/v4/token', 'https://accounts.google.com/o/oauth2/token'];

function oerr(status, error, description) {
  const o = { error };
  if (description !== undefined) o.error_description = description;
  return json(status, o, { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate' });
}

function mintAccess(ctx, f) {
  const t = 'ya29.' + token(48);
  const ttl = f.ttl || ctx.opts.tokenTtl;
  const rec = { email: f.email, scopes: f.scopes, exp: ctx.clock.now() + ttl * 1000, client_id: f.client_id || null, refresh: f.refresh || null };
  if (f.sa) rec.sa = f.sa;   // minted by delegation: no user grant behind it
  ctx.world.accessTokens.set(t, rec);
  ctx.persist.dirty();
  return { access_token: t, expires_in: ttl };
}

function mintRefresh(ctx, f) {
  const t = '1//0' + token(60);
  ctx.world.refreshTokens.set(t, { email: f.email, scopes: f.scopes, client_id: f.client_id, revoked: false });
  ctx.persist.dirty();
  return t;
}

function isLoopback(uri) {
  let u;
  try { u = new URL(uri); } catch { return false; }
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

function errorPage(status, error, detail) {
  return html(status, '<!DOCTYPE html><title>Error ' + status + ': ' + escapeHtml(error) + '</title>\n<h1>Access blocked: Authorization Error</h1>\n<p>Error ' +
    status + ': ' + escapeHtml(error) + '</p>\n<p>' + escapeHtml(detail) + '</p>\n');
}

// GET /o/oauth2/v2/auth: test users consent at once.
function authPage(ctx, req) {
  const q = req.query;
  const cid = q.get('client_id');
  if (!cid) return errorPage(400, 'invalid_request', 'Missing required parameter: client_id');
  const client = ctx.world.clients.get(cid);
  if (!client) return errorPage(401, 'invalid_client', 'The OAuth client was not found.');
  const ru = q.get('redirect_uri');
  if (!ru) return errorPage(400, 'invalid_request', 'Missing required parameter: redirect_uri');
  if (!isLoopback(ru)) return errorPage(400, 'redirect_uri_mismatch', "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=" + ru);
  const scope = q.get('scope');
  if (!scope) return errorPage(400, 'invalid_request', 'Missing required parameter: scope');
  const scopes = scope.split(/\s+/).filter(Boolean);
  const bad = scopes.filter((s) => !KNOWN.has(s));
  if (bad.length) return errorPage(400, 'invalid_scope', 'Some requested scopes were invalid. {invalid=[' + bad.join(', ') + ']}');
  const method = q.get('code_challenge_method') || (q.get('code_challenge') ? 'plain' : null);
  if (method && !['S256', 'plain'].includes(method)) return errorPage(400, 'invalid_request', 'Invalid code_challenge_method value.');
  if (method === 'S256' && !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') || '')) return errorPage(400, 'invalid_request', 'Invalid code_challenge.');

  const back = (params) => {
    const u = new URL(ru);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    if (q.has('state')) u.searchParams.set('state', q.get('state'));
    return redirect(u.toString());
  };
  if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });

  // Which test user: login_hint, or the only one there is; else a chooser.
  let mb = ctx.world.mailbox(q.get('login_hint'));
  if (!mb && ctx.world.mailboxes.size === 1) mb = [...ctx.world.mailboxes.values()][0];
  if (!mb) {
    const links = [...ctx.world.mailboxes.values()].map((m) => {
      const u = new URLSearchParams(q); u.set('login_hint', m.email);
      return '<li><a href="/o/oauth2/v2/auth?' + escapeHtml(u.toString()) + '">' + escapeHtml(m.email) + '</a>';
    });
    return html(200, '<!DOCTYPE html><title>Choose an account</title>\n<h1>Choose an account</h1>\n<ul>\n' + links.join('\n') + '\n</ul>\n');
  }
  if (mb.deny) return back({ error: 'access_denied' });
  // Granular consent: a user set up with "grant" approves only those scopes.
  const granted = mb.grant ? scopes.filter((s) => mb.grant.includes(s)) : scopes;
  const code = '4/0' + token(40);
  ctx.world.codes.set(code, { client_id: cid, redirect_uri: ru, email: mb.email, scopes: granted, challenge: q.get('code_challenge'), method,
    offline: q.get('access_type') === 'offline', exp: ctx.clock.now() + CODE_TTL_MS, used: false });
  ctx.persist.dirty();
  return back({ code, scope: granted.join(' ') });
}

// Client authentication: body fields or HTTP Basic.
function clientOf(ctx, req, f) {
  let id = f.client_id, secret = f.client_secret;
  const auth = req.headers.authorization || '';
  if (auth.startsWith('Basic ')) {
    const d = Buffer.from(auth.slice(6), 'base64').toString();
    const i = d.indexOf(':');
    id = decodeURIComponent(d.slice(0, i)); secret = decodeURIComponent(d.slice(i + 1));
  }
  if (!id) return { err: oerr(400, 'invalid_request', 'Could not determine client ID from request.') };
  const c = ctx.world.clients.get(id);
  if (!c) return { err: oerr(401, 'invalid_client', 'The OAuth client was not found.') };
  if (!secret) return { err: oerr(400, 'invalid_request', 'client_secret is missing.') };
  if (!safeEq(secret, c.client_secret)) return { err: oerr(401, 'invalid_client', 'Unauthorized') };
  return { client: c };
}

function safeEq(a, b) {
  const x = Buffer.from(String(a)), y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function tokenAnswer(o) { return json(200, o, { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' }); }

function grantCode(ctx, req, f) {
  const { client, err } = clientOf(ctx, req, f);
  if (err) return err;
  if (!f.code) return oerr(400, 'invalid_request', 'Missing required parameter: code');
  const c = ctx.world.codes.get(f.code);
  if (!c) return oerr(400, 'invalid_grant', 'Malformed auth code.');
  if (c.used || c.exp < ctx.clock.now() || c.client_id !== client.client_id) return oerr(400, 'invalid_grant', 'Bad Request');
  if (f.redirect_uri !== c.redirect_uri) return oerr(400, 'redirect_uri_mismatch', 'Bad Request');
  if (c.challenge) {
    if (!f.code_verifier) return oerr(400, 'invalid_grant', 'Missing code verifier.');
    const v = c.method === 'S256' ? crypto.createHash('sha256').update(f.code_verifier).digest('base64url') : f.code_verifier;
    if (!safeEq(v, c.challenge)) return oerr(400, 'invalid_grant', 'Invalid code verifier.');
  }
  c.used = true;
  const o = { access_token: null, expires_in: 0 };
  let refresh = null;
  if (c.offline) refresh = mintRefresh(ctx, { email: c.email, scopes: c.scopes, client_id: client.client_id });
  Object.assign(o, mintAccess(ctx, { email: c.email, scopes: c.scopes, client_id: client.client_id, refresh }));
  if (refresh) o.refresh_token = refresh;
  o.scope = c.scopes.join(' ');
  o.token_type = 'Bearer';
  return tokenAnswer(o);
}

function grantRefresh(ctx, req, f) {
  const { client, err } = clientOf(ctx, req, f);
  if (err) return err;
  if (!f.refresh_token) return oerr(400, 'invalid_request', 'Missing required parameter: refresh_token');
  const r = ctx.world.refreshTokens.get(f.refresh_token);
  if (!r || r.revoked) return oerr(400, 'invalid_grant', 'Token has been expired or revoked.');
  if (r.client_id !== client.client_id) return oerr(400, 'unauthorized_client', 'Unauthorized');
  let scopes = r.scopes;
  if (f.scope) {
    scopes = f.scope.split(/\s+/).filter(Boolean);
    if (scopes.some((s) => !r.scopes.includes(s))) return oerr(400, 'invalid_scope', 'Bad Request');
  }
  const o = mintAccess(ctx, { email: r.email, scopes, client_id: client.client_id, refresh: f.refresh_token });
  return tokenAnswer(Object.assign(o, { scope: scopes.join(' '), token_type: 'Bearer' }));
}

function b64json(s) { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')); }

function grantJwt(ctx, req, f) {
  const bad = (d) => oerr(400, 'invalid_grant', d);
  const parts = String(f.assertion || '').split('.');
  if (parts.length !== 3) return bad('Invalid JWT: Malformed JWT.');
  let hdr, claims;
  try { hdr = b64json(parts[0]); claims = b64json(parts[1]); } catch { return bad('Invalid JWT: Malformed JWT.'); }
  const sa = ctx.world.serviceAccounts.get(claims.iss);
  if (!sa) return bad('Invalid grant: account not found');
  if (hdr.alg !== 'RS256') return bad('Invalid JWT Signature.');
  const ok = crypto.verify('RSA-SHA256', Buffer.from(parts[0] + '.' + parts[1]), sa.publicKey, Buffer.from(parts[2], 'base64url'));
  if (!ok) return bad('Invalid JWT Signature.');
  const audiences = GOOGLE_AUDIENCES.concat([ctx.url + '/token']);
  if (!audiences.includes(claims.aud)) return bad('Invalid JWT: Failed audience check. The expected audience is ' + GOOGLE_AUDIENCES[0] + '.');
  const now = Math.floor(ctx.clock.now() / 1000);
  // Google: at most one hour long, not expired, not issued far in the future.
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp - claims.iat > 3600 ||
      claims.exp <= now || claims.iat > now + 300 || claims.exp < claims.iat) {
    return bad('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
  }
  if (!claims.scope) return oerr(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
  const scopes = String(claims.scope).split(/\s+/).filter(Boolean);
  if (scopes.some((s) => !KNOWN.has(s))) return oerr(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
  let email = sa.client_email;
  if (claims.sub) {
    const dom = String(claims.sub).toLowerCase().split('@')[1];
    const unauth = () => oerr(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
    if (dom !== sa.domain || sa.delegationRemoved) return unauth();
    if (sa.scopes && scopes.some((s) => !sa.scopes.includes(s))) return unauth();
    const mb = ctx.world.mailbox(claims.sub);
    if (!mb) return bad('Invalid email or User ID');
    email = mb.email;
  }
  const o = mintAccess(ctx, { email, scopes, client_id: sa.client_id, ttl: Math.min(ctx.opts.tokenTtl, 3599), sa: claims.sub ? sa.client_email : null });
  return tokenAnswer(Object.assign(o, { token_type: 'Bearer' }));
}

// POST /token
function tokenEndpoint(ctx, req) {
  if (req.method !== 'POST') return oerr(405, 'invalid_request', 'Method not allowed');
  const f = formOf(req);
  switch (f.grant_type) {
    case 'authorization_code': return grantCode(ctx, req, f);
    case 'refresh_token': return grantRefresh(ctx, req, f);
    case JWT_GRANT: return grantJwt(ctx, req, f);
    case undefined: case '': return oerr(400, 'unsupported_grant_type', 'Invalid grant_type: ');
    default: return oerr(400, 'unsupported_grant_type', 'Invalid grant_type: ' + f.grant_type);
  }
}

// POST /revoke?token=... : revoking either token of a grant ends the grant.
function revokeEndpoint(ctx, req) {
  const f = formOf(req);
  const t = req.query.get('token') || f.token;
  const w = ctx.world;
  let refresh = null;
  if (w.refreshTokens.has(t) && !w.refreshTokens.get(t).revoked) refresh = t;
  else if (w.accessTokens.has(t)) {
    const a = w.accessTokens.get(t);
    if (a.exp <= ctx.clock.now()) return oerr(400, 'invalid_token', 'Token expired or revoked');
    w.accessTokens.delete(t);
    refresh = a.refresh;
  } else return oerr(400, 'invalid_token', 'Token expired or revoked');
  if (refresh && w.refreshTokens.has(refresh)) {
    w.refreshTokens.get(refresh).revoked = true;
    for (const [k, a] of w.accessTokens) if (a.refresh === refresh) w.accessTokens.delete(k);
  }
  ctx.persist.dirty();
  return json(200, {});
}

// GET|POST /tokeninfo?access_token=... (or access_token in the form body).
// A bearer header counts only with the tokeninfo_header quirk (quirks.js).
function tokenInfo(ctx, req) {
  const f = formOf(req);
  let t = req.query.get('access_token') || f.access_token;
  if (!t && ctx.quirks.tokeninfo_header && /^Bearer /i.test(req.headers.authorization || '')) t = req.headers.authorization.slice(7).trim();
  if (!t) return oerr(400, 'invalid_request', 'Either access_token, id_token, or token_handle required');
  const a = ctx.world.accessTokens.get(t);
  const now = ctx.clock.now();
  if (!a || a.exp <= now) return oerr(400, 'invalid_token', 'Invalid Value');
  return json(200, { azp: a.client_id || '', aud: a.client_id || '', scope: a.scopes.join(' '), exp: String(Math.floor(a.exp / 1000)),
    expires_in: String(Math.floor((a.exp - now) / 1000)), email: a.email, email_verified: 'true', access_type: a.refresh ? 'offline' : 'online' });
}

// Bearer check for API calls: {email, scopes:Set} or a 401 thrown.
function authenticate(ctx, req) {
  let t = null;
  const h = req.headers.authorization;
  if (h && /^Bearer /i.test(h)) t = h.slice(7).trim();
  else t = req.query.get('access_token') || req.query.get('oauth_token');
  if (!t) throw E.missingCredentials();
  const a = ctx.world.accessTokens.get(t);
  if (!a || a.exp <= ctx.clock.now()) throw E.invalidCredentials();
  if (!a.scopeSet) Object.defineProperty(a, 'scopeSet', { value: new Set(a.scopes), enumerable: false });
  return { email: a.email, scopes: a.scopeSet, client_id: a.client_id || null, sa: a.sa || null };
}

module.exports = { authPage, tokenEndpoint, revokeEndpoint, tokenInfo, authenticate, mintAccess, mintRefresh, empty };
