// Large messages against the emulator (EMU_URL, EMU_CA):
//
//	bigmail.js deliver EMAIL TAG BYTES	a message of about BYTES bytes, Message-ID
//						<TAG@example.net>, into EMAIL's INBOX
//	bigmail.js check SOURCE LABEL MEMBER...	each member holds exactly one copy of
//						each message of SOURCE, byte for byte,
//						with INBOX and the label named LABEL;
//						prints what is wrong, exits 1 then
'use strict';
const https = require('https');
const fs = require('fs');

const base = new URL(process.env.EMU_URL);
const ca = fs.readFileSync(process.env.EMU_CA);

function req(method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    const r = https.request({ host: base.hostname, port: base.port, path, method, ca, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode >= 300) reject(new Error(method + ' ' + path + ': ' + res.statusCode + ' ' + text.slice(0, 200)));
        else resolve(text ? JSON.parse(text) : {});
      });
    });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}

// Lines of varied text, so the message is not one repeated byte.
function message(tag, bytes) {
  const head = 'From: big@example.net\r\nTo: team@example.com\r\nSubject: large ' + tag + '\r\nDate: Mon, 15 Jan 2024 10:00:00 +0000\r\n' +
    'Message-ID: <' + tag + '@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';
  const lines = [];
  let n = head.length;
  for (let i = 0; n < bytes; i++) {
    const l = 'line ' + i + ' of ' + tag + ': ' + (i * 2654435761 % 4294967296).toString(36).repeat(8) + '\r\n';
    lines.push(l);
    n += l.length;
  }
  return Buffer.from(head + lines.join(''));
}

const idOf = (raw) => ((raw.toString('latin1').split(/\r?\n\r?\n/)[0].match(/^message-id:\s*(<[^>]*>)/im)) || [])[1];

async function check(source, label, members) {
  const src = await req('GET', '/_emu/mailbox/' + encodeURIComponent(source));
  const want = new Map(src.map((m) => { const raw = Buffer.from(m.raw, 'base64url'); return [idOf(raw), raw]; }));
  const bad = [];
  for (const u of members) {
    const tok = (await req('POST', '/_emu/tokens', { email: u, scopes: ['https://www.googleapis.com/auth/gmail.labels'] })).access_token;
    const lab = ((await req('GET', '/gmail/v1/users/me/labels', undefined, tok)).labels || []).find((l) => l.name === label);
    const box = await req('GET', '/_emu/mailbox/' + encodeURIComponent(u));
    const seen = new Map();
    for (const m of box) {
      const raw = Buffer.from(m.raw, 'base64url');
      const id = idOf(raw);
      seen.set(id, (seen.get(id) || 0) + 1);
      if (!want.has(id)) bad.push(u + ': ' + id + ' is not from the source');
      else if (!want.get(id).equals(raw)) bad.push(u + ': ' + id + ' differs from the source (' + raw.length + ' bytes, want ' + want.get(id).length + ')');
      if (!lab || !m.labelIds.includes(lab.id) || !m.labelIds.includes('INBOX')) bad.push(u + ': ' + id + ' has labels ' + m.labelIds.join(','));
    }
    for (const id of want.keys()) if (seen.get(id) !== 1) bad.push(u + ': ' + (seen.get(id) || 0) + ' copies of ' + id);
  }
  for (const b of bad) console.log('#   ' + b);
  process.exitCode = bad.length ? 1 : 0;
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'deliver') {
    const raw = message(a[1], Number(a[2]));
    const r = await req('POST', '/_emu/deliver', { email: a[0], raw: raw.toString('base64url'), labelIds: ['INBOX'] });
    console.log(raw.length + ' ' + r.id);
  } else if (cmd === 'check') {
    await check(a[0], a[1], a.slice(2));
  } else {
    throw new Error('usage: bigmail.js deliver|check ...');
  }
}
main().catch((e) => { console.log('#   ' + e.message); process.exitCode = 2; });
