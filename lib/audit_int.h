/*
 * audit_int: what the audit modules share and nothing else includes
 * (audit_format, audit_state, audit_append, audit_repair, audit_read,
 * audit_verify).  The public interface is audit.h.
 */
#ifndef HV_AUDIT_INT_H
#define HV_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "buf.h"
#include "crypto_sign.h"
#include "err.h"

/* The fixed places of hv-audit(5): a line starts and ends like this. */
#define VERSION_PREFIX "{\"v\":"
#define SEQ_KEY ",\"seq\":"
#define TIME_KEY ",\"time\":\""
#define ACTION_KEY "\",\"action\":\""
#define PREV_KEY ",\"prev\":\""
#define MAC_KEY ",\"mac\":\""
#define SIG_KEY ",\"sig\":\""
#define TIME_LEN 27
#define MAC_TAIL (sizeof MAC_KEY - 1 + 64 + 2)		/* ,"mac":"<64>"} */
#define PREV_TAIL (sizeof PREV_KEY - 1 + 64 + 1)	/* ,"prev":"<64>" */
#define SIG_TAIL (sizeof SIG_KEY - 1 + 128 + 1)		/* ,"sig":"<128>" */
#define CHECKPOINT_MSG "hv-audit checkpoint 1\n"
#define PUBKEY_PREFIX "hvsig1"

#define STATE_MAX 4096
/* More than a batch can write (HV_AUDIT_BATCH_MAX lines, with checkpoints). */
#define RECOVER_MAX (16 * 1024 * 1024)
#define READ_CHUNK (1024 * 1024)

/* ---- format ---- */

/* n bytes as 2n lowercase hex digits (no NUL). */
void audit_hex_encode(char *out, const uint8_t *in, size_t n);
/* 2n lowercase hex digits into n bytes: 0, or -1 for a bad digit. */
int audit_hex_decode(uint8_t *out, const char *in, size_t n);
int audit_is_hex(const char *s, size_t n);
/* A full disk or quota (errno err): said as such, never as tampering. */
int audit_full(int err);
/* s as a JSON string of at most max bytes, appended to b. */
int audit_add_string(struct hv_buf *b, const char *s, size_t max);
/* Decimal digits only, no sign: 0 or -1. */
int audit_parse_u64(const char *s, uint64_t *out);
/* The text a checkpoint signs; its length. */
size_t audit_checkpoint_msg(char *out, size_t max, uint64_t seq, const char *time,
    const char *prevhex);
/* SHA-256 of line and its newline, on sha (reset after). */
void audit_line_hash(struct hv_sha256 *sha, uint8_t out[32], const char *line, size_t len);
/* K_{i+1} = HMAC(K_i, "next"), in place; h is set to the new key. */
void audit_ratchet(struct hv_hmac *h, uint8_t key[32]);
/* "hvsig1..." for pub, appended to out. */
int audit_pubkey_encode(struct hv_buf *out, const uint8_t pub[32]);

/* ---- state ---- */

struct paths {
	char *log, *state, *tmp, *lock, *key0;
};

struct state {
	uint64_t seq;		/* of the next line */
	uint64_t size;		/* bytes in the current file */
	uint8_t prev[32];	/* hash of the last line */
	uint8_t *key;		/* secure: the next line's MAC key */
	uint8_t *sign;		/* secure: Ed25519 seed (key + 32) */
	uint64_t ckpt_seq;	/* the last checkpoint */
	long long ckpt_time;	/* 0: none yet */
};

#define SECRETS 64

char *audit_concat(const char *a, const char *b);
void audit_paths_init(struct paths *p, const char *log);
void audit_paths_free(struct paths *p);
/* HV_ENOINPUT when there is no state file. */
int audit_state_read(const struct paths *p, struct state *st, struct hv_err *e);
/* Replace the state atomically; syncdir: the directory too. */
int audit_state_write(const struct paths *p, const struct state *st, int syncdir,
    struct hv_err *e);
/* The directory of path (owned). */
char *audit_dir_of(const char *path);
/* fsync the directory holding path: -1 and errno on failure. */
int audit_sync_dir(const char *path);

/* ---- appending ---- */

/* Who appends: the same for every line of a process. */
struct ident {
	char host[256], user[64];
};

struct trail {
	struct paths p;
	struct state st;
	int lockfd, logfd, dirty;
	int syncdir;		/* the state's directory synced too (a repair) */
	int written;		/* lines went in at cut_to: taken back on failure */
	uint64_t cut_to;
	struct hv_hmac *hmac;
	struct hv_sha256 *sha;
	long every_events, every_secs;
	struct ident id;
	struct hv_buf out;	/* lines built and counted in st, not yet written */
};

struct event {
	const char *action;
	const struct hv_audit_field *fields;
	size_t n;
	enum hv_audit_outcome outcome;
	const char *error;
	const char *reason;	/* a checkpoint's, or NULL for an event */
};


/* OPEN_REPAIR: the state only; the log is left for the repair to read. */
enum open_flags { OPEN_APPEND, OPEN_CREATE_ONLY, OPEN_REPAIR };

/* Target, outcome and error of ev, appended to b. */
int audit_add_body(struct hv_buf *b, const struct event *ev);
/* Build a line at the trail's next seq into t->out; the state moves past it. */
int audit_append(struct trail *t, const char *action, const char *body, size_t blen,
    const char *reason, struct hv_err *e);
int audit_append_checkpoint(struct trail *t, const char *reason, struct hv_err *e);
/* Lock the trail and read its state (created when there is none);
 * id NULL to find out who appends. */
int audit_trail_open(struct trail *t, const struct hv_config *c, const struct ident *id,
    enum open_flags how, struct hv_err *e);
/* Write, sync, replace the state, unlock; r is the status so far. */
int audit_trail_close(struct trail *t, int r, struct hv_err *e);
/* 1 when the log is gone and the newest rotated file ends where the
 * state does (a rotation cut short): the state is moved on. */
int audit_rotation_done(struct trail *t);

#endif
