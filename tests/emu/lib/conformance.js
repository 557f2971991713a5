'use strict';
// Drives the emulator with Google's own Node.js client (@googleapis/gmail and
// google-auth-library, installed by 90-conformance.t). Run with
// NODE_EXTRA_CA_CERTS set to the emulator's CA, EMU_URL and CONFORMANCE_DIR.
// Where this client and the emulator disagree, the emulator is wrong.
const path = require('path');
const https = require('https');
const { Readable } = require('stream');
const t = require('./tap');
const { message } = require('./emu');

const EMU = process.env.EMU_URL;
const mods = path.join(process.env.CONFORMANCE_DIR, 'node_modules');
const { gmail } = require(path.join(mods, '@googleapis/gmail'));
const { OAuth2Client, JWT, CodeChallengeMethod } = require(path.join(mods, 'google-auth-library'));
const G = 'https://www.googleapis.com/auth/';

// Plain HTTPS, for the control API and to follow the consent redirect by hand.
function raw(method, p, body) {
  return new Promise((resolve, reject) => {
    const r = https.request(EMU + p, { method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const c = [];
      res.on('data', (d) => c.push(d));
      res.on('end', () => { const text = Buffer.concat(c).toString(); let json; try { json = JSON.parse(text); } catch { json = null; } resolve({ status: res.statusCode, headers: res.headers, json }); });
    });
    r.on('error', reject);
    r.end(body ? JSON.stringify(body) : undefined);
  });
}
const ctl = async (p, body) => (await raw(body ? 'POST' : 'GET', '/_emu/' + p, body)).json;

async function rejects(promise) {
  try { await promise; return null; } catch (e) { return e; }
}

