#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA256_CTX: see the SHA-256 functions below. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "crypto_sign.h"
#include "mem.h"
#include "banned.h"

static int
ossl_fail(struct hv_err *e, int code, const char *what)
{
	unsigned long err = ERR_get_error();
	char why[256];

	ERR_clear_error();
	if (err == 0)
		return hv_err_set(e, code, "%s failed", what);
	ERR_error_string_n(err, why, sizeof why);
	return hv_err_set(e, code, "%s: %s", what, why);
}

int
hv_ed25519_keygen(uint8_t seed[HV_ED25519_SEED], uint8_t pub[HV_ED25519_PUB],
    struct hv_err *e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	size_t sl = HV_ED25519_SEED, pl = HV_ED25519_PUB;
	int r = HV_EINTERNAL;

	if (c == NULL || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_keygen(c, &k) <= 0 ||
	    EVP_PKEY_get_raw_private_key(k, seed, &sl) <= 0 ||
	    EVP_PKEY_get_raw_public_key(k, pub, &pl) <= 0)
		ossl_fail(e, HV_EINTERNAL, "Ed25519 key generation");
	else
		r = 0;
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	return r;
}

int
hv_ed25519_public(uint8_t pub[HV_ED25519_PUB], const uint8_t seed[HV_ED25519_SEED],
    struct hv_err *e)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    HV_ED25519_SEED);
	size_t pl = HV_ED25519_PUB;
	int r = 0;

	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &pl) <= 0)
		r = ossl_fail(e, HV_EINTERNAL, "Ed25519 public key");
	EVP_PKEY_free(k);
	return r;
}

int
hv_ed25519_sign(uint8_t sig[HV_ED25519_SIG], const uint8_t seed[HV_ED25519_SEED],
    const void *msg, size_t n, struct hv_err *e)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    HV_ED25519_SEED);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t sl = HV_ED25519_SIG;
	int r = 0;

	if (k == NULL || md == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, k, NULL) <= 0 ||
	    EVP_DigestSign(md, sig, &sl, msg, n) <= 0 || sl != HV_ED25519_SIG)
		r = ossl_fail(e, HV_EINTERNAL, "Ed25519 signature");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}

int
hv_ed25519_verify(const uint8_t pub[HV_ED25519_PUB], const uint8_t sig[HV_ED25519_SIG],
    const void *msg, size_t n, struct hv_err *e)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    HV_ED25519_PUB);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = HV_EDATA, v;

	if (md == NULL)
		r = ossl_fail(e, HV_EINTERNAL, "Ed25519 verification");
	else if (k == NULL)
		hv_err_set(e, HV_EDATA, "not an Ed25519 public key");
	else if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, k, NULL) <= 0)
		r = ossl_fail(e, HV_EINTERNAL, "Ed25519 verification");
	else if ((v = EVP_DigestVerify(md, sig, HV_ED25519_SIG, msg, n)) == 1)
		r = 0;
	else
		hv_err_set(e, HV_EDATA, "bad signature");
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return r;
}

/*
 * SHA-256 and HMAC on OpenSSL's SHA256_CTX, not EVP: the audit verifier
 * hashes three short messages a line (the line, its MAC, the next key),
 * and EVP's per-message provider dispatch and allocation cost more than
 * the hash of a 400-byte line.  The low-level functions are deprecated in
 * OpenSSL 3, not removed, and run the same assembly as EVP.
 */
struct hv_sha256 {
	SHA256_CTX ctx;
};

struct hv_sha256 *
hv_sha256_new(void)
{
	struct hv_sha256 *s = hv_xcalloc(1, sizeof *s);

	SHA256_Init(&s->ctx);
	return s;
}

void
hv_sha256_update(struct hv_sha256 *s, const void *data, size_t n)
{
	SHA256_Update(&s->ctx, data, n);
}

void
hv_sha256_final(struct hv_sha256 *s, uint8_t out[32])
{
	SHA256_Final(out, &s->ctx);
	SHA256_Init(&s->ctx);
}

void
hv_sha256_free(struct hv_sha256 *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

/* The states after the inner and outer pads: hashed once per key, so a
 * message costs its own blocks and one more (RFC 2104's precomputation).
 * They are key material: the struct lives in locked memory. */
struct hv_hmac {
	SHA256_CTX inner, outer, work;
};

struct hv_hmac *
hv_hmac_new(void)
{
	return hv_secure_alloc(sizeof(struct hv_hmac));
}

void
hv_hmac_setkey(struct hv_hmac *h, const uint8_t key[32])
{
	uint8_t pad[64];
	size_t i;

	memset(pad, 0x36, sizeof pad);
	for (i = 0; i < 32; i++)
		pad[i] ^= key[i];
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, pad, sizeof pad);
	memset(pad, 0x5c, sizeof pad);
	for (i = 0; i < 32; i++)
		pad[i] ^= key[i];
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, pad, sizeof pad);
	OPENSSL_cleanse(pad, sizeof pad);
}

void
hv_hmac_mac(struct hv_hmac *h, uint8_t out[32], const void *a, size_t an,
    const void *b, size_t bn)
{
	uint8_t inner[32];

	h->work = h->inner;
	SHA256_Update(&h->work, a, an);
	if (bn > 0)
		SHA256_Update(&h->work, b, bn);
	SHA256_Final(inner, &h->work);
	h->work = h->outer;
	SHA256_Update(&h->work, inner, sizeof inner);
	SHA256_Final(out, &h->work);
	OPENSSL_cleanse(inner, sizeof inner);
	OPENSSL_cleanse(&h->work, sizeof h->work);
}

void
hv_hmac_free(struct hv_hmac *h)
{
	if (h == NULL)
		return;
	hv_secure_free(h, sizeof *h);
}
