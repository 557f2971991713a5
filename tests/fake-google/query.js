'use strict';
// The Gmail search (`q`) forms hv needs, compiled to a predicate over
// messages: rfc822msgid:, label:, after:/before: (dates at midnight Pacific
// time, or epoch seconds), newer_than:/older_than:, in:, is:, from:, to:,
// subject:, bare words; a leading '-' negates. Also reports whether spam and
// trash are asked for, since Gmail then stops hiding them.
const mime = require('./mime');

function tokens(q) {
  const out = [];
  const re = /(-?)([a-zA-Z0-9_]+:)?("[^"]*"|\S+)/g;
  let m;
  while ((m = re.exec(q))) out.push({ neg: m[1] === '-', key: m[2] ? m[2].slice(0, -1).toLowerCase() : null, val: m[3].replace(/^"|"$/g, '') });
  return out;
}

// Midnight of Y/M/D in America/Los_Angeles, in epoch ms (Gmail's documented rule).
function pacificMidnight(y, mo, d) {
  const utc = Date.UTC(y, mo - 1, d);
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', timeZoneName: 'shortOffset' });
  const off = fmt.formatToParts(new Date(utc + 12 * 3600e3)).find((p) => p.type === 'timeZoneName').value; // GMT-8 / GMT-7
  const h = Number((off.match(/GMT([+-]\d+)/) || [0, '0'])[1]);
  return utc - h * 3600e3;
}

function timeOf(v) {
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const m = v.match(/^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/);
  if (!m) return null;
  return pacificMidnight(Number(m[1]), Number(m[2]), Number(m[3]));
}

function ageMs(v) {
  const m = v.match(/^(\d+)([dmy])$/);
  if (!m) return null;
  return Number(m[1]) * { d: 86400e3, m: 30 * 86400e3, y: 365 * 86400e3 }[m[2]];
}

const slug = (s) => s.toLowerCase().replace(/[\s/]+/g, '-');

function compile(q, mb, now) {
  const preds = [];
  let spamTrash = false;
  for (const t of tokens(q)) {
    let p;
    const v = t.val;
    switch (t.key) {
      case 'rfc822msgid': {
        const want = v.replace(/^<|>$/g, '').toLowerCase();
        p = (m) => !!m.messageId && m.messageId.replace(/^<|>$/g, '').toLowerCase() === want;
        break;
      }
      case 'label': case 'in': {
        const s = slug(v);
        if (t.key === 'in' && s === 'anywhere') { spamTrash = true; p = () => true; break; }
        if (s === 'spam' || s === 'trash') spamTrash = true;
        let id = null;
        for (const l of mb.labels.values()) if (slug(l.name) === s || l.id.toLowerCase() === s) id = l.id;
        p = id ? (m) => m.labelIds.includes(id) : () => false;
        break;
      }
      case 'is': {
        const map = { unread: 'UNREAD', starred: 'STARRED', important: 'IMPORTANT' };
        if (v.toLowerCase() === 'read') p = (m) => !m.labelIds.includes('UNREAD');
        else { const id = map[v.toLowerCase()]; p = id ? (m) => m.labelIds.includes(id) : () => false; }
        break;
      }
      case 'after': case 'before': case 'newer_than': case 'older_than': {
        const at = t.key.endsWith('than') ? (ageMs(v) === null ? null : now - ageMs(v)) : timeOf(v);
        if (at === null) { p = () => false; break; }
        p = (t.key === 'after' || t.key === 'newer_than') ? (m) => m.internalDate >= at : (m) => m.internalDate < at;
        break;
      }
      case 'from': case 'to': case 'subject': {
        const want = v.toLowerCase();
        p = (m) => (mime.header(m.headers, t.key) || '').toLowerCase().includes(want);
        break;
      }
      default: {
        const want = (t.key ? t.key + ':' : '') + v.toLowerCase();
        p = (m) => m.raw.toString('latin1').toLowerCase().includes(want);
      }
    }
    preds.push(t.neg ? (m) => !p(m) : p);
  }
  return { match: (m) => preds.every((p) => p(m)), spamTrash };
}

module.exports = { compile, pacificMidnight };
