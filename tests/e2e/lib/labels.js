// What a member sees and does with labels, through the Gmail API of the
// emulator (EMU_URL, EMU_CA) with the member's token (TOKEN):
//
//	labels.js show EMAIL PREFIX MESSAGE-ID...	per message, its labels under PREFIX/
//							(sorted, comma-separated; "-" for none)
//	labels.js act EMAIL MESSAGE-ID +NAME -NAME...	messages.modify as the member would,
//							creating labels that are missing
//	labels.js id EMAIL MESSAGE-ID			the Gmail id of the member's copy
'use strict';
const https = require('https');
const fs = require('fs');

const base = new URL(process.env.EMU_URL);
const ca = fs.readFileSync(process.env.EMU_CA);

function req(method, path, body, auth = true) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = {};
    if (auth) headers.Authorization = 'Bearer ' + process.env.TOKEN;
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    const r = https.request({ host: base.hostname, port: base.port, path, method, ca, headers }, (res) => {
      let s = '';
      res.on('data', (d) => { s += d; });
      res.on('end', () => {
        if (res.statusCode >= 300) reject(new Error(method + ' ' + path + ': ' + res.statusCode + ' ' + s));
        else resolve(s ? JSON.parse(s) : {});
      });
    });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}

async function box(email) {
  const msgs = await req('GET', '/_emu/mailbox/' + encodeURIComponent(email), undefined, false);
  const byMid = new Map();
  for (const m of msgs) {
    const head = Buffer.from(m.raw, 'base64url').toString('latin1').split(/\r?\n\r?\n/)[0];
    const mid = (head.match(/^message-id:\s*(<[^>]*>)/im) || [])[1];
    if (mid) byMid.set(mid, m);
  }
  return byMid;
}

async function labels(email) {
  const u = '/gmail/v1/users/' + encodeURIComponent(email) + '/labels';
  return (await req('GET', u)).labels || [];
}

async function main() {
  const [mode, email, ...rest] = process.argv.slice(2);
  const U = '/gmail/v1/users/' + encodeURIComponent(email);
  const b = await box(email);
  if (mode === 'show') {
    const prefix = rest.shift().toLowerCase() + '/';
    const names = new Map((await labels(email)).map((l) => [l.id, l.name]));
    for (const mid of rest) {
      const m = b.get(mid);
      if (!m) { console.log('absent'); continue; }
      const got = (m.labelIds || []).map((id) => names.get(id) || id)
        .filter((n) => n.toLowerCase().startsWith(prefix)).map((n) => n.slice(prefix.length)).sort();
      console.log(got.length ? got.join(',') : '-');
    }
  } else if (mode === 'act') {
    const m = b.get(rest.shift());
    if (!m) throw new Error('no such message in ' + email);
    const ls = await labels(email);
    const idOf = async (name) => {
      const l = ls.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (l) return l.id;
      const made = await req('POST', U + '/labels', { name, labelListVisibility: 'labelShow', messageListVisibility: 'show' });
      ls.push(made);
      return made.id;
    };
    const add = [], remove = [];
    for (const a of rest) (a[0] === '+' ? add : remove).push(await idOf(a.slice(1)));
    await req('POST', U + '/messages/' + m.id + '/modify', { addLabelIds: add, removeLabelIds: remove });
  } else if (mode === 'id') {
    const m = b.get(rest[0]);
    console.log(m ? m.id : '');
  } else {
    throw new Error('usage: labels.js show|act|id ...');
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
