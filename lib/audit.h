/*
 * audit: the tamper-evident trail of hv-audit(5), and the one call every
 * tool appends to it with.
 *
 * Every action on customer data or secrets appends one event: a JSON line
 * naming who (host, uid, user, tool, pid), what (action), on what (target
 * fields: accounts, an HMAC of a Message-ID; never a subject, an address
 * of a correspondent, a body or a secret), and how it ended (outcome,
 * error).  Each line carries the SHA-256 of the previous line's stored
 * bytes and an HMAC under a key that is replaced after every line by
 * HMAC(key, "next") and then wiped, so whoever takes the host later holds
 * only today's key and cannot rewrite yesterday's lines unseen by a
 * verifier who holds the first key.  Every N events or T seconds a
 * checkpoint line, signed with Ed25519, binds sequence number, time and
 * chain; a verifier who knows how fresh the last one must be sees a cut
 * tail.
 *
 * Files, beside the log (paths.audit in hv.conf(5), say audit.log):
 *
 *	audit.log	the trail, 0600, appended with O_APPEND, one write a line
 *	audit.log.N	rotated files, N the seq of their first line
 *	audit.log.state	the appender's state: next seq, last hash, current
 *			MAC key, signing key (0600, replaced atomically)
 *	audit.log.lock	flock(2)ed around read-state, append, write-state
 *	audit.log.key0	the first MAC key, written once at creation: move it
 *			off the host; verify takes it back with -k
 *	audit.log.optout  identifiers left out of exports, one a line
 *	audit.log.torn.N  bytes a repair cut off the log (N the first seq
 *			lost), 0600
 *
 * Durability: when hv_audit_log() or hv_audit_batch_flush() returns 0 the
 * events are on stable storage (the log is fdatasync'ed before the state
 * moves on).  A crash after the write and before the state is replaced is
 * repaired by the next append, which checks the extra lines against the
 * old state and adopts each that continues the chain; the first torn line
 * (cut short, or holding the NUL bytes a power cut can leave where pages
 * reached the disk out of order) and all after it were never acknowledged
 * and are cut off.  A batch is one write of many lines, so a crash can
 * leave any prefix of it, ending in a torn line or not: the trail then
 * verifies up to the last whole line, as after a crash in a single append,
 * and the next append repairs it the same way.  Adopted lines are events
 * whose flush never returned: their caller may log them again after a
 * restart, so a crash can duplicate an event, never lose an acknowledged
 * one.
 *
 * Unless the storage lies: one that acknowledged an fdatasync and lost the
 * write leaves the log behind its state (cut short, or zeros where its
 * last pages were).  Appends then refuse (HV_EDATA, naming hv-audit
 * repair) until a person runs hv_audit_repair(), which records the loss
 * in the trail.  An append checks the file's size and its last line
 * against the state, no more: tampering before the end is verify's to
 * find.  A full disk fails an append with HV_EIO ("no space left on
 * device") and leaves the log as its state says: what part of the lines
 * got in is cut off again.
 *
 * Concurrency: any number of processes may append at once; the lock
 * serialises them, so the chain never forks and lines never interleave.
 * Appending blocks while another process holds the lock (milliseconds).
 */
#ifndef HV_AUDIT_H
#define HV_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "err.h"

#define HV_AUDIT_LINE_MAX 4096	/* bytes of a line, its newline included */
#define HV_AUDIT_FIELDS_MAX 16	/* target fields of one event */
#define HV_AUDIT_VALUE_MAX 512	/* bytes of one field value or error */
#define HV_AUDIT_MSGID_LEN 32	/* hex characters of a Message-ID's HMAC */
#define HV_AUDIT_BATCH_MAX 1024	/* events queued in one batch */
#define HV_AUDIT_REPAIR_MAX 1000000 /* seqs one repair may declare lost: a
				 * verifier ratchets its key over each */

/*
 * Actions, "noun.verb"; every one hv writes is here, and in hv-audit(5) for
 * those who write watch rules (tests/e2e/audit.t checks that they agree).
 * A tool may add its own in the same shape
 * ([a-z][a-z0-9_]*(\.[a-z0-9_]+)*, at most 64 bytes).  Target fields in
 * brackets.
 */
