/*
 * crypto_sign: Ed25519 signatures, streaming SHA-256, and HMAC-SHA256 with
 * a key set up once, over OpenSSL libcrypto 3.  Part of the crypto module
 * (the only module that includes OpenSSL headers); same conventions as
 * crypto.h: 0 or a negative HV_E* code, e filled with OpenSSL's reason.
 */
#ifndef HV_CRYPTO_SIGN_H
#define HV_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HV_ED25519_SEED 32	/* the private key as RFC 8032 defines it */
#define HV_ED25519_PUB 32
#define HV_ED25519_SIG 64

/* A fresh key pair: the 32-byte private seed and its public key. */
int hv_ed25519_keygen(uint8_t seed[HV_ED25519_SEED], uint8_t pub[HV_ED25519_PUB],
    struct hv_err *e);

/* The public key of a private seed. */
int hv_ed25519_public(uint8_t pub[HV_ED25519_PUB], const uint8_t seed[HV_ED25519_SEED],
    struct hv_err *e);

/* Sign n bytes of msg (pure Ed25519, no pre-hash). */
int hv_ed25519_sign(uint8_t sig[HV_ED25519_SIG], const uint8_t seed[HV_ED25519_SEED],
    const void *msg, size_t n, struct hv_err *e);

/*
 * Check a signature: 0 when it is good, HV_EDATA when it is not (or the
 * public key is not a valid point), HV_EINTERNAL when OpenSSL fails.
 */
int hv_ed25519_verify(const uint8_t pub[HV_ED25519_PUB], const uint8_t sig[HV_ED25519_SIG],
    const void *msg, size_t n, struct hv_err *e);

/*
 * Streaming SHA-256 with no allocation per message: new once, then any
 * number of update ... final rounds (final resets the context).
 */
struct hv_sha256;

struct hv_sha256 *hv_sha256_new(void);
void hv_sha256_update(struct hv_sha256 *s, const void *data, size_t n);
void hv_sha256_final(struct hv_sha256 *s, uint8_t out[32]);
void hv_sha256_free(struct hv_sha256 *s);

/*
 * HMAC-SHA256 (RFC 2104) under a 32-byte key that is set up once and then
 * used for several messages: the key's inner and outer pads are hashed
 * once, so each message costs its own blocks and one more.  The context
 * holds key material and is wiped when the key changes and on free.
 */
struct hv_hmac;

struct hv_hmac *hv_hmac_new(void);

/* Set the key (32 bytes); the previous key's state is overwritten. */
void hv_hmac_setkey(struct hv_hmac *h, const uint8_t key[32]);

/* HMAC of the concatenation of two pieces (b may be NULL with bn 0). */
void hv_hmac_mac(struct hv_hmac *h, uint8_t out[32], const void *a, size_t an,
    const void *b, size_t bn);

void hv_hmac_free(struct hv_hmac *h);

#endif
