'use strict';
// Build a Gmail batch request and parse its multipart/mixed answer.
function build(parts, boundary = 'batch_test') {
  let s = '';
  for (const p of parts) {
    s += '--' + boundary + '\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n';
    if (p.id) s += 'Content-ID: <' + p.id + '>\r\n';
    s += '\r\n' + p.method + ' ' + p.path + ' HTTP/1.1\r\n';
    for (const [k, v] of Object.entries(p.headers || {})) s += k + ': ' + v + '\r\n';
    if (p.json) s += 'Content-Type: application/json\r\n\r\n' + JSON.stringify(p.json) + '\r\n';
    else s += '\r\n';
  }
  return { body: s + '--' + boundary + '--\r\n', contentType: 'multipart/mixed; boundary=' + boundary };
}

function parse(res) {
  const m = /boundary=([^;]+)/.exec(res.headers['content-type'] || '');
  if (!m) return null;
  const out = [];
  for (const chunk of res.text.split('--' + m[1]).slice(1)) {
    if (chunk.startsWith('--')) break;
    const [outer, rest] = splitOnce(chunk.replace(/^\r\n/, ''));
    const cid = (/Content-ID: <([^>]*)>/i.exec(outer) || [])[1];
    const [head, body] = splitOnce(rest);
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)[1]);
    let json;
    try { json = JSON.parse(body); } catch { json = undefined; }
    out.push({ contentId: cid, status, head, json });
  }
  return out;
}
function splitOnce(s) { const i = s.indexOf('\r\n\r\n'); return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 4)]; }

module.exports = { build, parse };