#define HV_AUDIT_TOKEN_MINT	"token.mint"	/* [account] login, service account */
#define HV_AUDIT_TOKEN_REFRESH	"token.refresh"	/* [account] */
#define HV_AUDIT_TOKEN_REVOKE	"token.revoke"	/* [account] */
#define HV_AUDIT_TOKEN_USE	"token.use"	/* [account] hv-auth token */
#define HV_AUDIT_MSG_FETCH	"message.fetch"	/* [account, msgid, team] */
#define HV_AUDIT_MSG_IMPORT	"message.import" /* [account, msgid, team] */
#define HV_AUDIT_MSG_SKIP	"message.skip"	/* [account, msgid, team] */
#define HV_AUDIT_MSG_CONFLICT	"message.conflict" /* [account, msgid, team] another
					 * message's Message-ID, other content */
#define HV_AUDIT_SPOOL_PURGE	"spool.purge"	/* [file] a spool file unlinked */
#define HV_AUDIT_SPOOL_OVERDUE	"spool.overdue"	/* [file] found past its deadline */
#define HV_AUDIT_SPOOL_DISK	"spool.disk"	/* [path] spool found on disk */
#define HV_AUDIT_EPOCH_DESTROY	"epoch.destroy"	/* [epoch] epoch key destroyed */
#define HV_AUDIT_ERASE		"account.erase"	/* [account] GDPR erasure */
#define HV_AUDIT_BACKUP		"backup.create"	/* [backup, target] */
#define HV_AUDIT_RESTORE	"backup.restore" /* [backup, target] */
#define HV_AUDIT_BACKUP_VERIFY	"backup.verify"	/* [backup, target] */
#define HV_AUDIT_BACKUP_PRUNE	"backup.prune"	/* [backup, target] one deleted */
#define HV_AUDIT_LABEL_PROPAGATE "label.propagate" /* [account, team, msgid, label, op] */
#define HV_AUDIT_KEY_ROTATE	"key.rotate"	/* master key rotated */
#define HV_AUDIT_KEY_REFUSE	"key.refuse"	/* [file] unsafe or wrong key */
#define HV_AUDIT_CONFIG_REFUSE	"config.refuse"	/* [file] */
#define HV_AUDIT_TAMPER		"audit.tamper"	/* [file] verify found tampering */
#define HV_AUDIT_CHECKPOINT	"audit.checkpoint" /* written by this module */
#define HV_AUDIT_ROTATE		"audit.rotate"	/* [file] the file rotated away */
#define HV_AUDIT_OPTOUT		"audit.optout"	/* an opt-out added or removed */
#define HV_AUDIT_EXPORT		"audit.export"	/* an export was made */
#define HV_AUDIT_REPAIR		"audit.repair"	/* written by this module: see
						 * hv_audit_repair */

enum hv_audit_outcome {
	HV_AUDIT_OK,		/* "ok": done */
	HV_AUDIT_FAIL,		/* "fail": tried and failed; say why in error */
	HV_AUDIT_REFUSED,	/* "refused": not attempted, policy or permission */
};

struct hv_audit_field {
	const char *key;	/* borrowed: [a-z][a-z0-9_]*, at most 32 bytes */
	const char *value;	/* borrowed: text, at most HV_AUDIT_VALUE_MAX bytes */
};

