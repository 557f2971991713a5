#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

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

/* SHA-256 on a context that exists cannot fail but for lack of memory. */
static void
sha_failed(const char *what)
{
	fprintf(stderr, "hv: %s failed: out of memory\n", what);
	abort();
}

struct hv_sha256 {
	EVP_MD_CTX *ctx;
	EVP_MD *md;
};

/* The fetched digest and a context that is re-initialised, not remade. */
struct hv_sha256 *
hv_sha256_new(void)
{
	struct hv_sha256 *s = hv_xcalloc(1, sizeof *s);

	s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->ctx = EVP_MD_CTX_new();
	if (s->md == NULL || s->ctx == NULL || EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1)
		sha_failed("SHA-256 context");
	return s;
}

void
hv_sha256_update(struct hv_sha256 *s, const void *data, size_t n)
{
	if (EVP_DigestUpdate(s->ctx, data, n) != 1)
		sha_failed("SHA-256 update");
}

void
hv_sha256_final(struct hv_sha256 *s, uint8_t out[32])
{
	if (EVP_DigestFinal_ex(s->ctx, out, NULL) != 1 ||
	    EVP_DigestInit_ex2(s->ctx, s->md, NULL) != 1)
		sha_failed("SHA-256 final");
}

void
hv_sha256_free(struct hv_sha256 *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_free(s->md);
	free(s);
}

struct hv_hmac {
	struct hv_sha256 *sha;
	uint8_t ipad[64], opad[64];
};

struct hv_hmac *
hv_hmac_new(void)
{
	struct hv_hmac *h = hv_secure_alloc(sizeof *h);

	h->sha = hv_sha256_new();
	return h;
}

void
hv_hmac_setkey(struct hv_hmac *h, const uint8_t key[32])
{
	size_t i;

	memset(h->ipad, 0x36, sizeof h->ipad);
	memset(h->opad, 0x5c, sizeof h->opad);
	for (i = 0; i < 32; i++) {
		h->ipad[i] ^= key[i];
		h->opad[i] ^= key[i];
	}
}

void
hv_hmac_mac(struct hv_hmac *h, uint8_t out[32], const void *a, size_t an,
    const void *b, size_t bn)
{
	uint8_t inner[32];

	hv_sha256_update(h->sha, h->ipad, sizeof h->ipad);
	hv_sha256_update(h->sha, a, an);
	if (bn > 0)
		hv_sha256_update(h->sha, b, bn);
	hv_sha256_final(h->sha, inner);
	hv_sha256_update(h->sha, h->opad, sizeof h->opad);
	hv_sha256_update(h->sha, inner, sizeof inner);
	hv_sha256_final(h->sha, out);
	hv_wipe(inner, sizeof inner);
}

void
hv_hmac_free(struct hv_hmac *h)
{
	if (h == NULL)
		return;
	hv_sha256_free(h->sha);
	hv_secure_free(h, sizeof *h);
}
