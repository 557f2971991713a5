/*
 * seal: the hv-seal(5) format, version 1: streaming authenticated
 * encryption in segments, to a symmetric key or an X25519 recipient.
 *
 * A sealed stream is a header and then segments.  Each segment is
 * AES-256-GCM under a per-file key; its nonce carries the segment index and
 * a last-segment flag, so segments cannot be reordered, dropped, spliced
 * from another file, or followed by extra bytes, and a cut at a segment
 * boundary is caught.  The per-file key is derived from the key, a random
 * salt, the whole header and the caller's context string, so every
 * parameter that shapes decryption is authenticated and a file moved to
 * another context does not open.  man/hv-seal.5 documents every byte.
 *
 * The core below seals and opens one segment at a time in caller-owned
 * buffers; hv_seal_fd()/hv_open_fd() and the _mem variants drive it.
 */
#ifndef HV_SEAL_H
#define HV_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define HV_SEAL_MAGIC "hvseal"
#define HV_SEAL_VERSION 1
#define HV_SEAL_KEY_LEN 32
#define HV_SEAL_ID_LEN 8
#define HV_SEAL_SALT_LEN 32
#define HV_SEAL_TAG_LEN 16
#define HV_SEAL_LOG2_SEGMENT 16		/* what hv writes: 64 KiB */
#define HV_SEAL_LOG2_MIN 12
#define HV_SEAL_LOG2_MAX 20
#define HV_SEAL_HDR_SYMMETRIC 82
#define HV_SEAL_HDR_RECIPIENT 162
#define HV_SEAL_HDR_MAX HV_SEAL_HDR_RECIPIENT
#define HV_SEAL_CONTEXT_MAX 4096		/* longer contexts are refused */

enum hv_seal_mode {
	HV_SEAL_SYMMETRIC = 1,
	HV_SEAL_RECIPIENT = 2,
};

/*
 * A key: symmetric (secret), an X25519 recipient (public only), or an
 * X25519 identity (secret and public).  Always made by hv_seal_key_*()
 * in locked memory and released with hv_seal_key_free().
 */
struct hv_seal_key {
	enum hv_seal_mode mode;
	int has_secret;
	uint8_t secret[HV_SEAL_KEY_LEN];	/* symmetric key or X25519 private */
	uint8_t pub[HV_SEAL_KEY_LEN];		/* X25519 public (recipient mode) */
	uint8_t id[HV_SEAL_ID_LEN];		/* what the header names */
};

/* Keys from raw bytes; each computes the key id. */
int hv_seal_key_symmetric(struct hv_seal_key **k, const uint8_t key[HV_SEAL_KEY_LEN],
    struct hv_err *e);
int hv_seal_key_identity(struct hv_seal_key **k, const uint8_t priv[HV_SEAL_KEY_LEN],
    struct hv_err *e);
int hv_seal_key_recipient(struct hv_seal_key **k, const uint8_t pub[HV_SEAL_KEY_LEN],
    struct hv_err *e);
void hv_seal_key_free(struct hv_seal_key *k);

/* A parsed header, for the opener and for hv-seal inspect. */
struct hv_seal_header {
	unsigned version;
	enum hv_seal_mode mode;
	unsigned log2_segment;
	uint8_t key_id[HV_SEAL_ID_LEN];
	uint8_t salt[HV_SEAL_SALT_LEN];
	uint8_t ephemeral[HV_SEAL_KEY_LEN];	/* recipient mode */
	uint8_t wrapped[HV_SEAL_KEY_LEN + HV_SEAL_TAG_LEN];
	uint8_t mac[32];
	size_t len;				/* header bytes on the wire */
};

/*
 * Parse the header at the start of p (avail bytes).  HV_EDATA, naming what
 * is wrong, for a foreign magic, an unknown version or mode, a bad segment
 * size, a reserved byte set, or fewer bytes than the header needs.  Does
 * not authenticate: only opening does.
 */
int hv_seal_header_parse(struct hv_seal_header *h, const uint8_t *p, size_t avail,
    struct hv_err *e);

/* Fixed randomness, for the test vectors of hv-seal(5) only. */
struct hv_seal_fixed {
	uint8_t salt[HV_SEAL_SALT_LEN];
	uint8_t file_key[HV_SEAL_KEY_LEN];	/* recipient mode */
	uint8_t ephemeral[HV_SEAL_KEY_LEN];	/* recipient mode, private */
};

struct hv_sealer;

/*
 * Start sealing to k (a symmetric key or a recipient) bound to ctx (ctxlen
 * bytes, may be empty, at most HV_SEAL_CONTEXT_MAX: HV_EUSAGE when
 * longer).  Writes the header to hdr (HV_SEAL_HDR_MAX bytes of
 * room) and its length to *hdrlen.  fixed is NULL but in tests.
 */
int hv_sealer_new(struct hv_sealer **s, const struct hv_seal_key *k,
    const void *ctx, size_t ctxlen, const struct hv_seal_fixed *fixed,
    uint8_t *hdr, size_t *hdrlen, struct hv_err *e);

/* Plaintext bytes per full segment. */
size_t hv_sealer_segment_size(const struct hv_sealer *s);

/*
 * Seal the next segment: n bytes (a full segment unless last; the last may
 * be short, and is empty only when the whole stream is) to out, which has
 * room for n + HV_SEAL_TAG_LEN.  After the last segment, nothing more.
 */
int hv_sealer_segment(struct hv_sealer *s, const uint8_t *in, size_t n, int last,
    uint8_t *out, struct hv_err *e);

void hv_sealer_free(struct hv_sealer *s);

struct hv_opener;

/*
 * Start opening a stream whose header begins at p (avail bytes) with key k
 * (symmetric, or an identity) and context ctx.  Sets *hdrlen to the bytes
 * the header took.  HV_EDATA for a bad or short header, or one that does
 * not authenticate (tampered, or another context); HV_EPERM when it names
 * another key than k.
 */
int hv_opener_new(struct hv_opener **o, const struct hv_seal_key *k,
    const void *ctx, size_t ctxlen, const uint8_t *p, size_t avail,
    size_t *hdrlen, struct hv_err *e);

/* Plaintext bytes per full segment of the stream being opened. */
size_t hv_opener_segment_size(const struct hv_opener *o);

/*
 * Open the next segment: n bytes of ciphertext with its tag (n >= 16) into
 * out (n - 16 bytes).  last says whether the stream ends after it.
 * HV_EDATA when it does not authenticate at this place as this kind.
 */
int hv_opener_segment(struct hv_opener *o, const uint8_t *in, size_t n, int last,
    uint8_t *out, struct hv_err *e);

void hv_opener_free(struct hv_opener *o);

/*
 * Whole streams.  hv_seal_fd/hv_open_fd read in_fd to its end and write
 * out_fd in constant memory.  hv_open_fd writes only authenticated
 * plaintext; when it fails after writing some and out_fd is a regular file,
 * it cuts out_fd back to where it started, so no partial plaintext remains.
 * On a pipe the reader must go by the exit status.
 */
int hv_seal_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e);
int hv_open_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e);

/* Memory to memory; out is appended to (mark it secret for plaintext). */
int hv_seal_mem(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    const void *in, size_t n, struct hv_buf *out, struct hv_err *e);
int hv_open_mem(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    const void *in, size_t n, struct hv_buf *out, struct hv_err *e);

#endif