/*
 * Append one event to the trail named by c->paths.audit, creating the
 * trail (and its first key, audit.log.key0) when none exists yet.  action
 * is one of the names above; fields (n of them, n may be 0) become the
 * "target" object in that order; error is NULL or one line saying why the
 * action failed (longer text is cut at HV_AUDIT_VALUE_MAX with "..."),
 * and must hold no secret.  A checkpoint follows the event when one is
 * due (c->audit.checkpoint_events events or checkpoint_interval seconds
 * since the last).
 *
 * Refused with HV_EINTERNAL (a bug in the caller): a malformed action or
 * key, a key that names content ("subject", "from", "to", "body", "token",
 * "secret", ...), a "msgid" that is not hv_audit_msgid()'s output, too
 * many fields, the actions this module writes itself (audit.checkpoint,
 * audit.repair).  HV_EDATA when the trail does not match its state (cut
 * or torn: the message says to run hv-audit repair; replaced, foreign
 * lines); HV_EIO, HV_ECANTCREAT when it cannot be written (a full disk:
 * HV_EIO, said as such).
 *
 * A tool calls it after each action, success or not, and treats a failure
 * to log like a failure of the action: report it and stop.  It is a batch
 * of one (below): one lock, one write, one fdatasync, one state update.
 *
 *	struct hv_audit_field f[] = {
 *		{ "account", acct },
 *		{ "msgid", msgid_hmac },	// from hv_audit_msgid()
 *	};
 *	r = hv_audit_log(cfg, HV_AUDIT_MSG_FETCH, f, 2, HV_AUDIT_OK, NULL, e);
 */
int hv_audit_log(const struct hv_config *c, const char *action,
    const struct hv_audit_field *fields, size_t n,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e);

/*
 * Batches: several events appended together, with one lock, one write(2)
 * of all their lines (O_APPEND), one fdatasync and one state update.  The
 * lines are byte for byte what appending the events one by one at that
 * moment would give: each its own seq, time (taken as its line is built,
 * at the flush, not when it was queued), prev and MAC under its own key,
 * and a checkpoint after any event that makes one due; no verifier can
 * tell a batch from single appends.  Another process's appends come
 * before or after a whole batch, never inside it.
 *
 * A queued event is not in the trail.  What a batch saves is the price of
 * that: a crash before the flush loses the events queued (the actions
 * they record may have happened), so a caller flushes before it reports
 * the actions done or commits state that depends on them being logged,
 * and at least every few seconds.  A batch is used by one thread.
 *
 *	b = hv_audit_batch_new(cfg, audit_key);
 *	for each copy made:
 *		hv_audit_batch_message(b, HV_AUDIT_MSG_IMPORT, member, team,
 *		    message_id, HV_AUDIT_OK, NULL, e);
 *	r = hv_audit_batch_flush(b, e);	// before the index commit
 *	hv_audit_batch_free(b);
 */
struct hv_audit_batch;

/*
 * A batch for the trail of c (borrowed, must outlive the batch).  key is
 * the audit purpose key for hv_audit_batch_message (borrowed, must outlive
 * the batch), or NULL when only hv_audit_batch_log is used.  Never NULL
 * (out of memory aborts).
 */
struct hv_audit_batch *hv_audit_batch_new(const struct hv_config *c, const uint8_t key[32]);

/*
 * Queue the event hv_audit_log() would append; nothing is written yet and
 * the strings are copied.  Refused as hv_audit_log refuses, with
 * HV_EINTERNAL and nothing queued: a malformed event, and an event that
 * would not fit in HV_AUDIT_LINE_MAX bytes at the largest seq there can be
 * (so whether it fits does not depend on where the trail stands); also a
 * batch that holds HV_AUDIT_BATCH_MAX events already (flush first).
 */
int hv_audit_batch_log(struct hv_audit_batch *b, const char *action,
    const struct hv_audit_field *fields, size_t n, enum hv_audit_outcome outcome,
    const char *error, struct hv_err *e);

/* Queue the event hv_audit_message() would append, as hv_audit_batch_log.
 * HV_EINTERNAL when the batch has no key. */
int hv_audit_batch_message(struct hv_audit_batch *b, const char *action,
    const char *account, const char *team, const char *message_id,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e);

/* Number of events queued and not yet flushed. */
size_t hv_audit_batch_len(const struct hv_audit_batch *b);

/*
 * Append every queued event: one lock, one write, one fdatasync, one state
 * update.  0 when all are on stable storage; otherwise none was
 * acknowledged and the error is as hv_audit_log's (HV_EDATA, HV_EIO,
 * HV_ECANTCREAT, HV_ECONFIG): a run that cannot keep its trail stops.  The
 * queue is empty after, also on failure.  A flush of nothing is 0 and
 * touches no file.  Blocks while another process holds the trail's lock.
 */
