/*
 * keys: key text, key files, the master key and what is derived from it.
 *
 * Keys travel as one line of text, a kind prefix and the unpadded base64url
 * of the 32 key bytes and a 4-byte checksum (SHA-256 of prefix and key), so
 * a truncated or mistyped key is refused instead of used:
 *
 *	hvkey1...	a symmetric key (the master key, an hv-seal key)
 *	hvid1...	an X25519 identity (private; opens backups)
 *	hvpub1...	an X25519 recipient (public; seals backups)
 *
 * Secrets are read only from files or descriptors (never argv or the
 * environment) and kept in locked memory.
 */
#ifndef HV_KEYS_H
#define HV_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "seal.h"

#define HV_KEY_LEN 32
#define HV_KEY_TEXT_MAX 64

enum hv_key_kind {
	HV_KEY_SYMMETRIC,
	HV_KEY_IDENTITY,
	HV_KEY_RECIPIENT,
};

/* Append the text form of a 32-byte key of kind to b (no newline). */
int hv_key_encode(struct hv_buf *b, enum hv_key_kind kind, const uint8_t key[HV_KEY_LEN]);

/*
 * Decode text (len bytes, surrounding white space allowed) as a key of
 * kind: HV_EDATA naming what is wrong (another kind, bad characters, bad
 * checksum).
 */
int hv_key_decode(const char *text, size_t len, enum hv_key_kind kind,
    uint8_t key[HV_KEY_LEN], struct hv_err *e);

/*
 * Load a seal key from a file or descriptor path: symmetric (hvkey1) or an
 * identity (hvid1) as kind says.  The file must not be readable by others.
 */
int hv_key_load(struct hv_seal_key **k, const char *path, enum hv_key_kind kind,
    struct hv_err *e);

/*
 * The recipient of the identity (hvid1) in the file or descriptor at path
 * ("-": stdin), its text appended to recipient (no newline), as age-keygen
 * -y does.  The file must not be readable by others (HV_EPERM).
 */
int hv_key_identity_recipient(const char *path, struct hv_buf *recipient,
    struct hv_err *e);

/* A recipient from its text. */
int hv_key_recipient(struct hv_seal_key **k, const char *text, struct hv_err *e);

/*
 * A new random key of kind (symmetric or identity): its text and a newline
 * appended to text (make it a secret buffer), and for an identity the
 * recipient's text appended to recipient when that is not NULL.
 */
int hv_key_generate(enum hv_key_kind kind, struct hv_buf *text,
    struct hv_buf *recipient, struct hv_err *e);

/*
 * The master key from its source: a file path, "keyring:NAME" (a "user"
 * key in the kernel keyring the process can see), or "command:CMD" (run by
 * /bin/sh; its stdout is the key text).  key is locked memory of
 * HV_KEY_LEN bytes owned by the caller.
 */
int hv_master_load(const char *source, uint8_t key[HV_KEY_LEN], struct hv_err *e);

/*
 * Run a "command:CMD" source now and keep its key, in locked memory, for
 * every later hv_master_load of the same source in this process (its
 * failure too): the sandbox (sandbox.h) runs no command.  Other sources
 * are read when loaded, and nothing is done here.  Returns 0 or the
 * command's failure.
 */
int hv_master_preload(const char *source, struct hv_err *e);

/* A purpose key: HKDF-SHA256(master, info = "hv/v1 " purpose). */
int hv_key_derive(uint8_t out[HV_KEY_LEN], const uint8_t master[HV_KEY_LEN],
    const char *purpose, struct hv_err *e);

#endif
