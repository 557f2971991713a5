'use strict';
// Just enough RFC 5322 / MIME for what Gmail derives from a raw message:
// headers (Message-ID, Date, Subject, References), the parsed payload tree of
// format=full, the snippet, and the multipart bodies of uploads and batches.

// Split a buffer into header block and body at the first empty line.
function splitHead(buf) {
  let i = buf.indexOf('\r\n\r\n');
  let sep = 4;
  const j = buf.indexOf('\n\n');
  if (i < 0 || (j >= 0 && j < i)) { i = j; sep = 2; }
  if (i < 0) return { head: buf.toString('latin1'), body: Buffer.alloc(0) };
  return { head: buf.subarray(0, i).toString('latin1'), body: buf.subarray(i + sep) };
}

// Headers in order, unfolded, as [{name, value}] (Gmail keeps order and case).
function parseHeaders(head) {
  const out = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) { out[out.length - 1].value += ' ' + line.trim(); continue; }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    out.push({ name: line.slice(0, c).trim(), value: line.slice(c + 1).trim() });
  }
  return out;
}

function header(headers, name) {
  const n = name.toLowerCase();
  const h = headers.find((x) => x.name.toLowerCase() === n);
  return h ? h.value : null;
}

// "multipart/related; boundary=abc; type=x" -> {type, params}
function parseContentType(v) {
  if (!v) return { type: 'text/plain', params: {} };
  const parts = v.split(';');
  const params = {};
  for (const p of parts.slice(1)) {
    const m = p.match(/^\s*([^=\s]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))/);
    if (m) params[m[1].toLowerCase()] = m[2] !== undefined ? m[2] : m[3];
  }
  return { type: parts[0].trim().toLowerCase(), params };
}

// Bodies between --boundary lines; preamble and epilogue dropped.
function splitMultipart(body, boundary) {
  const delim = Buffer.from('--' + boundary);
  const parts = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return null;
  for (;;) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    // skip transport padding and the line end after the delimiter
    while (body[start] === 0x20 || body[start] === 0x09) start++;
    if (body[start] === 0x0d) start++;
    if (body[start] === 0x0a) start++;
    const next = body.indexOf(delim, start);
    if (next < 0) return null;
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    parts.push(body.subarray(start, Math.max(start, end)));
    pos = next;
  }
  return parts;
}

function decodeQP(s) {
  const bytes = [];
  const src = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < src.length; i++) {
    if (src[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(src.substr(i + 1, 2))) { bytes.push(parseInt(src.substr(i + 1, 2), 16)); i += 2; }
    else bytes.push(src.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeBody(buf, cte) {
  const e = (cte || '').toLowerCase();
  if (e === 'base64') return Buffer.from(buf.toString('latin1').replace(/\s+/g, ''), 'base64');
  if (e === 'quoted-printable') return decodeQP(buf.toString('latin1'));
  return buf;
}

// The MessagePart tree of format=full. Leaf parts with a filename become
// attachments (body.attachmentId, no data), as Gmail does.
function payloadOf(buf, partId = '', attachments = null) {
  const { head, body } = splitHead(buf);
  const headers = parseHeaders(head);
  const ct = parseContentType(header(headers, 'Content-Type'));
  const disp = header(headers, 'Content-Disposition') || '';
  const fm = disp.match(/filename\*?="?([^";]+)"?/i) || (ct.params.name ? [null, ct.params.name] : null);
  const part = { partId, mimeType: ct.type, filename: fm ? fm[1] : '', headers };
  if (ct.type.startsWith('multipart/') && ct.params.boundary) {
    const subs = splitMultipart(body, ct.params.boundary) || [];
    part.body = { size: 0 };
    part.parts = subs.map((b, i) => payloadOf(b, partId === '' ? String(i) : partId + '.' + i, attachments));
    return part;
  }
  const data = decodeBody(body, header(headers, 'Content-Transfer-Encoding'));
  if (part.filename && attachments) {
    const aid = 'ANGjdJ' + Buffer.from('att:' + partId).toString('base64url');
    attachments[aid] = data;
    part.body = { attachmentId: aid, size: data.length };
  } else {
    part.body = { size: data.length, data: data.toString('base64url') };
  }
  return part;
}

// First text part, whitespace collapsed, like Gmail's snippet (HTML-escaped).
function snippetOf(buf) {
  let text = '';
  (function walk(b, depth) {
    if (text || depth > 8) return;
    const { head, body } = splitHead(b);
    const hs = parseHeaders(head);
    const ct = parseContentType(header(hs, 'Content-Type'));
    if (ct.type.startsWith('multipart/') && ct.params.boundary) {
      for (const p of splitMultipart(body, ct.params.boundary) || []) walk(p, depth + 1);
    } else if (ct.type === 'text/plain' || ct.type === 'text/html') {
      let t = decodeBody(body, header(hs, 'Content-Transfer-Encoding')).toString('utf8');
      if (ct.type === 'text/html') t = t.replace(/<[^>]*>/g, ' ');
      text = t;
    }
  })(buf, 0);
  const s = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// Message-IDs named in References / In-Reply-To, for threading.
function referencedIds(headers) {
  const v = (header(headers, 'References') || '') + ' ' + (header(headers, 'In-Reply-To') || '');
  return v.match(/<[^<>\s]+>/g) || [];
}

module.exports = { splitHead, parseHeaders, header, parseContentType, splitMultipart, decodeBody, payloadOf, snippetOf, referencedIds };