int hv_audit_batch_flush(struct hv_audit_batch *b, struct hv_err *e);

/* Free b; queued events not flushed are dropped (the caller flushes
 * first).  NULL is fine. */
void hv_audit_batch_free(struct hv_audit_batch *b);

/*
 * The "msgid" target value for a Message-ID (len bytes, angle brackets
 * and all, as in the header): the first 16 bytes of HMAC-SHA256 under
 * key, in lowercase hex and a NUL.  key is the purpose key
 * hv_key_derive(master, "audit"), so whoever holds the master key can
 * find a message's events (hv-audit msgid) and nobody else can.
 */
void hv_audit_msgid(char out[HV_AUDIT_MSGID_LEN + 1], const uint8_t key[32],
    const char *msgid, size_t len);

/* Create the trail now (what the first append does by itself): the log,
 * its state, audit.log.key0 and a first checkpoint.  HV_ECANTCREAT when
 * a trail or its state already exists. */
int hv_audit_init(const struct hv_config *c, struct hv_err *e);

/*
 * Whether the trail can be appended to now, before a run does anything it
 * must log: what the first append would do and refuse (HV_EDATA for a
 * torn or cut tail, naming hv-audit repair; HV_EIO, HV_ECANTCREAT), with
 * nothing appended unless the trail is new (then it is created).  A run
 * that checks first stops with one error, rather than after acting.
 */
int hv_audit_ready(const struct hv_config *c, struct hv_err *e);

/* Append a signed checkpoint now, whatever is due. */
int hv_audit_checkpoint(const struct hv_config *c, struct hv_err *e);

/*
 * End the current file with a checkpoint, rename it to audit.log.N (N the
 * seq of its first line; its name is returned in *rotated, owned by the
 * caller) and start an empty file whose first line chains to it.
 */
int hv_audit_rotate(const struct hv_config *c, char **rotated, struct hv_err *e);

/* The checkpoint public key as text ("hvsig1..."), for a verifier. */
int hv_audit_pubkey(const struct hv_config *c, struct hv_buf *out, struct hv_err *e);

/*
 * Sign n bytes of msg with the trail's checkpoint key (Ed25519), so that
 * what the host made (its backups) can be told from what others made: the
 * key whose public half hv_audit_pubkey() prints.  HV_ENOINPUT when there
 * is no trail yet.
 */
int hv_audit_sign(const struct hv_config *c, const void *msg, size_t n,
    uint8_t sig[64], struct hv_err *e);

/* Decode "hvsig1..." text (len bytes, white space around allowed). */
int hv_audit_pubkey_decode(const char *text, size_t len, uint8_t pub[32],
    struct hv_err *e);

/*
 * The files of the trail in order: rotated files by their first seq, then
 * the log itself when it exists.  *files is a NULL-terminated list owned
 * by the caller (hv_audit_files_free).  HV_ENOINPUT when there are none.
 */
int hv_audit_files(const char *log, char ***files, struct hv_err *e);
void hv_audit_files_free(char **files);

/*
 * Repair of a torn tail: hv-audit repair, run by a person, never by
 * itself.
 *
 * Storage that acknowledged an fdatasync and lost the write in a power
 * cut leaves the log behind its state: its last line cut short, whole
 * lines gone, or NUL bytes where its last pages never reached the disk.
 * Every append then refuses (HV_EDATA), since acknowledged events are
 * gone.  A repair records the loss in the trail rather than hiding it:
 * the torn bytes are cut off the log and kept aside (LOG.torn.SEQ, 0600),
 * then an audit.repair event is appended at the seq the state expects
 * next, chained to the last good line and MACed under the state's key,
 * which is that seq's key (a verifier ratchets its own over the lost
 * seqs), and a signed checkpoint follows it.  Lost seqs are never reused.
 * Its target fields, all strings:
 *
 *	first_lost, last_lost	the seqs lost (decimal)
 *	lost_bytes	bytes the state counted past the last good line
 *	cut_bytes	bytes cut off the log (the torn part), kept aside
 *	torn_sha256	SHA-256 of those bytes, hex (of nothing when none)
 *	torn_file	where they were kept; absent when none were cut
 */

