#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mem.h"
#include "seal.h"
#include "banned.h"

/* Offsets of hv-seal(5) version 1. */
#define OFF_VERSION 6
#define OFF_MODE 7
#define OFF_LOG2 8
#define OFF_RESERVED 9
#define OFF_KEY_ID 10
#define OFF_SALT 18
#define OFF_EPHEMERAL 50
#define OFF_WRAPPED 82
#define HDR_MAC_LEN 32

static const char label_payload[] = "hv-seal/v1 payload";
static const char label_key_id[] = "hv-seal/v1 key id";
static const char label_recipient[] = "hv-seal/v1 recipient";
static const char label_wrap[] = "hv-seal/v1 wrap";

struct hv_sealer {
	struct hv_aead *aead;
	size_t segment;
	uint32_t index;
	int done;
};

struct hv_opener {
	struct hv_aead *aead;
	size_t segment;
	uint32_t index;
	int done;
};

static struct hv_seal_key *
key_alloc(enum hv_seal_mode mode)
{
	struct hv_seal_key *k = hv_secure_alloc(sizeof *k);

	k->mode = mode;
	return k;
}

void
hv_seal_key_free(struct hv_seal_key *k)
{
	hv_secure_free(k, sizeof *k);
}

static void
recipient_id(uint8_t id[HV_SEAL_ID_LEN], const uint8_t pub[HV_SEAL_KEY_LEN])
{
	uint8_t in[sizeof label_recipient - 1 + HV_SEAL_KEY_LEN], h[HV_SHA256_LEN];

	memcpy(in, label_recipient, sizeof label_recipient - 1);
	memcpy(in + sizeof label_recipient - 1, pub, HV_SEAL_KEY_LEN);
	hv_sha256(h, in, sizeof in);
	memcpy(id, h, HV_SEAL_ID_LEN);
}

int
hv_seal_key_symmetric(struct hv_seal_key **out, const uint8_t key[HV_SEAL_KEY_LEN],
    struct hv_err *e)
{
	struct hv_seal_key *k = key_alloc(HV_SEAL_SYMMETRIC);
	int r;

