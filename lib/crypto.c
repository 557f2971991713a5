#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "crypto.h"
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
hv_random(void *out, size_t n, struct hv_err *e)
{
	if (n > INT32_MAX || RAND_bytes(out, (int)n) != 1)
		return ossl_fail(e, HV_EINTERNAL, "random bytes");
	return 0;
}

void
hv_sha256(uint8_t out[HV_SHA256_LEN], const void *data, size_t n)
{
	SHA256(data, n, out);
}

void
hv_hmac_sha256(uint8_t out[HV_SHA256_LEN], const void *key, size_t keylen,
    const void *data, size_t n)
{
	unsigned int len = HV_SHA256_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

int
hv_hkdf_sha256(void *out, size_t outlen, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    struct hv_err *e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	int r = HV_EINTERNAL;

	if (c == NULL || EVP_PKEY_derive_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(c, ikm, (int)ikmlen) <= 0 ||
	    (saltlen > 0 && EVP_PKEY_CTX_set1_hkdf_salt(c, salt, (int)saltlen) <= 0) ||
	    (infolen > 0 && EVP_PKEY_CTX_add1_hkdf_info(c, info, (int)infolen) <= 0) ||
	    EVP_PKEY_derive(c, out, &outlen) <= 0)
		ossl_fail(e, HV_EINTERNAL, "HKDF");
	else
		r = 0;
	EVP_PKEY_CTX_free(c);
	return r;
}

struct hv_aead {
	EVP_CIPHER_CTX *ctx;
	int encrypt;
};

int
hv_aead_new(struct hv_aead **out, const uint8_t key[HV_AES256_KEY], int encrypt,
    struct hv_err *e)
{
	struct hv_aead *a = hv_xcalloc(1, sizeof *a);

	*out = NULL;
	a->encrypt = encrypt;
	a->ctx = EVP_CIPHER_CTX_new();
	if (a->ctx == NULL ||
	    EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt) != 1) {
		hv_aead_free(a);
		return ossl_fail(e, HV_EINTERNAL, "AES-256-GCM setup");
	}
	*out = a;
	return 0;
}

static int
aead_start(struct hv_aead *a, const uint8_t nonce[HV_GCM_NONCE],
    const void *aad, size_t aadlen)
{
	int len;

	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, a->encrypt) != 1)
		return HV_EINTERNAL;
	if (aadlen > 0 && EVP_CipherUpdate(a->ctx, NULL, &len, aad, (int)aadlen) != 1)
		return HV_EINTERNAL;
	return 0;
}

int
hv_aead_seal(struct hv_aead *a, const uint8_t nonce[HV_GCM_NONCE],
    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
    uint8_t tag[HV_GCM_TAG])
{
	int len;

	if (n > INT32_MAX || aead_start(a, nonce, aad, aadlen) < 0 ||
	    (n > 0 && EVP_CipherUpdate(a->ctx, out, &len, in, (int)n) != 1) ||
	    EVP_CipherFinal_ex(a->ctx, (uint8_t *)out + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, HV_GCM_TAG, tag) != 1) {
		ERR_clear_error();
		return HV_EINTERNAL;
	}
	return 0;
}

int
hv_aead_open(struct hv_aead *a, const uint8_t nonce[HV_GCM_NONCE],
    const void *aad, size_t aadlen, const void *in, size_t n,
    const uint8_t tag[HV_GCM_TAG], void *out)
{
	uint8_t t[HV_GCM_TAG];
	int len;

	memcpy(t, tag, sizeof t);
	if (n > INT32_MAX || aead_start(a, nonce, aad, aadlen) < 0 ||
	    (n > 0 && EVP_CipherUpdate(a->ctx, out, &len, in, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, HV_GCM_TAG, t) != 1) {
		ERR_clear_error();
		hv_wipe(out, n);
		return HV_EINTERNAL;
	}
	if (EVP_CipherFinal_ex(a->ctx, (uint8_t *)out + n, &len) != 1) {
		ERR_clear_error();
		hv_wipe(out, n);
		return HV_EDATA;
	}
	return 0;
}

void
hv_aead_free(struct hv_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	free(a);
}

int
hv_x25519_keygen(uint8_t priv[HV_X25519_LEN], uint8_t pub[HV_X25519_LEN],
    struct hv_err *e)
{
	int r;

	if ((r = hv_random(priv, HV_X25519_LEN, e)) < 0)
		return r;
	return hv_x25519_public(pub, priv, e);
}

int
hv_x25519_public(uint8_t pub[HV_X25519_LEN], const uint8_t priv[HV_X25519_LEN],
    struct hv_err *e)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, HV_X25519_LEN);
	size_t len = HV_X25519_LEN;
	int r = 0;

	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &len) != 1)
		r = ossl_fail(e, HV_EINTERNAL, "X25519 public key");
	EVP_PKEY_free(k);
	return r;
}