/* What the current file of a trail holds, measured against its state. */
enum hv_audit_tail_kind {
	HV_AUDIT_TAIL_OK,	/* all the state counts is there; more, whole or
				 * torn, is for the next append to recover */
	HV_AUDIT_TAIL_TORN,	/* lines the state counts are gone or torn, at
				 * the end and only there: repairable */
	HV_AUDIT_TAIL_BAD,	/* anything else (a line that is whole and does
				 * not chain, a malformed line, the last line not
				 * the state's): tampering, for verify to name */
};

struct hv_audit_tail {
	enum hv_audit_tail_kind kind;
	uint64_t file_bytes;	/* the file's size */
	uint64_t good_bytes;	/* its whole lines that chain, from the start */
	uint64_t good_lines;
	uint64_t good_next;	/* the seq after the last of them */
	uint8_t good_hash[32];	/* SHA-256 of the last of them */
	uint64_t first_lost;	/* TORN: the seqs the state counts that are gone */
	uint64_t last_lost;
	uint64_t lost_bytes;	/* TORN: bytes the state counts past good_bytes */
	uint64_t cut_bytes;	/* TORN: bytes of the file past good_bytes */
	uint8_t cut_sha256[32];	/* TORN: their SHA-256 */
	char why[256];		/* BAD: what is wrong, one line */
};

/*
 * Measure the current file's text (buf, len bytes) against the state
 * (state_seq the next seq, state_size the file's size, state_prev the hash
 * of its last line).  The file continues the trail at base_next after a
 * line hashing to base_hash (from the rotated file before it); base_hash
 * NULL when that is not known: the first line is then taken as it is.
 * Reads nothing else; never fails.
 */
void hv_audit_tail_analyse(const char *buf, size_t len, uint64_t state_seq,
    uint64_t state_size, const uint8_t state_prev[32], uint64_t base_next,
    const uint8_t *base_hash, struct hv_audit_tail *t);

/*
 * Called by hv_audit_repair with the trail locked, once the loss is known
 * and before anything changes: torn_file is where the cut bytes will go
 * (NULL when none are cut).  0 to go on; any status stops the repair,
 * which returns it, nothing changed.
 */
typedef int (*hv_audit_confirm_fn)(void *arg, const struct hv_audit_tail *t,
    const char *torn_file);

struct hv_audit_repair_result {
	struct hv_audit_tail tail;	/* kind OK: there was nothing to repair */
	uint64_t repair_seq;	/* the audit.repair line; its checkpoint follows */
	char *torn_file;	/* owned: where the cut bytes are, or NULL */
};

/*
 * Repair the torn tail of c's trail, as above: 0 with res->tail.kind TORN
 * when repaired, OK when there was nothing to repair (nothing changed);
 * HV_EDATA when the damage is not a torn tail (nothing changed: a repair
 * does not paper over tampering); HV_ENOINPUT without a trail;
 * HV_ECANTCREAT when the torn bytes' file exists; HV_EIO.  The log is read
 * whole.  Free res with hv_audit_repair_result_free.
 */
int hv_audit_repair(const struct hv_config *c, hv_audit_confirm_fn confirm, void *arg,
    struct hv_audit_repair_result *res, struct hv_err *e);

void hv_audit_repair_result_free(struct hv_audit_repair_result *res);

/* What an audit.repair line says of its gap, and who made it. */
struct hv_audit_repair_info {
	uint64_t first_lost, last_lost;
	char user[65];
	char time[28];
};

/*
 * Read line (len bytes, no newline) as an audit.repair event: 0, or
 * HV_EDATA when it is not one or its fields are missing or malformed
 * (first_lost <= last_lost, both below the line's seq, at most
 * HV_AUDIT_REPAIR_MAX of them).
 */
int hv_audit_parse_repair(const char *line, size_t len, struct hv_audit_repair_info *ri,
    struct hv_err *e);

/*
 * Reading lines.  A reader hands out each line of a file without its
 * newline, pointing into its own buffer (valid until the next call).
 */
struct hv_audit_reader;

/* A reader over fd (not closed by the reader); name is for messages. */
struct hv_audit_reader *hv_audit_reader_new(int fd, const char *name);