	*out = NULL;
	k->has_secret = 1;
	memcpy(k->secret, key, HV_SEAL_KEY_LEN);
	r = hv_hkdf_sha256(k->id, HV_SEAL_ID_LEN, key, HV_SEAL_KEY_LEN, NULL, 0,
	    label_key_id, sizeof label_key_id - 1, e);
	if (r < 0) {
		hv_seal_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int
hv_seal_key_identity(struct hv_seal_key **out, const uint8_t priv[HV_SEAL_KEY_LEN],
    struct hv_err *e)
{
	struct hv_seal_key *k = key_alloc(HV_SEAL_RECIPIENT);
	int r;

	*out = NULL;
	k->has_secret = 1;
	memcpy(k->secret, priv, HV_SEAL_KEY_LEN);
	if ((r = hv_x25519_public(k->pub, priv, e)) < 0) {
		hv_seal_key_free(k);
		return r;
	}
	recipient_id(k->id, k->pub);
	*out = k;
	return 0;
}

int
hv_seal_key_recipient(struct hv_seal_key **out, const uint8_t pub[HV_SEAL_KEY_LEN],
    struct hv_err *e)
{
	struct hv_seal_key *k = key_alloc(HV_SEAL_RECIPIENT);

	(void)e;
	memcpy(k->pub, pub, HV_SEAL_KEY_LEN);
	recipient_id(k->id, k->pub);
	*out = k;
	return 0;
}

static size_t
header_len(enum hv_seal_mode mode)
{
	return mode == HV_SEAL_RECIPIENT ? HV_SEAL_HDR_RECIPIENT : HV_SEAL_HDR_SYMMETRIC;
}

int
hv_seal_header_parse(struct hv_seal_header *h, const uint8_t *p, size_t avail,
    struct hv_err *e)
{
	size_t body;

	memset(h, 0, sizeof *h);
	if (avail < OFF_KEY_ID) {
		if (avail == 0)
			return hv_err_set(e, HV_EDATA, "empty input: not a sealed file");
		if (memcmp(p, HV_SEAL_MAGIC, avail < 6 ? avail : 6) != 0)
			return hv_err_set(e, HV_EDATA, "not a sealed file (bad magic)");
		return hv_err_set(e, HV_EDATA, "header cut short (%zu bytes)", avail);
	}
	if (memcmp(p, HV_SEAL_MAGIC, 6) != 0)
		return hv_err_set(e, HV_EDATA, "not a sealed file (bad magic)");
	h->version = p[OFF_VERSION];
	if (h->version != HV_SEAL_VERSION)
		return hv_err_set(e, HV_EDATA, "unknown format version %u", h->version);
	if (p[OFF_MODE] != HV_SEAL_SYMMETRIC && p[OFF_MODE] != HV_SEAL_RECIPIENT)
		return hv_err_set(e, HV_EDATA, "unknown key mode %u", p[OFF_MODE]);
	h->mode = p[OFF_MODE];
	h->log2_segment = p[OFF_LOG2];
	if (h->log2_segment < HV_SEAL_LOG2_MIN || h->log2_segment > HV_SEAL_LOG2_MAX)
		return hv_err_set(e, HV_EDATA, "bad segment size 2^%u", h->log2_segment);
	if (p[OFF_RESERVED] != 0)
		return hv_err_set(e, HV_EDATA, "reserved header byte is set");
	h->len = header_len(h->mode);
	if (avail < h->len)
		return hv_err_set(e, HV_EDATA, "header cut short (%zu of %zu bytes)",
		    avail, h->len);
	memcpy(h->key_id, p + OFF_KEY_ID, HV_SEAL_ID_LEN);
	memcpy(h->salt, p + OFF_SALT, HV_SEAL_SALT_LEN);
	if (h->mode == HV_SEAL_RECIPIENT) {
		memcpy(h->ephemeral, p + OFF_EPHEMERAL, HV_SEAL_KEY_LEN);
		memcpy(h->wrapped, p + OFF_WRAPPED, sizeof h->wrapped);
	}
	body = h->len - HDR_MAC_LEN;
	memcpy(h->mac, p + body, HDR_MAC_LEN);
	return 0;
}

/*
 * The payload key and the header MAC key, from the key material, the salt,
 * the header up to its MAC, and the context: changing any of them changes
 * both keys.
 */
static int
derive_keys(uint8_t out[64], const uint8_t ikm[HV_SEAL_KEY_LEN],
    const uint8_t *hdr, size_t body, const void *ctx, size_t ctxlen,
    struct hv_err *e)
{
	struct hv_buf info;
	uint8_t be[4];
	int r;

	if (ctxlen > HV_SEAL_CONTEXT_MAX)
		return hv_err_set(e, HV_EUSAGE, "context longer than %d bytes",
		    HV_SEAL_CONTEXT_MAX);
	be[0] = (uint8_t)(ctxlen >> 24);
	be[1] = (uint8_t)(ctxlen >> 16);
	be[2] = (uint8_t)(ctxlen >> 8);
	be[3] = (uint8_t)ctxlen;
	hv_buf_init(&info, sizeof label_payload + HV_SEAL_HDR_MAX + 4 + ctxlen);
	if (hv_buf_add(&info, label_payload, sizeof label_payload) < 0 ||
	    hv_buf_add(&info, hdr, body) < 0 || hv_buf_add(&info, be, 4) < 0 ||
	    hv_buf_add(&info, ctx, ctxlen) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "key derivation input too large");
	else
		r = hv_hkdf_sha256(out, 64, ikm, HV_SEAL_KEY_LEN, hdr + OFF_SALT,
		    HV_SEAL_SALT_LEN, info.data, info.len, e);
	hv_buf_release(&info);
	return r;
}

static int
wrap_key(uint8_t out[HV_SEAL_KEY_LEN], const uint8_t shared[HV_X25519_LEN],
    const uint8_t eph_pub[HV_SEAL_KEY_LEN], const uint8_t pub[HV_SEAL_KEY_LEN],
    const uint8_t *hdr, struct hv_err *e)
{
	uint8_t salt[2 * HV_SEAL_KEY_LEN], info[sizeof label_wrap + OFF_WRAPPED];

	memcpy(salt, eph_pub, HV_SEAL_KEY_LEN);
	memcpy(salt + HV_SEAL_KEY_LEN, pub, HV_SEAL_KEY_LEN);
	memcpy(info, label_wrap, sizeof label_wrap);
	memcpy(info + sizeof label_wrap, hdr, OFF_WRAPPED);
	return hv_hkdf_sha256(out, HV_SEAL_KEY_LEN, shared, HV_X25519_LEN,
	    salt, sizeof salt, info, sizeof info, e);
}

static const uint8_t zero_nonce[HV_GCM_NONCE];

/* Recipient mode: a fresh file key, wrapped to the recipient in the header. */
static int
wrap_file_key(uint8_t file_key[HV_SEAL_KEY_LEN], const struct hv_seal_key *k,
    const struct hv_seal_fixed *fixed, uint8_t *hdr, struct hv_err *e)
{
	uint8_t *eph = hv_secure_alloc(3 * HV_SEAL_KEY_LEN);
	uint8_t *shared = eph + HV_SEAL_KEY_LEN, *wk = shared + HV_SEAL_KEY_LEN;
	struct hv_aead *a = NULL;
	int r;

	if (fixed != NULL) {
		memcpy(file_key, fixed->file_key, HV_SEAL_KEY_LEN);
		memcpy(eph, fixed->ephemeral, HV_SEAL_KEY_LEN);
		r = hv_x25519_public(hdr + OFF_EPHEMERAL, eph, e);
	} else {
		r = hv_random(file_key, HV_SEAL_KEY_LEN, e);
		if (r == 0)
			r = hv_x25519_keygen(eph, hdr + OFF_EPHEMERAL, e);
	}
	if (r == 0)
		r = hv_x25519(shared, eph, k->pub, e);
	if (r == 0)
		r = wrap_key(wk, shared, hdr + OFF_EPHEMERAL, k->pub, hdr, e);
	if (r == 0)
		r = hv_aead_new(&a, wk, 1, e);
	if (r == 0)
		r = hv_aead_seal(a, zero_nonce, hdr, OFF_WRAPPED, file_key,
		    HV_SEAL_KEY_LEN, hdr + OFF_WRAPPED, hdr + OFF_WRAPPED + HV_SEAL_KEY_LEN);
	hv_aead_free(a);
	hv_secure_free(eph, 3 * HV_SEAL_KEY_LEN);
	return r;
}

static int
unwrap_file_key(uint8_t file_key[HV_SEAL_KEY_LEN], const struct hv_seal_key *k,
    const uint8_t *hdr, struct hv_err *e)
{
	uint8_t *shared = hv_secure_alloc(2 * HV_SEAL_KEY_LEN);
	uint8_t *wk = shared + HV_SEAL_KEY_LEN;
	struct hv_aead *a = NULL;
	int r;

	r = hv_x25519(shared, k->secret, hdr + OFF_EPHEMERAL, e);
	if (r == 0)
		r = wrap_key(wk, shared, hdr + OFF_EPHEMERAL, k->pub, hdr, e);
	if (r == 0)
		r = hv_aead_new(&a, wk, 0, e);
	if (r == 0)
		r = hv_aead_open(a, zero_nonce, hdr, OFF_WRAPPED, hdr + OFF_WRAPPED,
		    HV_SEAL_KEY_LEN, hdr + OFF_WRAPPED + HV_SEAL_KEY_LEN, file_key);
	if (r == HV_EDATA)
		hv_err_set(e, HV_EDATA, "header does not authenticate (file key)");
	hv_aead_free(a);
	hv_secure_free(shared, 2 * HV_SEAL_KEY_LEN);
	return r;
}

int
hv_sealer_new(struct hv_sealer **out, const struct hv_seal_key *k,
    const void *ctx, size_t ctxlen, const struct hv_seal_fixed *fixed,
    uint8_t *hdr, size_t *hdrlen, struct hv_err *e)
{
	uint8_t *keys = hv_secure_alloc(64 + HV_SEAL_KEY_LEN);
	uint8_t *file_key = keys + 64;
	const uint8_t *ikm = k->secret;
	size_t len = header_len(k->mode), body = len - HDR_MAC_LEN;
	struct hv_sealer *s = NULL;
	int r;

	*out = NULL;
	*hdrlen = 0;
	memset(hdr, 0, len);
	memcpy(hdr, HV_SEAL_MAGIC, 6);
	hdr[OFF_VERSION] = HV_SEAL_VERSION;
	hdr[OFF_MODE] = (uint8_t)k->mode;
	hdr[OFF_LOG2] = HV_SEAL_LOG2_SEGMENT;
	memcpy(hdr + OFF_KEY_ID, k->id, HV_SEAL_ID_LEN);
	if (fixed != NULL)
		memcpy(hdr + OFF_SALT, fixed->salt, HV_SEAL_SALT_LEN);
	else if ((r = hv_random(hdr + OFF_SALT, HV_SEAL_SALT_LEN, e)) < 0)
		goto out;
	if (k->mode == HV_SEAL_RECIPIENT) {
		if ((r = wrap_file_key(file_key, k, fixed, hdr, e)) < 0)
			goto out;
		ikm = file_key;
	} else if (!k->has_secret) {
		r = hv_err_set(e, HV_EINTERNAL, "sealing without a key");
		goto out;
	}
	if ((r = derive_keys(keys, ikm, hdr, body, ctx, ctxlen, e)) < 0)
		goto out;
	hv_hmac_sha256(hdr + body, keys + 32, 32, hdr, body);
	s = hv_xcalloc(1, sizeof *s);
	s->segment = (size_t)1 << HV_SEAL_LOG2_SEGMENT;
	if ((r = hv_aead_new(&s->aead, keys, 1, e)) < 0)
		goto out;
	*hdrlen = len;
	*out = s;
	s = NULL;
out:
	hv_sealer_free(s);
	hv_secure_free(keys, 64 + HV_SEAL_KEY_LEN);
	return r;
}

size_t
hv_sealer_segment_size(const struct hv_sealer *s)
{
	return s->segment;
}

static void
segment_nonce(uint8_t nonce[HV_GCM_NONCE], uint32_t index, int last)
{
	memset(nonce, 0, HV_GCM_NONCE);
	nonce[7] = (uint8_t)(index >> 24);
	nonce[8] = (uint8_t)(index >> 16);
	nonce[9] = (uint8_t)(index >> 8);
	nonce[10] = (uint8_t)index;
	nonce[11] = last ? 1 : 0;
}

int
hv_sealer_segment(struct hv_sealer *s, const uint8_t *in, size_t n, int last,
    uint8_t *out, struct hv_err *e)
{
	uint8_t nonce[HV_GCM_NONCE];

	if (s->done || n > s->segment || (!last && n != s->segment) ||
	    (last && n == 0 && s->index != 0))
		return hv_err_set(e, HV_EINTERNAL, "segment %u out of order", s->index);
	if (s->index == UINT32_MAX)
		return hv_err_set(e, HV_EDATA, "input too large to seal");
	segment_nonce(nonce, s->index, last);
	if (hv_aead_seal(s->aead, nonce, NULL, 0, in, n, out, out + n) < 0)
		return hv_err_set(e, HV_EINTERNAL, "AES-256-GCM failed");
	s->index++;
	s->done = last;
	return 0;
}

void
hv_sealer_free(struct hv_sealer *s)
{
	if (s == NULL)
		return;
	hv_aead_free(s->aead);
	free(s);
}

static void
hex_id(char out[2 * HV_SEAL_ID_LEN + 1], const uint8_t id[HV_SEAL_ID_LEN])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < HV_SEAL_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * HV_SEAL_ID_LEN] = '\0';
}

