'use strict';
// Building answers: {status, headers, body}. Google pretty-prints JSON unless
// prettyPrint=false; clients must not care, and some do, so we do the same.

function json(status, obj, headers, pretty = true) {
  return { status, headers: Object.assign({ 'content-type': 'application/json; charset=UTF-8' }, headers || {}),
    body: Buffer.from(JSON.stringify(obj, null, pretty ? 2 : 0) + '\n') };
}
function empty(status = 204, headers) { return { status, headers: headers || {}, body: Buffer.alloc(0) }; }
function html(status, text, headers) {
  return { status, headers: Object.assign({ 'content-type': 'text/html; charset=UTF-8' }, headers || {}), body: Buffer.from(text) };
}
function redirect(location) { return { status: 302, headers: { location, 'content-type': 'text/html; charset=UTF-8' }, body: Buffer.from('<a href="' + escapeHtml(location) + '">moved</a>\n') }; }
function escapeHtml(s) { return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }

// Google's plain 404 page for paths it does not serve.
function notFoundPage(path) {
  return html(404, '<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That\u2019s an error.</ins>\n<p>The requested URL <code>' +
    escapeHtml(path) + '</code> was not found on this server.  <ins>That\u2019s all we know.</ins>\n');
}

// x-www-form-urlencoded or JSON body into a plain object.
function formOf(req) {
  const ct = (req.headers['content-type'] || '').toLowerCase();
  const text = req.body.toString('utf8');
  if (ct.includes('application/json')) { try { return JSON.parse(text) || {}; } catch { return {}; } }
  const o = {};
  for (const [k, v] of new URLSearchParams(text)) o[k] = v;
  return o;
}

module.exports = { json, empty, html, redirect, escapeHtml, notFoundPage, formOf };