/*
 * The next line: 1 and *line, *len; 0 at the end of the file (a reader
 * may be called again after more is appended); HV_EDATA for a line over
 * HV_AUDIT_LINE_MAX (skipped, so the caller may go on) or a last line
 * without its newline (with follow set, such a line is waited for
 * instead); HV_EIO when reading fails.  *lineno is the line's number in
 * the file, from 1.
 */
int hv_audit_read_line(struct hv_audit_reader *r, int follow, const char **line,
    size_t *len, unsigned long *lineno, struct hv_err *e);

void hv_audit_reader_free(struct hv_audit_reader *r);

/*
 * A parsed line: the fields integrity depends on, found at their fixed
 * places (hv-audit(5)) without parsing the JSON in between.
 */
struct hv_audit_line {
	uint64_t seq;
	const char *time;	/* borrowed: 27 bytes, not NUL-terminated */
	int checkpoint;		/* 1 for an audit.checkpoint line */
	int repair;		/* 1 for an audit.repair line */
	const char *sig;	/* borrowed: 128 hex digits, on checkpoints */
	const char *prev;	/* borrowed: 64 hex digits */
	const char *mac;	/* borrowed: 64 hex digits */
	uint8_t prevb[32];	/* prev and mac decoded */
	uint8_t macb[32];
	size_t bodylen;		/* bytes the MAC covers */
};

/* Parse line (len bytes, no newline): 0, or HV_EDATA saying what is wrong
 * (an unknown version is named as such). */
int hv_audit_parse(struct hv_audit_line *l, const char *line, size_t len,
    struct hv_err *e);

/*
 * Verification, one line at a time across any number of files.  The
 * verifier checks seq continuity, the hash chain, with key0 every line's
 * MAC under its own key, and with pub every checkpoint's signature.  It
 * stops at the first problem and names it in e: "seq N: modified ...",
 * "deleted", "inserted", "reordered", "malformed".  A problem may only be
 * known one line later, so the verdict on line i can come from the call
 * for line i+1 or from hv_audit_verify_end().
 */
struct hv_audit_verify;

/*
 * key0 (32 bytes) and pub (32 bytes) may be NULL: then MACs, or
 * signatures, are not checked.  from_start: the first line must be seq 0.
 * A gap closed by an audit.repair line is not a problem: the verifier
 * checks the line over it (see hv_audit_verify_gap) and goes on.
 */
struct hv_audit_verify *hv_audit_verify_new(const uint8_t *key0,
    const uint8_t *pub, int from_start);

/*
 * The highest seq the first line may have (a file that does not start the
 * trail).  With key0 the verifier ratchets the key over every seq before
 * it, one HMAC each, so a forged seq near 2^64 would hold it for ever: a
 * first line past the limit fails at once (HV_EDATA).  By default
 * HV_AUDIT_REPAIR_MAX; hv_audit_verify_files() sets it from its files.
 */
void hv_audit_verify_limit(struct hv_audit_verify *v, uint64_t first_seq_max);

/* Feed one line (no newline); 0 so far so good, HV_EDATA on a problem. */
int hv_audit_verify_line(struct hv_audit_verify *v, const char *line, size_t len,
    struct hv_err *e);

/* The end of the trail: 0 or HV_EDATA for a problem still pending. */
int hv_audit_verify_end(struct hv_audit_verify *v, struct hv_err *e);

#define HV_AUDIT_LINE_MIN 211	/* bytes of the shortest line hv_audit_parse
				 * takes, its newline included */

struct hv_audit_verify_status;

/* Told how far a verification is: lines of file done so far. */
typedef void (*hv_audit_progress_fn)(void *arg, const char *file, uint64_t lines);

