/* audit_verify: the verifier, one line at a time across files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "banned.h"

/* ---- verification ---- */

enum pending { P_NONE, P_GAP, P_BAD };

struct hv_audit_verify {
	int have_key, have_pub, from_start, started, failed;
	uint8_t *key;		/* secure: the next line's MAC key */
	uint8_t pub[32];
	struct hv_hmac *hmac;
	struct hv_sha256 *sha;
	uint64_t next;		/* the seq expected */
	uint8_t prev[32];	/* hash of the last line accepted */
	struct hv_audit_verify_status s;
	enum pending pending;
	uint64_t pseq;		/* P_GAP: the seq found instead */
	char why[200];		/* P_BAD: the verdict unless the next line explains */
	struct gap {
		struct hv_audit_repair_info ri;
		uint64_t seq;	/* of the audit.repair line */
	} *gaps;		/* owned */
	size_t ngaps;
};

struct hv_audit_verify *
hv_audit_verify_new(const uint8_t *key0, const uint8_t *pub, int from_start)
{
	struct hv_audit_verify *v = hv_xcalloc(1, sizeof *v);

	v->key = hv_secure_alloc(32);
	v->hmac = hv_hmac_new();
	v->sha = hv_sha256_new();
	if (key0 != NULL) {
		v->have_key = 1;
		memcpy(v->key, key0, 32);
		hv_hmac_setkey(v->hmac, v->key);
	}
	if (pub != NULL) {
		v->have_pub = 1;
		memcpy(v->pub, pub, 32);
	}
	v->from_start = from_start;
	return v;
}

