/*
 * audit_query: the trail read for people and programs: query (a jq
 * filter over every event), export (redacted, pseudonymous, opt-outs left
 * out), tail and follow; and the keys a verifier is given.
 *
 * Nothing here prints: output goes to a sink's write, and a line that
 * cannot be read is told to its warn and skipped (the result is then
 * HV_EDATA, once the rest is done).
 */
#ifndef HV_AUDIT_QUERY_H
#define HV_AUDIT_QUERY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "err.h"

struct hv_audit_sink {
	/* Output: 0, or HV_EIO to stop (the caller's stdout failed). */
	int (*write)(void *arg, const char *data, size_t len);
	/* One line about a line skipped, or NULL to say nothing. */
	void (*warn)(void *arg, const char *msg);
	void *arg;
};

/*
 * A time bound as hv-audit takes it: RFC 3339 UTC, a date, or a duration
 * ago ("90m", from now), into the log's 27-byte form (out[0] '\0' for
 * arg NULL: no bound).  HV_EUSAGE for anything else.
 */
int hv_audit_time_bound(const char *arg, time_t now, char out[28], struct hv_err *e);

/* Is the line's time within [since, until) ("" for no bound)?  1, 0, or
 * -1 when it is not a line. */
int hv_audit_in_window(const char *line, size_t len, const char *since, const char *until);

typedef int (*hv_audit_line_fn)(void *arg, const char *file, unsigned long lineno,
    const char *line, size_t len, struct hv_err *e);

/*
 * Every line of every file (NULL-terminated), in order, to fn; a line too
 * long or torn is told to warn (may be NULL) and skipped, and the result is
 * then HV_EDATA unless something worse happens.  fn's failure stops it.
 */
int hv_audit_each_line(char *const *files, hv_audit_line_fn fn, void *arg,
    void (*warn)(void *arg, const char *msg), void *warn_arg, struct hv_err *e);

/*
 * The outputs of the jq filter over every event of the trail of log, as
 * `jq -c` prints them, one a line, to out; since and until as from
 * hv_audit_time_bound.  HV_EDATA after all when a line was not an event
 * or the filter failed on one (each told to warn); HV_EUSAGE for a filter
 * jq refuses.
 */
int hv_audit_query(const char *log, const char *filter, const char *since,
    const char *until, const struct hv_audit_sink *out, struct hv_err *e);

/*
 * The events of the trail for analytics: checkpoints left out, and every
 * event of a user on the opt-out list (any identity in it: the user, the
 * target's account or any string of the target); each through the jq
 * redact filter (NULL: hour, tool, action, outcome and the pseudonym),
 * with .pseudonym the first 16 bytes of HMAC(key, identity) in hex, the
 * identity being the target's account or else the user.  key (32 bytes)
 * is the "audit-pseudonym" purpose key.  *events counts those written.
 */
int hv_audit_export(const char *log, const char *optout, const uint8_t key[32],
    const char *redact, const char *since, const char *until,
    const struct hv_audit_sink *out, unsigned long *events, struct hv_err *e);

typedef int (*hv_audit_event_fn)(void *arg, const char *line, size_t len, struct hv_err *e);

/*
 * Hand fn the lines of the log: the last n (n > 0), all (n == 0) or only
 * those to come (n < 0); with follow, wait for more (polling every 200 ms,
 * flushing nothing itself: idle is called before each wait, may be NULL),
 * across rotations, until *stop is set (by a signal handler).  Lines that
 * cannot be read are told to warn and skipped.
 */
int hv_audit_follow(const char *log, long n, int follow, volatile sig_atomic_t *stop,
    hv_audit_event_fn fn, void *arg, void (*idle)(void *arg),
    void (*warn)(void *arg, const char *msg), struct hv_err *e);

/* The first MAC key from the file path (as init wrote it), into key. */
int hv_audit_key0_read(const char *path, uint8_t key[32], struct hv_err *e);

/* A checkpoint public key from arg: "hvsig1..." text, or a file holding it. */
int hv_audit_pubkey_read(const char *arg, uint8_t pub[32], struct hv_err *e);

/* Is path the same file as the first key kept beside log (on this host)? */
int hv_audit_key0_beside(const char *path, const char *log);

/* The keys a verify checks with, and where they came from. */
struct hv_audit_verify_keys {
	uint8_t *key0;		/* secure, or NULL: no MACs checked */
	uint8_t pub[32];
	int have_pub;		/* pub holds a key: signatures checked */
	int anchored;		/* a key given from off this host (key0 or pubkey) */
	const char *beside;	/* key0 was read from beside the log, this path */
};

/*
 * key0 (a path), else for the trail's own files (own) the first key still
 * beside c's log; pubkey ("hvsig1..." or a file), else for own files the
 * state's public key.  A key that cannot be read fails; one that is not
 * there leaves its field empty.  Release k whatever the result.
 */
int hv_audit_verify_keys_load(const struct hv_config *c, const char *key0,
    const char *pubkey, int own, struct hv_audit_verify_keys *k, struct hv_err *e);
void hv_audit_verify_keys_release(struct hv_audit_verify_keys *k);

/*
 * hv-audit log: action and "key=value" words into an event, outcome "ok"
 * (or NULL), "fail" or "refused".  HV_EUSAGE for words that are not
 * key=value, too many, or a bad outcome; a field the library refuses is
 * HV_EUSAGE too.  The words are cut at their '='.
 */
int hv_audit_log_words(const struct hv_config *c, const char *action, char **words,
    size_t n, const char *outcome, const char *error, struct hv_err *e);

#endif