int
hv_x25519(uint8_t shared[HV_X25519_LEN], const uint8_t priv[HV_X25519_LEN],
    const uint8_t peer[HV_X25519_LEN], struct hv_err *e)
{
	static const uint8_t zero[HV_X25519_LEN];
	EVP_PKEY *k, *p;
	EVP_PKEY_CTX *c = NULL;
	size_t len = HV_X25519_LEN;
	int r = HV_EDATA;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, HV_X25519_LEN);
	p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, HV_X25519_LEN);
	if (k == NULL || p == NULL || (c = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_derive_init(c) <= 0 || EVP_PKEY_derive_set_peer(c, p) <= 0 ||
	    EVP_PKEY_derive(c, shared, &len) <= 0 || len != HV_X25519_LEN ||
	    hv_ct_equal(shared, zero, HV_X25519_LEN)) {
		/* OpenSSL refuses a low-order point itself; the check above is
		 * for an OpenSSL that would not. */
		hv_wipe(shared, HV_X25519_LEN);
		ossl_fail(e, HV_EDATA, "X25519 key agreement");
	} else {
		r = 0;
	}
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	EVP_PKEY_free(p);
	return r;
}

int
hv_rs256_sign(const char *pem, size_t pemlen, const void *data, size_t n,
    struct hv_buf *sig, struct hv_err *e)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)pemlen);
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	size_t len = 0;
	int r = HV_EDATA;

	if (bio == NULL || pemlen > INT32_MAX)
		return ossl_fail(e, HV_EINTERNAL, "RS256");
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		ossl_fail(e, HV_EDATA, "not an RSA private key");
		goto out;
	}
	r = HV_EINTERNAL;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, NULL, &len, data, n) != 1 ||
	    hv_buf_grow(sig, len) < 0 ||
	    EVP_DigestSign(md, (uint8_t *)sig->data + sig->len, &len, data, n) != 1) {
		ossl_fail(e, HV_EINTERNAL, "RS256 signature");
		goto out;
	}
	sig->len += len;
	sig->data[sig->len] = '\0';
	r = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	BIO_free(bio);
	return r;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
hv_b64url_encode(struct hv_buf *b, const void *data, size_t n)
{
	const uint8_t *p = data;
	char q[4];
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64url[v >> 18];
		q[1] = b64url[v >> 12 & 63];
		q[2] = b64url[v >> 6 & 63];
		q[3] = b64url[v & 63];
		if (hv_buf_add(b, q, 4) < 0)
			return HV_EDATA;
	}
	if (n - i == 0)
		return 0;
	v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
	q[0] = b64url[v >> 18];
	q[1] = b64url[v >> 12 & 63];
	q[2] = b64url[v >> 6 & 63];
	return hv_buf_add(b, q, n - i + 1);
}

static int
b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

int
hv_b64url_decode(const char *text, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	*outlen = 0;
	if (len % 4 == 1)
		return HV_EDATA;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value(text[i])) < 0)
			return HV_EDATA;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outmax)
				return HV_EDATA;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Canonical form only: the leftover bits must be zero. */
	if (acc != 0)
		return HV_EDATA;
	*outlen = n;
	return 0;
}