static int
fail(struct hv_audit_verify *v, struct hv_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct hv_audit_verify *v, struct hv_err *e, const char *fmt, ...)
{
	char msg[HV_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->failed = 1;
	return hv_err_set(e, HV_EDATA, "%s", msg);
}

/* Does l continue the chain as it stands (hash and MAC)? */
static int
chains(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line)
{
	uint8_t mac[32];

	if (memcmp(l->prevb, v->prev, 32) != 0)
		return 0;
	if (!v->have_key)
		return 1;
	hv_hmac_mac(v->hmac, mac, line, l->bodylen, NULL, 0);
	return hv_ct_equal(mac, l->macb, 32);
}

static int
deleted(struct hv_audit_verify *v, struct hv_err *e)
{
	if (v->pseq == v->next + 1)
		return fail(v, e, "seq %llu: deleted", (unsigned long long)v->next);
	return fail(v, e, "seq %llu to %llu: deleted", (unsigned long long)v->next,
	    (unsigned long long)v->pseq - 1);
}

/* The line after a problem decides what the problem was. */
static int
resolve(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    struct hv_err *e)
{
	if (v->pending == P_GAP) {
		if (l != NULL && l->seq == v->next)
			return fail(v, e, "seq %llu: reordered (found after seq %llu)",
			    (unsigned long long)v->next, (unsigned long long)v->pseq);
		return deleted(v, e);
	}
	if (l != NULL && l->seq == v->next && chains(v, l, line))
		return fail(v, e, "seq %llu: inserted (a line that does not chain comes "
		    "before it)", (unsigned long long)v->next);
	return fail(v, e, "%s", v->why);
}

static void
start(struct hv_audit_verify *v, const struct hv_audit_line *l)
{
	uint64_t i;

	v->started = 1;
	v->next = l->seq;
	v->s.first_seq = l->seq;
	memcpy(v->prev, l->prevb, 32);
	for (i = 0; v->have_key && i < l->seq; i++)
		audit_ratchet(v->hmac, v->key);
}

static int
check_signature(struct hv_audit_verify *v, const struct hv_audit_line *l, struct hv_err *e)
{
	uint8_t sig[HV_ED25519_SIG];
	char msg[160];
	size_t n;

	if (!v->have_pub)
		return 0;
	audit_hex_decode(sig, l->sig, sizeof sig);
	n = audit_checkpoint_msg(msg, sizeof msg, l->seq, l->time, l->prev);
	if (hv_ed25519_verify(v->pub, sig, msg, n, NULL) < 0)
		return fail(v, e, "seq %llu: modified (the checkpoint signature does not "
		    "verify)", (unsigned long long)l->seq);
	v->s.signatures++;
	return 0;
}

static void
accept(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    size_t len)
{
	time_t t;

	audit_line_hash(v->sha, v->prev, line, len);
	memcpy(v->s.last_hash, v->prev, 32);
	if (v->have_key)
		audit_ratchet(v->hmac, v->key);
	if (l->checkpoint && hv_audit_parse_time(l->time, TIME_LEN, &t) == 0) {
		v->s.have_checkpoint = 1;
		v->s.checkpoint_seq = l->seq;
		v->s.checkpoint_time = t;
	}
	v->s.last_seq = l->seq;
	v->s.lines++;
	v->next++;
}

/* A line whose seq is not the one expected. */
static int
out_of_place(struct hv_audit_verify *v, const struct hv_audit_line *l, struct hv_err *e)
{
	if (l->seq > v->next) {
		v->pending = P_GAP;
		v->pseq = l->seq;
		return 0;
	}
	if (l->seq + 1 == v->next)
		return fail(v, e, "seq %llu: inserted (a second line with that seq)",
		    (unsigned long long)l->seq);
	return fail(v, e, "seq %llu: reordered (found after seq %llu)",
	    (unsigned long long)l->seq, (unsigned long long)v->next - 1);
}

/*
 * An audit.repair line: the seqs it says were lost must be exactly those
 * missing before it, it must chain to the line before them, and its MAC
 * is under the key of its own seq (the ratchet moved over the lost ones,
 * as the appender's did).
 */
static int
repair_gap(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    size_t len, struct hv_err *e)
{
	struct hv_audit_repair_info ri;
	struct hv_err why = { 0 };
	uint64_t i;

	if (hv_audit_parse_repair(line, len, &ri, &why) < 0)
		return fail(v, e, "%s", why.msg);
	if (ri.first_lost != v->next || ri.last_lost + 1 != l->seq)
		return fail(v, e, "seq %llu: modified (an audit.repair saying seq %llu to "
		    "%llu were lost, after seq %llu)", (unsigned long long)l->seq,
		    (unsigned long long)ri.first_lost, (unsigned long long)ri.last_lost,
		    (unsigned long long)v->next - 1);
	if (memcmp(l->prevb, v->prev, 32) != 0)
		return fail(v, e, "seq %llu: modified (an audit.repair whose prev does not "
		    "match the hash of seq %llu)", (unsigned long long)l->seq,
		    (unsigned long long)v->next - 1);
	for (i = v->next; v->have_key && i < l->seq; i++)
		audit_ratchet(v->hmac, v->key);
	v->next = l->seq;
	if (!chains(v, l, line))
		return fail(v, e, "seq %llu: modified (its MAC does not match)",
		    (unsigned long long)l->seq);
	v->gaps = hv_xrealloc(v->gaps, (v->ngaps + 1) * sizeof *v->gaps);
	v->gaps[v->ngaps].ri = ri;
	v->gaps[v->ngaps].seq = l->seq;
	v->ngaps++;
	v->s.repairs++;
	accept(v, l, line, len);
	return 0;
}

int
hv_audit_verify_line(struct hv_audit_verify *v, const char *line, size_t len,
    struct hv_err *e)
{
	struct hv_audit_line l;
	struct hv_err why = { 0 };

	if (v->failed)
		return HV_EDATA;
	if (hv_audit_parse(&l, line, len, &why) < 0) {
		if (v->pending != P_NONE)
			return resolve(v, NULL, line, e);
		if (!v->started)
			return fail(v, e, "first line: malformed: %s", why.msg);
		return fail(v, e, "line after seq %llu: malformed: %s",
		    (unsigned long long)v->next - 1, why.msg);
	}
	if (v->pending != P_NONE)
		return resolve(v, &l, line, e);
	/* A repair's gap shows only after the line before it; a file that
	 * starts with one is taken as any file starting anywhere. */
	if (l.repair && v->started)
		return repair_gap(v, &l, line, len, e);
	if (!v->started) {
		if (v->from_start && l.seq != 0)
			return fail(v, e, "seq 0: deleted (the trail starts at seq %llu)",
			    (unsigned long long)l.seq);
		start(v, &l);
		if (l.seq == 0)
			memset(v->prev, 0, 32);
	}
	if (l.seq != v->next)
		return out_of_place(v, &l, e);
	if (!chains(v, &l, line)) {
		v->pending = P_BAD;
		if (v->have_key && memcmp(l.prevb, v->prev, 32) == 0)
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its MAC does "
			    "not match)", (unsigned long long)l.seq);
		else if (v->have_key || l.seq == 0)
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its prev does not "
			    "match the hash of seq %llu)", (unsigned long long)l.seq,
			    (unsigned long long)l.seq - 1);
		else
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its hash does not "
			    "match the prev of seq %llu)", (unsigned long long)l.seq - 1,
			    (unsigned long long)l.seq);
		return 0;
	}
	if (l.checkpoint && check_signature(v, &l, e) < 0)
		return HV_EDATA;
	accept(v, &l, line, len);
	return 0;
}

int
hv_audit_verify_end(struct hv_audit_verify *v, struct hv_err *e)
{
	if (v->failed)
		return HV_EDATA;
	if (v->pending != P_NONE)
		return resolve(v, NULL, NULL, e);
	return 0;
}

void
hv_audit_verify_status(const struct hv_audit_verify *v, struct hv_audit_verify_status *s)
{
	*s = v->s;
}

void
hv_audit_verify_free(struct hv_audit_verify *v)
{
	if (v == NULL)
		return;
	hv_secure_free(v->key, 32);
	hv_hmac_free(v->hmac);
	hv_sha256_free(v->sha);
	free(v->gaps);
	free(v);
}

int
hv_audit_verify_gap(const struct hv_audit_verify *v, size_t i,
    struct hv_audit_repair_info *g, uint64_t *repair_seq)
{
	if (i >= v->ngaps)
		return 0;
	*g = v->gaps[i].ri;
	*repair_seq = v->gaps[i].seq;
	return 1;
}