/*
 * Feed every line of files (NULL-terminated, in trail order) to v, as
 * hv_audit_verify_line would, and stop at the first problem: HV_EDATA
 * naming it (a line over HV_AUDIT_LINE_MAX, a last line without its
 * newline, what the verifier finds), HV_ENOINPUT or HV_EIO naming the
 * file.  Files are read in 4 MiB blocks, and with key0 the MACs are
 * computed on a second thread (started and joined within the call: a
 * sandbox must allow it) while this one reads, parses and hashes the next
 * block: the chain of keys is one sequence, the line hashes another, and
 * together they cost three times a plain SHA-256 of the file.  Unless v
 * starts at seq 0, the
 * first line's seq may be no more than the first file could hold lines
 * (its size over HV_AUDIT_LINE_MIN; hv_audit_verify_limit): nothing else
 * the files say is to be trusted, a name no more than a line, so a later
 * file is verified with key0 together with the files before it, from the
 * first.  progress may be NULL.
 * Call hv_audit_verify_end() after.
 */
int hv_audit_verify_files(struct hv_audit_verify *v, char *const *files,
    hv_audit_progress_fn progress, void *arg, struct hv_err *e);

/*
 * The end verified against the appender's state beside log: its next seq
 * and the hash of the last line must be what v accepted last (else a cut
 * tail or a modified last line, HV_EDATA), and with key0 its MAC key must
 * be the one key0 ratchets to at that seq, so a state rewritten to hide
 * lines cut after the last checkpoint is caught (the intruder holds only
 * the key of the seq the state had).  HV_EDATA too when there is no state
 * (a trail is never without one).  Call after hv_audit_verify_end().
 */
int hv_audit_verify_state(struct hv_audit_verify *v, const char *log, struct hv_err *e);

/*
 * Freshness: 0 when the last checkpoint in s is at most max_age seconds
 * older than now; HV_EDATA ("tail cut?") when it is older or there is
 * none.
 */
int hv_audit_verify_fresh(const struct hv_audit_verify_status *s, long max_age, time_t now,
    struct hv_err *e);

struct hv_audit_verify_status {
	uint64_t lines;		/* lines accepted */
	uint64_t first_seq, last_seq;
	uint8_t last_hash[32];	/* SHA-256 of the last line accepted */
	int have_checkpoint;
	uint64_t checkpoint_seq;
	time_t checkpoint_time;
	uint64_t signatures;	/* checkpoint signatures checked */
	uint64_t repairs;	/* audit.repair gaps accepted */
};

void hv_audit_verify_status(const struct hv_audit_verify *v,
    struct hv_audit_verify_status *s);

/*
 * The i-th gap (from 0) that an audit.repair line accounted for, in its
 * place in the chain: 1 and *g, 0 past the last.  A verifier accepts a
 * gap only with the repair line right after it, naming exactly the seqs
 * missing, chained to the line before the gap and (with key0) MACed
 * under the key of its own seq.
 */
int hv_audit_verify_gap(const struct hv_audit_verify *v, size_t i,
    struct hv_audit_repair_info *g, uint64_t *repair_seq);

void hv_audit_verify_free(struct hv_audit_verify *v);

/*
 * What the appender's state says the trail should end with, for a
 * verifier on the host: the next seq and the hash of the last line.
 * HV_ENOINPUT when there is no state.
 */
int hv_audit_state_tail(const char *log, uint64_t *next_seq, uint8_t last_hash[32],
    struct hv_err *e);

/*
 * The last checkpoint as the appender's state records it: its seq and
 * time (Unix seconds; 0 when there has been none).  HV_ENOINPUT when
 * there is no state.  Reads the state file only.
 */
int hv_audit_state_checkpoint(const char *log, uint64_t *seq, long long *time,
    struct hv_err *e);

/* Parse an RFC 3339 UTC time as in the log ("...Z", fraction optional,
 * or a date alone) to seconds since the epoch: 0 or HV_EDATA. */
int hv_audit_parse_time(const char *s, size_t len, time_t *out);

/* Format t (and usec) as the log writes it: 27 bytes and a NUL. */
void hv_audit_format_time(char out[28], time_t t, long usec);

/*
 * The event of an action on one message of a team in account's mailbox:
 * fields account, team and msgid (the HMAC of message_id under key, the
 * audit purpose key).  As hv_audit_log otherwise.
 */
int hv_audit_message(const struct hv_config *c, const uint8_t key[32], const char *action,
    const char *account, const char *team, const char *message_id,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e);

#endif