int
hv_opener_new(struct hv_opener **out, const struct hv_seal_key *k,
    const void *ctx, size_t ctxlen, const uint8_t *p, size_t avail,
    size_t *hdrlen, struct hv_err *e)
{
	uint8_t *keys = hv_secure_alloc(64 + HV_SEAL_KEY_LEN);
	uint8_t *file_key = keys + 64, mac[HV_SHA256_LEN];
	const uint8_t *ikm = k->secret;
	struct hv_seal_header h;
	struct hv_opener *o = NULL;
	size_t body;
	int r;

	*out = NULL;
	*hdrlen = 0;
	if ((r = hv_seal_header_parse(&h, p, avail, e)) < 0)
		goto out;
	body = h.len - HDR_MAC_LEN;
	if (h.mode != k->mode || !hv_ct_equal(h.key_id, k->id, HV_SEAL_ID_LEN)) {
		char want[2 * HV_SEAL_ID_LEN + 1], have[2 * HV_SEAL_ID_LEN + 1];

		hex_id(want, h.key_id);
		hex_id(have, k->id);
		r = hv_err_set(e, HV_EPERM, "sealed to another key (the file names %s %s, "
		    "this is %s %s)", h.mode == HV_SEAL_RECIPIENT ? "recipient" : "key", want,
		    k->mode == HV_SEAL_RECIPIENT ? "identity" : "key", have);
		goto out;
	}
	if (!k->has_secret) {
		r = hv_err_set(e, HV_EPERM, "a recipient cannot open; an identity can");
		goto out;
	}
	if (h.mode == HV_SEAL_RECIPIENT) {
		if ((r = unwrap_file_key(file_key, k, p, e)) < 0)
			goto out;
		ikm = file_key;
	}
	if ((r = derive_keys(keys, ikm, p, body, ctx, ctxlen, e)) < 0)
		goto out;
	hv_hmac_sha256(mac, keys + 32, 32, p, body);
	if (!hv_ct_equal(mac, h.mac, sizeof mac)) {
		r = hv_err_set(e, HV_EDATA, "header does not authenticate "
		    "(tampered, or sealed for another context)");
		goto out;
	}
	o = hv_xcalloc(1, sizeof *o);
	o->segment = (size_t)1 << h.log2_segment;
	if ((r = hv_aead_new(&o->aead, keys, 0, e)) < 0)
		goto out;
	*hdrlen = h.len;
	*out = o;
	o = NULL;
out:
	hv_opener_free(o);
	hv_secure_free(keys, 64 + HV_SEAL_KEY_LEN);
	return r;
}

