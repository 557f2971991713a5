#!/usr/bin/env node
// A second implementation of hv-seal(5), version 1, after man/hv-seal.5,
// with Node's standard library only.  It makes the known answers in
// seal-v1.txt and seals and opens files so that they can cross between
// it and hv-seal(1).
//
//	node seal-v1.js generate			the vector file, on stdout
//	node seal-v1.js seal [-k keyfile | -r recipient] [-a context] [-s log2]
//	    [in [out]]				-s: another segment size, for tests
//	node seal-v1.js open [-k keyfile | -i identity] [-a context] [in [out]]
//	node seal-v1.js vector NAME FIELD		one field of a vector, raw:
//		key-text, sealed, plaintext or context
//
// A key file holds hvkey1 (symmetric) or hvid1 (an identity: seal to its
// recipient, open with it) text; -r takes hvpub1 text or a file holding it.
// The whole input is read into memory: this is a test tool.  Exit status as
// hv-seal's: 64 usage, 65 bad data, 66 no input, 77 another key.
'use strict';

const crypto = require('crypto');
const fs = require('fs');

const MAGIC = Buffer.from('hvseal', 'ascii');
const SYMMETRIC = 1;
const RECIPIENT = 2;
const LOG2_WRITE = 16;
const LOG2_MIN = 12;
const LOG2_MAX = 20;
const TAG = 16;
const MAX_SEGMENTS = 0xffffffff;	// indices 0 .. 2^32 - 2

class SealError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}
const bad = (m) => new SealError(65, m);

// Primitives.

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const hmac = (key, ...parts) => crypto.createHmac('sha256', key).update(Buffer.concat(parts)).digest();
const ascii = (s) => Buffer.from(s, 'ascii');
const nul = Buffer.alloc(1);

function be32(n) {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(n);
	return b;
}

// RFC 5869 over HMAC, so that info has no length limit (crypto.hkdfSync
// stops at 1024 bytes); selfTest() checks it against hkdfSync.
function hkdf(ikm, salt, info, length) {
	const prk = hmac(salt.length ? salt : Buffer.alloc(32), ikm);
	const out = [];
	let t = Buffer.alloc(0);
	for (let i = 1, n = 0; n < length; i++, n += t.length) {
		t = hmac(prk, t, info, Buffer.from([i]));
		out.push(t);
	}
	return Buffer.concat(out).subarray(0, length);
}

function gcmSeal(key, nonce, aad, plain) {
	const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
	c.setAAD(aad);
	const ct = Buffer.concat([c.update(plain), c.final()]);
	return Buffer.concat([ct, c.getAuthTag()]);
}

// null when the tag does not match
function gcmOpen(key, nonce, aad, sealed) {
	const d = crypto.createDecipheriv('aes-256-gcm', key, nonce);
	d.setAAD(aad);
	d.setAuthTag(sealed.subarray(sealed.length - TAG));
	try {
		return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
	} catch (err) {
		return null;
	}
}

// X25519 keys as KeyObjects, from raw bytes through their DER wrappings.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

