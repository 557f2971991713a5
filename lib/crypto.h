/*
 * crypto: the primitives hv uses, over OpenSSL libcrypto 3.
 *
 * The only module that includes OpenSSL headers (mem's wipe aside).  Sizes
 * are fixed by the constants below; every function returns 0 or a negative
 * HV_E* code and fills e with OpenSSL's reason where it has one.
 */
#ifndef HV_CRYPTO_H
#define HV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define HV_SHA256_LEN 32
#define HV_AES256_KEY 32
#define HV_GCM_NONCE 12
#define HV_GCM_TAG 16
#define HV_X25519_LEN 32

/* n bytes from the system's CSPRNG. */
int hv_random(void *out, size_t n, struct hv_err *e);

void hv_sha256(uint8_t out[HV_SHA256_LEN], const void *data, size_t n);

void hv_hmac_sha256(uint8_t out[HV_SHA256_LEN], const void *key, size_t keylen,
    const void *data, size_t n);

/* HKDF-SHA256 (RFC 5869), extract and expand, outlen <= 255 * 32. */
int hv_hkdf_sha256(void *out, size_t outlen, const void *ikm, size_t ikmlen,
    const void *salt, size_t saltlen, const void *info, size_t infolen,
    struct hv_err *e);

/*
 * AES-256-GCM with one key for many messages: the key schedule is set up
 * once, so sealing a stream of segments costs one nonce setup each.
 */
struct hv_aead;

/* A context for key (32 bytes), to seal (encrypt = 1) or open. */
int hv_aead_new(struct hv_aead **out, const uint8_t key[HV_AES256_KEY],
    int encrypt, struct hv_err *e);

/* Encrypt n bytes (in and out may be the same) and write the 16-byte tag. */
int hv_aead_seal(struct hv_aead *a, const uint8_t nonce[HV_GCM_NONCE],
    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
    uint8_t tag[HV_GCM_TAG]);

/* Decrypt and check the tag: HV_EDATA when it does not match (out is then
 * wiped, so no unauthenticated plaintext escapes). */
int hv_aead_open(struct hv_aead *a, const uint8_t nonce[HV_GCM_NONCE],
    const void *aad, size_t aadlen, const void *in, size_t n,
    const uint8_t tag[HV_GCM_TAG], void *out);

void hv_aead_free(struct hv_aead *a);

/* A fresh X25519 key pair. */
int hv_x25519_keygen(uint8_t priv[HV_X25519_LEN], uint8_t pub[HV_X25519_LEN],
    struct hv_err *e);

/* The public key of a private one. */
int hv_x25519_public(uint8_t pub[HV_X25519_LEN], const uint8_t priv[HV_X25519_LEN],
    struct hv_err *e);

/* The shared secret; HV_EDATA for a low-order peer key (all-zero result). */
int hv_x25519(uint8_t shared[HV_X25519_LEN], const uint8_t priv[HV_X25519_LEN],
    const uint8_t peer[HV_X25519_LEN], struct hv_err *e);

/*
 * RS256: an RSASSA-PKCS1-v1_5 SHA-256 signature of data with the PEM
 * private key (PKCS#8, as in a Google service-account key file), appended
 * to sig.  HV_EDATA when the PEM is not an RSA private key.
 */
int hv_rs256_sign(const char *pem, size_t pemlen, const void *data, size_t n,
    struct hv_buf *sig, struct hv_err *e);

/* Append the unpadded base64url (RFC 4648 section 5) of data to b. */
int hv_b64url_encode(struct hv_buf *b, const void *data, size_t n);

/*
 * Decode unpadded base64url text of len chars into out (room for outmax);
 * sets *outlen.  HV_EDATA for any character outside the alphabet, padding,
 * a length that cannot be base64, non-zero trailing bits, or too much data.
 */
int hv_b64url_decode(const char *text, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen);

#endif