async function run() {
  const U = 'conf@example.com';
  await ctl('users', { email: U });
  const client = (await ctl('clients', {})).installed;
  const sa = await ctl('service-accounts', { domain: 'example.com' });

  // authorization code with PKCE, through the official library
  const oauth = new OAuth2Client({ clientId: client.client_id, clientSecret: client.client_secret, redirectUri: 'http://127.0.0.1:8765/cb',
    endpoints: { oauth2TokenUrl: EMU + '/token', oauth2AuthBaseUrl: EMU + '/o/oauth2/v2/auth', oauth2RevokeUrl: EMU + '/revoke', tokenInfoUrl: EMU + '/tokeninfo' } });
  const pkce = await oauth.generateCodeVerifierAsync();
  const authUrl = oauth.generateAuthUrl({ access_type: 'offline', scope: [G + 'gmail.modify', G + 'gmail.insert', G + 'gmail.labels'], state: 'conf-1',
    code_challenge_method: CodeChallengeMethod.S256, code_challenge: pkce.codeChallenge, login_hint: U });
  const consent = await raw('GET', authUrl.slice(EMU.length));
  const back = new URL(consent.headers.location);
  t.is(back.searchParams.get('state'), 'conf-1', 'auth URL built by OAuth2Client: redirect with state');
  const { tokens } = await oauth.getToken({ code: back.searchParams.get('code'), codeVerifier: pkce.codeVerifier });
  t.ok(tokens.access_token && tokens.refresh_token && tokens.expiry_date > Date.now(), 'OAuth2Client.getToken: code + PKCE verifier exchanged');

  // refresh grant: only the refresh token is known
  oauth.setCredentials({ refresh_token: tokens.refresh_token });
  const at = await oauth.getAccessToken();
  t.ok(at.token && at.token !== tokens.access_token, 'OAuth2Client refresh grant gives a new access token');
  // This client sends the token to tokeninfo only in an Authorization header.
  // The emulator's default takes it only as the documented access_token
  // parameter (README, "tokeninfo"); the tokeninfo_header quirk is the
  // client's side of that disagreement.
  const strict = await rejects(oauth.getTokenInfo(at.token));
  t.ok(strict && strict.status === 400, 'getTokenInfo under the strict default: 400, the header alone is no token');
  await ctl('quirks', { tokeninfo_header: true });
  const info = await oauth.getTokenInfo(at.token);
  t.ok(info.email === U && info.scopes.includes(G + 'gmail.modify'), 'getTokenInfo reads tokeninfo with the tokeninfo_header quirk');
  await ctl('quirks', { tokeninfo_header: false });

  const api = gmail({ version: 'v1', auth: oauth, rootUrl: EMU + '/' });
  const up = { rootUrl: EMU + '/' };   // media uploads ignore the service's rootUrl

  const prof = await api.users.getProfile({ userId: 'me' });
  t.ok(prof.status === 200 && prof.data.emailAddress === U && typeof prof.data.historyId === 'string', 'users.getProfile');
  const startHistory = prof.data.historyId;

  const lab = await api.users.labels.create({ userId: 'me', requestBody: { name: 'Conformance', labelListVisibility: 'labelShow', messageListVisibility: 'show' } });
  t.ok(/^Label_/.test(lab.data.id), 'labels.create');
  const dup = await rejects(api.users.labels.create({ userId: 'me', requestBody: { name: 'CONFORMANCE' } }));
  t.ok(dup && dup.status === 409 && /Label name exists or conflicts/.test(dup.message), 'labels.create clash surfaces as the client\'s 409 error with Google\'s message');
  const labels = await api.users.labels.list({ userId: 'me' });
  t.ok(labels.data.labels.some((l) => l.id === lab.data.id) && labels.data.labels.some((l) => l.id === 'INBOX'), 'labels.list');
  const lg = await api.users.labels.get({ userId: 'me', id: lab.data.id });
  t.ok(lg.data.name === 'Conformance' && lg.data.messagesTotal === 0, 'labels.get');

  // uploads: insert and import with multipart media, insert with JSON raw
  const ids = [];
  const raws = {};
  for (let i = 0; i < 3; i++) {
    const body = message({ subject: 'ins ' + i, messageId: '<ins-' + i + '@conf.example>', date: new Date(Date.UTC(2024, 1, 1 + i)).toUTCString() });
    const r = await api.users.messages.insert({ userId: 'me', internalDateSource: 'dateHeader', requestBody: { labelIds: ['INBOX', lab.data.id] },
      media: { mimeType: 'message/rfc822', body: Readable.from(body) } }, up);
    ids.push(r.data.id); raws[r.data.id] = body;
  }
  t.ok(ids.every((id) => /^[0-9a-f]{16}$/.test(id)), 'messages.insert with multipart media upload');
  const imp = message({ subject: 'imported', messageId: '<imp@conf.example>', date: new Date(Date.UTC(2024, 1, 10)).toUTCString() });
  const ri = await api.users.messages.import({ userId: 'me', neverMarkSpam: true, internalDateSource: 'dateHeader', requestBody: { labelIds: ['INBOX', 'UNREAD'] },
    media: { mimeType: 'message/rfc822', body: Readable.from(imp) } }, up);
  t.ok(ri.data.id && ri.data.labelIds.includes('UNREAD'), 'messages.import with multipart media upload');
  ids.push(ri.data.id); raws[ri.data.id] = imp;
  const again = await api.users.messages.import({ userId: 'me', requestBody: { labelIds: [lab.data.id] }, media: { mimeType: 'message/rfc822', body: Readable.from(imp) } }, up);
  t.ok(again.data.id === ri.data.id && again.data.labelIds.includes(lab.data.id), 'import of the same Message-ID: the existing message, labels merged');
  const onlyMedia = await api.users.messages.insert({ userId: 'me', media: { mimeType: 'message/rfc822', body: Readable.from(message({ subject: 'media only' })) } }, up);
  t.ok(onlyMedia.data.id, 'messages.insert with media only (uploadType=media)');
  ids.push(onlyMedia.data.id);
  const jr = message({ subject: 'json raw', messageId: '<json@conf.example>' });
  const rj = await api.users.messages.insert({ userId: 'me', requestBody: { raw: jr.toString('base64url'), labelIds: ['INBOX'] } });
  t.ok(rj.data.id, 'messages.insert with a JSON raw body');
  ids.push(rj.data.id); raws[rj.data.id] = jr;
  const log = await ctl('log');
  t.ok(log.some((l) => /uploadType=multipart/.test(l.path)) && log.some((l) => /uploadType=media/.test(l.path)), 'the client used uploadType=multipart and media');

  // list with paging
  const listed = [];
  let pageToken, pages = 0;
  do {
    const r = await api.users.messages.list({ userId: 'me', maxResults: 2, pageToken });
    listed.push(...(r.data.messages || []).map((m) => m.id));
    pageToken = r.data.nextPageToken; pages++;
  } while (pageToken && pages < 20);
  t.ok(pages === 3 && listed.length === ids.length && ids.every((id) => listed.includes(id)), 'messages.list pages of 2 cover all ' + ids.length + ' messages');
  const byQ = await api.users.messages.list({ userId: 'me', q: 'rfc822msgid:<ins-1@conf.example>' });
  t.ok(byQ.data.messages.length === 1 && byQ.data.messages[0].id === ids[1], 'messages.list with q=rfc822msgid:');
  const byLabel = await api.users.messages.list({ userId: 'me', labelIds: ['INBOX', lab.data.id] });
  t.is(byLabel.data.messages.length, 4, 'messages.list with repeated labelIds');

  // get in each format
  const id = ids[0];
  const graw = await api.users.messages.get({ userId: 'me', id, format: 'raw' });
  t.ok(Buffer.from(graw.data.raw, 'base64url').equals(raws[id]), 'messages.get format=raw: the bytes inserted');
  t.is(graw.data.internalDate, String(Date.UTC(2024, 1, 1)), 'internalDate from the Date header');
  const gmeta = await api.users.messages.get({ userId: 'me', id, format: 'metadata', metadataHeaders: ['Message-ID', 'Subject'] });
  t.isDeeply(gmeta.data.payload.headers.map((h) => h.name), ['Subject', 'Message-ID'], 'messages.get format=metadata with metadataHeaders');
  const gmin = await api.users.messages.get({ userId: 'me', id, format: 'minimal' });
  t.ok(gmin.data.labelIds.includes(lab.data.id) && gmin.data.payload === undefined, 'messages.get format=minimal');
  const gfull = await api.users.messages.get({ userId: 'me', id, format: 'full' });
  t.ok(gfull.data.payload.mimeType === 'text/plain' && gfull.data.payload.headers.length > 3 && gfull.data.payload.body.data, 'messages.get format=full');
  const missing = await rejects(api.users.messages.get({ userId: 'me', id: '00000000000000ff' }));
  t.ok(missing && missing.status === 404 && missing.message === 'Requested entity was not found.', 'a missing message: the client reads Google\'s 404 body');

  // modify, then history
  const mod = await api.users.messages.modify({ userId: 'me', id: ids[1], requestBody: { addLabelIds: ['STARRED'], removeLabelIds: ['INBOX'] } });
  t.ok(mod.data.labelIds.includes('STARRED') && !mod.data.labelIds.includes('INBOX'), 'messages.modify');
  await api.users.messages.batchModify({ userId: 'me', requestBody: { ids: ids.slice(2, 4), addLabelIds: ['IMPORTANT'] } });
  const imp2 = await api.users.messages.get({ userId: 'me', id: ids[3], format: 'minimal' });
  t.ok(imp2.data.labelIds.includes('IMPORTANT'), 'messages.batchModify');
  const hist = await api.users.history.list({ userId: 'me', startHistoryId: startHistory });
  const kinds = new Set(hist.data.history.flatMap((h) => Object.keys(h)));
  t.ok(kinds.has('messagesAdded') && kinds.has('labelsAdded') && kinds.has('labelsRemoved'), 'history.list after changes: added, labelsAdded, labelsRemoved');
  const histAdds = await api.users.history.list({ userId: 'me', startHistoryId: startHistory, historyTypes: ['messageAdded'] });
  t.is(histAdds.data.history.length, ids.length, 'history.list historyTypes=messageAdded: one per new message');
  await ctl('expire-history', { email: U });
  const gone = await rejects(api.users.history.list({ userId: 'me', startHistoryId: startHistory }));
  t.ok(gone && gone.status === 404, 'history.list on an expired id: 404 the client reports');

  // push: users.watch and users.stop through the client (WatchRequest and
  // WatchResponse as the client's types have them). watch costs 100 units of
  // the legacy 250 a second: let the bucket refill first.
  await new Promise((r) => setTimeout(r, 1100));
  await ctl('pubsub/topics', { name: 'projects/hv-test/topics/conf', grant: false });
  const noGrant = await rejects(api.users.watch({ userId: 'me', requestBody: { topicName: 'projects/hv-test/topics/conf' } }));
  t.ok(noGrant && noGrant.status === 403 && /User not authorized to perform this action\.$/.test(noGrant.message), 'users.watch without the publish grant: the client reports the 403');
  await ctl('pubsub/topics', { name: 'projects/hv-test/topics/conf' });
  const cur = (await api.users.getProfile({ userId: 'me' })).data.historyId;
  const wr = await api.users.watch({ userId: 'me', requestBody: { topicName: 'projects/hv-test/topics/conf', labelIds: ['INBOX'], labelFilterBehavior: 'include' } });
  t.ok(wr.status === 200 && wr.data.historyId === cur && /^\d+$/.test(wr.data.expiration) && Number(wr.data.expiration) > Date.now() + 6 * 86400000,
    'users.watch: historyId and expiration (epoch ms string, a week ahead)');
  const ws = await api.users.stop({ userId: 'me' });
  t.ok(ws.status === 204 && !ws.data, 'users.stop: 204, no body');
  t.is((await ctl('pubsub')).watches.length, 0, 'the watch is gone');

  await oauth.revokeToken(tokens.refresh_token);
  const o2 = new OAuth2Client({ clientId: client.client_id, clientSecret: client.client_secret, endpoints: { oauth2TokenUrl: EMU + '/token' } });
  o2.setCredentials({ refresh_token: tokens.refresh_token });
  const dead = await rejects(o2.getAccessToken());
  t.ok(dead && /invalid_grant/.test(String(dead.message) + JSON.stringify(dead.response && dead.response.data)), 'after revokeToken the refresh grant fails with invalid_grant');

  // jwt-bearer through the JWT client; its token URL is fixed, so route it here
  const jwtFor = (subject) => {
    const j = new JWT({ email: sa.client_email, key: sa.private_key, scopes: [G + 'gmail.readonly'], subject });
    j.transporter.interceptors.request.add({
      resolved: async (opts) => {
        const u = String(opts.url);
        if (u.startsWith('https://oauth2.googleapis.com/')) opts.url = new URL(EMU + u.slice('https://oauth2.googleapis.com'.length));
        return opts;
      },
    });
    return j;
  };
  const jwt = jwtFor(U);
  const viaJwt = await gmail({ version: 'v1', auth: jwt, rootUrl: EMU + '/' }).users.getProfile({ userId: 'me' });
  t.is(viaJwt.data.emailAddress, U, 'JWT client (jwt-bearer, RS256, sub) gets a token that acts as the subject');
  const creds = await jwt.authorize();
  t.ok(creds.access_token && creds.expiry_date > Date.now() && (creds.refresh_token === undefined || creds.refresh_token === 'jwt-placeholder'), 'JWT client: access token with expiry, no real refresh token');
  const outsider = await rejects(jwtFor('eve@elsewhere.example').authorize());
  t.ok(outsider && /unauthorized_client/.test(String(outsider.message) + JSON.stringify(outsider.response && outsider.response.data)), 'JWT for a subject outside the domain: unauthorized_client');
}

run().then(() => t.done(), (e) => t.bail(e));