const x25519Private = (raw) => crypto.createPrivateKey(
	{ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
const x25519PublicKey = (raw) => crypto.createPublicKey(
	{ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });

function x25519Public(priv) {
	const spki = crypto.createPublicKey(x25519Private(priv)).export({ format: 'der', type: 'spki' });
	return spki.subarray(SPKI_X25519.length);
}

function x25519(priv, pub) {
	let s;
	try {
		s = crypto.diffieHellman({ privateKey: x25519Private(priv), publicKey: x25519PublicKey(pub) });
	} catch (err) {
		throw bad('X25519 key agreement failed');
	}
	if (s.equals(Buffer.alloc(32)))
		throw bad('X25519 shared secret is zero');
	return s;
}

// Keys and key ids.

function symmetricKey(secret) {
	return {
		mode: SYMMETRIC,
		secret,
		id: hkdf(secret, Buffer.alloc(0), ascii('hv-seal/v1 key id'), 8),
	};
}

const recipientId = (pub) => sha256(ascii('hv-seal/v1 recipient'), pub).subarray(0, 8);

function recipientKey(pub) {
	return { mode: RECIPIENT, secret: null, pub, id: recipientId(pub) };
}

function identityKey(priv) {
	const pub = x25519Public(priv);
	return { mode: RECIPIENT, secret: priv, pub, id: recipientId(pub) };
}

// Key text: prefix || base64url(key || SHA-256(prefix || key)[0..4)).

const KINDS = { hvkey1: 'symmetric key', hvid1: 'identity', hvpub1: 'recipient' };

function keyText(prefix, key) {
	const check = sha256(ascii(prefix), key).subarray(0, 4);
	return prefix + Buffer.concat([key, check]).toString('base64url');
}

function parseKeyText(text) {
	const t = text.trim();
	const prefix = Object.keys(KINDS).find((p) => t.startsWith(p));
	if (prefix === undefined)
		throw bad('not an hv key');
	const body = t.slice(prefix.length);
	if (!/^[A-Za-z0-9_-]{48}$/.test(body))
		throw bad(`malformed ${KINDS[prefix]}`);
	const raw = Buffer.from(body, 'base64url');
	if (raw.toString('base64url') !== body)
		throw bad(`malformed ${KINDS[prefix]}`);
	const key = raw.subarray(0, 32);
	if (!sha256(ascii(prefix), key).subarray(0, 4).equals(raw.subarray(32)))
		throw bad(`${KINDS[prefix]} with a bad checksum`);
	return { prefix, key };
}

function keyFromText(text) {
	const { prefix, key } = parseKeyText(text);
	if (prefix === 'hvkey1')
		return symmetricKey(key);
	if (prefix === 'hvid1')
		return identityKey(key);
	return recipientKey(key);
}

// The format.

function derive(ikm, header, bodyLen, context) {
	const info = Buffer.concat([ascii('hv-seal/v1 payload'), nul, header.subarray(0, bodyLen),
		be32(context.length), context]);
	const okm = hkdf(ikm, header.subarray(18, 50), info, 64);
	return { payload: okm.subarray(0, 32), mac: okm.subarray(32, 64) };
}

function wrapKey(shared, eph, pub, header) {
	const info = Buffer.concat([ascii('hv-seal/v1 wrap'), nul, header.subarray(0, 82)]);
	return hkdf(shared, Buffer.concat([eph, pub]), info, 32);
}

function nonce(index, last) {
	const n = Buffer.alloc(12);
	n.writeUInt32BE(index, 7);
	n[11] = last ? 1 : 0;
	return n;
}

// The header of a new file and its payload key.  rand: { salt, fileKey,
// ephemeral } for the vectors, random otherwise.
function startSeal(key, context, log2, rand) {
	const salt = rand.salt || crypto.randomBytes(32);
	const hlen = key.mode === RECIPIENT ? 162 : 82;
	const body = hlen - 32;
	const header = Buffer.alloc(hlen);
	MAGIC.copy(header, 0);
	header[6] = 1;
	header[7] = key.mode;
	header[8] = log2;
	header[9] = 0;
	key.id.copy(header, 10);
	salt.copy(header, 18);
	let ikm = key.secret;
	if (key.mode === RECIPIENT) {
		const fileKey = rand.fileKey || crypto.randomBytes(32);
		const e = rand.ephemeral || crypto.randomBytes(32);
		const E = x25519Public(e);
		E.copy(header, 50);
		const wk = wrapKey(x25519(e, key.pub), E, key.pub, header);
		gcmSeal(wk, Buffer.alloc(12), header.subarray(0, 82), fileKey).copy(header, 82);
		ikm = fileKey;
	}
	const k = derive(ikm, header, body, context);
	hmac(k.mac, header.subarray(0, body)).copy(header, body);
	return { header, payload: k.payload };
}

// Segments as given, [plaintext, last] each, whether they keep the rules of
// hv-seal(5) or not: the tests build broken files with it.
function sealPieces(key, context, pieces, rand = {}, log2 = LOG2_WRITE) {
	const { header, payload } = startSeal(key, context, log2, rand);
	if (pieces.length > MAX_SEGMENTS)
		throw bad('input too large to seal');
	const out = [header];
	pieces.forEach(([plain, last], i) => out.push(gcmSeal(payload, nonce(i, last), Buffer.alloc(0), plain)));
	return Buffer.concat(out);
}

// log2 is the segment size: 16, but other sizes are readers' business too.
function seal(key, context, plain, rand = {}, log2 = LOG2_WRITE) {
	const size = 2 ** log2;
	const count = Math.max(1, Math.ceil(plain.length / size));
	const pieces = [];
	for (let i = 0; i < count; i++)
		pieces.push([plain.subarray(i * size, (i + 1) * size), i === count - 1]);
	return sealPieces(key, context, pieces, rand, log2);
}

function parseHeader(data) {
	if (data.length === 0)
		throw bad('empty input: not a sealed file');
	if (!data.subarray(0, 6).equals(MAGIC.subarray(0, Math.min(6, data.length))))
		throw bad('not a sealed file (bad magic)');
	if (data.length < 10)
		throw bad('header cut short');
	if (data[6] !== 1)
		throw bad(`unknown format version ${data[6]}`);
	if (data[7] !== SYMMETRIC && data[7] !== RECIPIENT)
		throw bad(`unknown key mode ${data[7]}`);
	if (data[8] < LOG2_MIN || data[8] > LOG2_MAX)
		throw bad(`bad segment size 2^${data[8]}`);
	if (data[9] !== 0)
		throw bad('reserved header byte is set');
	const hlen = data[7] === RECIPIENT ? 162 : 82;
	if (data.length < hlen)
		throw bad('header cut short');
	return { mode: data[7], log2: data[8], id: data.subarray(10, 18), hlen, body: hlen - 32 };
}

function open(key, context, data) {
	const h = parseHeader(data);
	if (h.mode !== key.mode || !h.id.equals(key.id))
		throw new SealError(77, `sealed to another key (${h.id.toString('hex')})`);
	if (key.secret === null)
		throw new SealError(77, 'a recipient cannot open; an identity can');
	const header = data.subarray(0, h.hlen);
	let ikm = key.secret;
	if (h.mode === RECIPIENT) {
		const E = header.subarray(50, 82);
		const wk = wrapKey(x25519(key.secret, E), E, key.pub, header);
		ikm = gcmOpen(wk, Buffer.alloc(12), header.subarray(0, 82), header.subarray(82, 130));
		if (ikm === null)
			throw bad('header does not authenticate (file key)');
	}
	const k = derive(ikm, header, h.body, context);
	if (!crypto.timingSafeEqual(hmac(k.mac, header.subarray(0, h.body)), header.subarray(h.body)))
		throw bad('header does not authenticate (tampered, or sealed for another context)');
	const rest = data.subarray(h.hlen);
	if (rest.length === 0)
		throw bad('truncated: no segment after the header');
	const piece = (1 << h.log2) + TAG;
	const count = Math.ceil(rest.length / piece);
	if (count > MAX_SEGMENTS)
		throw bad('too many segments');
	const out = [];
	for (let i = 0; i < count; i++) {
		const last = i === count - 1;
		const s = rest.subarray(i * piece, (i + 1) * piece);
		if (s.length < TAG)
			throw bad(`segment ${i} cut short`);
		if (last && s.length === TAG && i !== 0)
			throw bad(`segment ${i} is an empty last segment`);
		const p = gcmOpen(k.payload, nonce(i, last), Buffer.alloc(0), s);
		if (p === null)
			throw bad(`segment ${i} does not authenticate${last ? ' as the last one' : ''}`);
		out.push(p);
	}
	return Buffer.concat(out);
}

// The vectors.

function pattern(n) {
	const b = Buffer.alloc(n);
	for (let i = 0; i < n; i++)
		b[i] = i % 251;
	return b;
}

// Fixed "random" values: SHA-256 of a label naming the vector and the value.
const fixed = (name, what) => sha256(ascii(`hv-seal/v1 test vector ${name} ${what}`));

const CONTEXT_300 = ('token:support@example.com:' + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(8))
	.slice(0, 300);

const VECTORS = [
	{ name: 'empty', mode: 'symmetric', context: '', plaintext: Buffer.alloc(0) },
	{ name: 'five', mode: 'symmetric', context: 'token:alice@example.com', plaintext: ascii('hello') },
	{ name: 'one-segment', mode: 'symmetric', context: 'spool:support@example.com:18c2a0f3b4d5e6f7',
		pattern: 65536 },
	{ name: 'one-segment-plus-one', mode: 'symmetric', context: 'spool:support@example.com:1',
		pattern: 65537 },
	{ name: 'three-segments', mode: 'symmetric', context: '', pattern: 196608 },
	{ name: 'recipient-small', mode: 'recipient', context: 'backup:hv.db',
		plaintext: ascii('SQLite format 3\0') },
	{ name: 'recipient-large', mode: 'recipient', context: 'backup:hv.db', pattern: 131172 },
	{ name: 'context-300', mode: 'symmetric', context: CONTEXT_300, plaintext: ascii('a long context') },
];

// Small sealed files are given whole; the others by length and SHA-256.
const SMALL = 4096;

function vectorValues(v) {
	const recipient = v.mode === 'recipient';
	const key = fixed(v.name, 'key');
	const rand = { salt: fixed(v.name, 'salt') };
	if (recipient) {
		rand.fileKey = fixed(v.name, 'file key');
		rand.ephemeral = fixed(v.name, 'ephemeral');
	}
	const plain = v.plaintext !== undefined ? v.plaintext : pattern(v.pattern);
	const context = ascii(v.context);
	const k = recipient ? identityKey(key) : symmetricKey(key);
	const sealed = seal(recipient ? recipientKey(k.pub) : k, context, plain, rand);
	return { key, k, rand, plain, context, sealed };
}

function generate() {
	const lines = [
		'# hv-seal(5) version 1: known answers.',
		'# Made by tests/vectors/seal-v1.js (node seal-v1.js generate); do not edit.',
		'#',
		'# Vectors are separated by a blank line; each is "name = value" lines.',
		'# key: the symmetric key, or in recipient mode the identity\'s X25519',
		'# private key (the file is sealed to its public key).  salt, and in',
		'# recipient mode file_key and ephemeral (a private key): the values a',
		'# sealer draws at random.  context, plaintext and sealed are hex; an empty',
		'# value is written as nothing after "= ".  plaintext_pattern = N is the',
		'# N bytes i % 251 for i = 0 .. N - 1.  Large sealed files are given by',
		'# sealed_len and sealed_sha256.  The fixed values are SHA-256 of',
		'# "hv-seal/v1 test vector NAME key" (and salt, file key, ephemeral).',
	];
	for (const v of VECTORS) {
		const x = vectorValues(v);
		lines.push('');
		lines.push(`name = ${v.name}`);
		lines.push(`mode = ${v.mode}`);
		lines.push(`key = ${x.key.toString('hex')}`);
		lines.push(`salt = ${x.rand.salt.toString('hex')}`);
		if (v.mode === 'recipient') {
			lines.push(`file_key = ${x.rand.fileKey.toString('hex')}`);
			lines.push(`ephemeral = ${x.rand.ephemeral.toString('hex')}`);
		}
		lines.push(`context = ${x.context.toString('hex')}`);
		if (v.pattern !== undefined)
			lines.push(`plaintext_pattern = ${v.pattern}`);
		else
			lines.push(`plaintext = ${x.plain.toString('hex')}`);
		if (x.sealed.length <= SMALL) {
			lines.push(`sealed = ${x.sealed.toString('hex')}`);
		} else {
			lines.push(`sealed_len = ${x.sealed.length}`);
			lines.push(`sealed_sha256 = ${sha256(x.sealed).toString('hex')}`);
		}
		const back = open(x.k, x.context, x.sealed);
		if (!back.equals(x.plain))
			throw new SealError(70, `vector ${v.name} does not open`);
	}
	return lines.join('\n') + '\n';
}

function vectorField(name, field) {
	const v = VECTORS.find((x) => x.name === name);
	if (v === undefined)
		throw new SealError(64, `no vector '${name}'`);
	const x = vectorValues(v);
	switch (field) {
	case 'key-text':
		return ascii(keyText(v.mode === 'recipient' ? 'hvid1' : 'hvkey1', x.key) + '\n');
	case 'sealed':
		return x.sealed;
	case 'plaintext':
		return x.plain;
	case 'context':
		return x.context;
	default:
		throw new SealError(64, `no field '${field}'`);
	}
}

// Known answers for the primitives this file builds on.
function selfTest() {
	// RFC 5869, A.1
	const okm = hkdf(Buffer.alloc(22, 0x0b), Buffer.from('000102030405060708090a0b0c', 'hex'),
		Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'), 42);
	const want = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
	if (okm.toString('hex') !== want)
		throw new SealError(70, 'HKDF self-test failed');
	const a = fixed('self', 'a'), b = fixed('self', 'b'), c = fixed('self', 'c');
	if (!hkdf(a, b, c, 64).equals(Buffer.from(crypto.hkdfSync('sha256', a, b, c, 64))))
		throw new SealError(70, 'HKDF disagrees with crypto.hkdfSync');
	// RFC 7748, 6.1
	const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
	const bobPub = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
	if (x25519Public(alice).toString('hex') !==
	    '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a' ||
	    x25519(alice, bobPub).toString('hex') !==
	    '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
		throw new SealError(70, 'X25519 self-test failed');
}

// The command line.

function readInput(path) {
	try {
		return fs.readFileSync(path === undefined || path === '-' ? 0 : path);
	} catch (err) {
		throw new SealError(66, `cannot open '${path}': ${err.message}`);
	}
}

// Blocking or not, a descriptor takes all of data.
function writeAll(fd, data) {
	for (let off = 0; off < data.length; ) {
		try {
			off += fs.writeSync(fd, data, off, data.length - off);
		} catch (err) {
			if (err.code !== 'EAGAIN')
				throw err;
		}
	}
}

function writeOutput(path, data) {
	if (path === undefined || path === '-') {
		writeAll(1, data);
		return;
	}
	const tmp = `${path}.tmp.${process.pid}`;
	try {
		fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
		fs.renameSync(tmp, path);
	} catch (err) {
		try { fs.unlinkSync(tmp); } catch (e) { /* not there */ }
		throw new SealError(73, `cannot create '${path}': ${err.message}`);
	}
}

function parseArgs(argv, allowed) {
	const o = { operands: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a.length === 2 && a[0] === '-' && allowed.includes(a[1])) {
			if (i + 1 >= argv.length)
				throw new SealError(64, `option ${a} needs an argument`);
			o[a[1]] = argv[++i];
		} else if (a[0] === '-' && a !== '-') {
			throw new SealError(64, `unknown option ${a}`);
		} else {
			o.operands.push(a);
		}
	}
	if (o.operands.length > 2)
		throw new SealError(64, 'too many operands');
	return o;
}

function loadKey(o) {
	if (o.r !== undefined)
		return keyFromText(o.r.startsWith('hvpub1') ? o.r : readInput(o.r).toString('latin1'));
	const path = o.k !== undefined ? o.k : o.i;
	if (path === undefined)
		throw new SealError(64, 'a key is needed: -k, -i or -r');
	return keyFromText(readInput(path).toString('latin1'));
}

function main(argv) {
	const [cmd, ...rest] = argv;
	if (cmd === 'generate') {
		selfTest();
		writeAll(1, Buffer.from(generate(), 'ascii'));
	} else if (cmd === 'seal' || cmd === 'open') {
		const o = parseArgs(rest, cmd === 'seal' ? 'kras' : 'kia');
		const key = loadKey(o);
		const context = Buffer.from(o.a || '', 'utf8');
		const log2 = o.s === undefined ? LOG2_WRITE : Number(o.s);
		if (!Number.isInteger(log2) || log2 < 1 || log2 > 30)
			throw new SealError(64, `bad segment size 2^${o.s}`);
		const data = readInput(o.operands[0]);
		writeOutput(o.operands[1], cmd === 'seal' ? seal(key, context, data, {}, log2) :
			open(key, context, data));
	} else if (cmd === 'vector' && rest.length === 2) {
		writeAll(1, vectorField(rest[0], rest[1]));
	} else {
		throw new SealError(64, 'usage: seal-v1.js generate | seal | open | vector NAME FIELD');
	}
}

if (require.main === module) {
	try {
		main(process.argv.slice(2));
	} catch (err) {
		if (!(err instanceof SealError))
			throw err;
		process.stderr.write(`seal-v1.js: ${err.message}\n`);
		process.exit(err.status);
	}
}

module.exports = {
	seal, sealPieces, open, symmetricKey, identityKey, recipientKey, keyFromText, keyText, hkdf,
};
