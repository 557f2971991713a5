'use strict';
// Partial responses: the `fields` parameter ("id,labelIds", "messages/id",
// "messages(id,threadId),nextPageToken"), as Google's API frontend applies it.

function parse(s) {
  let i = 0;
  function list() {
    const out = {};
    for (;;) {
      let name = '';
      while (i < s.length && !',()/'.includes(s[i])) name += s[i++];
      name = name.trim();
      let sub = true;
      if (s[i] === '/') { i++; sub = list1(); }
      else if (s[i] === '(') { i++; sub = list(); if (s[i] !== ')') throw new Error('bad fields'); i++; }
      if (name) out[name] = merge(out[name], sub);
      if (s[i] === ',') { i++; continue; }
      return out;
    }
  }
  // a/b/c: one path segment chain, which may end in a (...) group
  function list1() {
    let name = '';
    while (i < s.length && !',()/'.includes(s[i])) name += s[i++];
    let sub = true;
    if (s[i] === '/') { i++; sub = list1(); }
    else if (s[i] === '(') { i++; sub = list(); i++; }
    return { [name.trim()]: sub };
  }
  const r = list();
  if (i !== s.length) throw new Error('bad fields');
  return r;
}

function merge(a, b) {
  if (a === undefined) return b;
  if (a === true || b === true) return true;
  return Object.assign({}, a, b);
}

function apply(obj, sel) {
  if (sel === true || obj === null || typeof obj !== 'object') return obj;
  if (Array.isArray(obj)) return obj.map((x) => apply(x, sel));
  const out = {};
  for (const k of Object.keys(obj)) if (k in sel) out[k] = apply(obj[k], sel[k]);
  return out;
}

module.exports = { parse, apply };