size_t
hv_opener_segment_size(const struct hv_opener *o)
{
	return o->segment;
}

int
hv_opener_segment(struct hv_opener *o, const uint8_t *in, size_t n, int last,
    uint8_t *out, struct hv_err *e)
{
	uint8_t nonce[HV_GCM_NONCE];
	size_t plain;

	if (o->done)
		return hv_err_set(e, HV_EDATA, "data after the last segment");
	if (n < HV_SEAL_TAG_LEN)
		return hv_err_set(e, HV_EDATA, "segment %u cut short", o->index);
	plain = n - HV_SEAL_TAG_LEN;
	if (plain > o->segment || (!last && plain != o->segment) ||
	    (last && plain == 0 && o->index != 0))
		return hv_err_set(e, HV_EDATA, "segment %u has a bad length", o->index);
	if (o->index == UINT32_MAX)
		return hv_err_set(e, HV_EDATA, "too many segments");
	segment_nonce(nonce, o->index, last);
	if (hv_aead_open(o->aead, nonce, NULL, 0, in, plain, in + plain, out) < 0) {
		if (last)
			return hv_err_set(e, HV_EDATA, "segment %u does not authenticate "
			    "as the last one (tampered or truncated)", o->index);
		return hv_err_set(e, HV_EDATA, "segment %u does not authenticate "
		    "(tampered, reordered or spliced)", o->index);
	}
	o->index++;
	o->done = last;
	return 0;
}

void
hv_opener_free(struct hv_opener *o)
{
	if (o == NULL)
		return;
	hv_aead_free(o->aead);
	free(o);
}
