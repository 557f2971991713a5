'use strict';
// A tiny TAP producer: ok, is, isDeeply, like, done. done() prints the plan
// and sets the exit status, so prove sees both a count and a verdict.
const util = require('util');
let n = 0, failed = 0;

function ok(cond, name) {
  n++;
  if (!cond) failed++;
  process.stdout.write((cond ? 'ok ' : 'not ok ') + n + ' - ' + name + '\n');
  return !!cond;
}
function diag(msg) { process.stdout.write(String(msg).split('\n').map((l) => '# ' + l).join('\n') + '\n'); }
function is(got, want, name) {
  const r = ok(got === want, name);
  if (!r) diag('     got: ' + util.inspect(got) + '\nexpected: ' + util.inspect(want));
  return r;
}
function isDeeply(got, want, name) {
  const r = ok(util.isDeepStrictEqual(got, want), name);
  if (!r) diag('     got: ' + util.inspect(got, { depth: 6 }) + '\nexpected: ' + util.inspect(want, { depth: 6 }));
  return r;
}
function like(got, re, name) {
  const r = ok(re.test(String(got)), name);
  if (!r) diag('     got: ' + util.inspect(got) + '\n    want: ' + re);
  return r;
}
function done() {
  process.stdout.write('1..' + n + '\n');
  process.exitCode = failed ? 1 : 0;
}
function bail(e) {
  n++;
  process.stdout.write('not ok ' + n + ' - unexpected exception\n');
  diag(e && e.stack ? e.stack : e);
  process.stdout.write('1..' + n + '\n');
  process.exitCode = 1;
}
module.exports = { ok, is, isDeeply, like, diag, done, bail };
