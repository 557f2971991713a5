/* audit_verify: the verifier, one line at a time across files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
	uint8_t *key;		/* secure: the MAC key of seq keyseq */
	uint64_t keyseq;	/* moved on only when a MAC is computed here
				 * (or a worker's key taken over): lazily */
	uint64_t first_max;	/* the highest first seq the ratchet goes to */
	int hint_mac;		/* for the line at hand, from a worker: 1 its
				 * MAC under its seq's key matches, 0 not, -1
				 * not known */
	const uint8_t *hint_hash; /* its hash, or NULL */
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
	v->first_max = HV_AUDIT_REPAIR_MAX;
	v->hint_mac = -1;
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

void
hv_audit_verify_limit(struct hv_audit_verify *v, uint64_t first_seq_max)
{
	v->first_max = first_seq_max;
}

/* The key moves forward to seq's, never back; the distance is bounded by
 * the callers (lines accepted, a repair's gap, first_max). */
static void
key_to(struct hv_audit_verify *v, uint64_t seq)
{
	for (; v->keyseq < seq; v->keyseq++)
		audit_ratchet(v->hmac, v->key);
}

/* Does l continue the chain as it stands (hash and MAC)?  Its seq is the
 * one expected, so its MAC is under the key of its seq. */
static int
chains(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line)
{
	uint8_t mac[32];

	if (memcmp(l->prevb, v->prev, 32) != 0)
		return 0;
	if (!v->have_key)
		return 1;
	if (v->hint_mac >= 0)
		return v->hint_mac;
	if (l->seq < v->keyseq)
		return 0;
	key_to(v, l->seq);
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

/* The key ratchets from key0 to the first line's seq when its MAC is
 * checked, one HMAC a seq: a forged seq near 2^64 would hold the verifier
 * for ever, so a seq past what the files can hold fails here, at once. */
static int
start(struct hv_audit_verify *v, const struct hv_audit_line *l, struct hv_err *e)
{
	if (v->have_key && l->seq > v->first_max)
		return fail(v, e, "seq %llu: more lines before the first than there can "
		    "be (at most seq %llu here): forged? (verify it with the file before it)",
		    (unsigned long long)l->seq, (unsigned long long)v->first_max);
	v->started = 1;
	v->next = l->seq;
	v->s.first_seq = l->seq;
	memcpy(v->prev, l->prevb, 32);
	return 0;
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

	if (v->hint_hash != NULL)
		memcpy(v->prev, v->hint_hash, 32);
	else
		audit_line_hash(v->sha, v->prev, line, len);
	memcpy(v->s.last_hash, v->prev, 32);
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
	/* The key ratchets over the lost seqs in chains(): at most
	 * HV_AUDIT_REPAIR_MAX, which hv_audit_parse_repair holds it to. */
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

/* One line, parsed already (pr its parse status, why the reason). */
static int
verify_parsed(struct hv_audit_verify *v, const struct hv_audit_line *lp, int pr,
    const struct hv_err *why, const char *line, size_t len, struct hv_err *e)
{
	struct hv_audit_line l = *lp;

	if (v->failed)
		return HV_EDATA;
	if (pr < 0) {
		if (v->pending != P_NONE)
			return resolve(v, NULL, line, e);
		if (!v->started)
			return fail(v, e, "first line: malformed: %s", why->msg);
		return fail(v, e, "line after seq %llu: malformed: %s",
		    (unsigned long long)v->next - 1, why->msg);
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
		if (start(v, &l, e) < 0)
			return HV_EDATA;
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
hv_audit_verify_line(struct hv_audit_verify *v, const char *line, size_t len,
    struct hv_err *e)
{
	struct hv_audit_line l;
	struct hv_err why = { 0 };
	int pr = hv_audit_parse(&l, line, len, &why);

	return verify_parsed(v, &l, pr, &why, line, len, e);
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

/* ---- verifying files ---- */

#define READ_BLOCK (4 * 1024 * 1024)
/* More than a block and a line hold of lines of HV_AUDIT_LINE_MIN bytes:
 * a batch overflows only with lines too short to parse. */
#define BATCH_LINES ((READ_BLOCK + HV_AUDIT_LINE_MAX) / HV_AUDIT_LINE_MIN + 1)

/* A batch of whole lines of one read block: parsed, hashed here, their
 * MACs computed on the MAC thread, then fed to the verifier in order. */
struct batch {
	const char *file;
	unsigned long lineno;	/* of the line before the first */
	size_t n;
	int overflow;		/* lines were left: too many, too short */
	const char *line[BATCH_LINES];
	size_t len[BATCH_LINES];
	struct hv_audit_line l[BATCH_LINES];
	int pr[BATCH_LINES];
	uint8_t hash[BATCH_LINES][32];
	signed char ok[BATCH_LINES];	/* see mac_batch */
};

/*
 * Two batches in flight: this thread reads, parses and hashes batch k
 * while the MAC thread computes the MACs of batch k-1 and k, then checks
 * k-1 in order; neither waits for the other but when it is ahead.  Each
 * batch's lines point into its own buffer.
 */
struct pipeline {
	struct hv_audit_verify *v;
	struct batch *b[2];
	char *buf[2];		/* READ_BLOCK + HV_AUDIT_LINE_MAX each */
	unsigned posted, macked, checked;
	int threaded, quit;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* The MAC thread's own key, a copy of the verifier's, locked memory. */
	struct hv_hmac *hmac;
	uint8_t *key;
	uint64_t keyseq;
	hv_audit_progress_fn progress;
	void *arg;
};

/*
 * Each line's MAC under the key of its seq, the key ratcheted forward as
 * the seqs go (never back, and at most a repair's gap at a time: a line it
 * cannot reach is left to the verifier, ok -1).  Only a hint: the verifier
 * takes ok[i] for line i when its seq is the one expected, which is when
 * it would compute that same MAC itself.
 */
static void
mac_batch(struct pipeline *p, struct batch *b)
{
	uint8_t mac[32];
	size_t i;

	for (i = 0; i < b->n; i++) {
		b->ok[i] = -1;
		if (b->pr[i] < 0 || b->l[i].seq < p->keyseq ||
		    b->l[i].seq - p->keyseq > HV_AUDIT_REPAIR_MAX + 1)
			continue;
		for (; p->keyseq < b->l[i].seq; p->keyseq++)
			audit_ratchet(p->hmac, p->key);
		hv_hmac_mac(p->hmac, mac, b->line[i], b->l[i].bodylen, NULL, 0);
		b->ok[i] = (signed char)hv_ct_equal(mac, b->l[i].macb, 32);
	}
}

static void *
mac_thread(void *arg)
{
	struct pipeline *p = arg;
	struct batch *b;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->macked == p->posted && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->macked == p->posted)
			break;
		b = p->b[p->macked % 2];
		pthread_mutex_unlock(&p->mu);
		mac_batch(p, b);
		pthread_mutex_lock(&p->mu);
		p->macked++;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Check the oldest batch posted, once its MACs are known. */
static int
check_batch(struct pipeline *p, struct hv_err *e)
{
	struct hv_audit_verify *v = p->v;
	struct batch *b = p->b[p->checked % 2];
	struct hv_err why = { 0 };
	size_t i;
	int r = 0;

	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		while (p->macked <= p->checked)
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	for (i = 0; r == 0 && i < b->n; i++) {
		v->hint_mac = p->threaded ? b->ok[i] : -1;
		v->hint_hash = b->hash[i];
		if (b->pr[i] < 0)
			(void)hv_audit_parse(&b->l[i], b->line[i], b->len[i], &why);
		r = verify_parsed(v, &b->l[i], b->pr[i], &why, b->line[i], b->len[i], e);
	}
	v->hint_mac = -1;
	v->hint_hash = NULL;
	if (r == 0 && b->overflow)
		r = hv_err_set(e, HV_EDATA, "'%s': line %lu: malformed: too short",
		    b->file, b->lineno + b->n + 1);
	if (r < 0 && v->failed)
		hv_err_wrap(e, "'%s'", b->file);
	if (r == 0 && p->progress != NULL)
		p->progress(p->arg, b->file, b->lineno + b->n);
	p->checked++;
	return r;
}

/* Parse and hash a batch and hand it to the MAC thread; check the one
 * before it.  The buffer of the batch before that is free after. */
static int
post_batch(struct pipeline *p, struct hv_err *e)
{
	struct batch *b = p->b[p->posted % 2];
	size_t i;

	for (i = 0; i < b->n; i++)
		b->pr[i] = hv_audit_parse(&b->l[i], b->line[i], b->len[i], NULL);
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->posted++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	} else
		p->posted++;
	/* line[i] is followed by its newline in the buffer: one update. */
	for (i = 0; i < b->n; i++) {
		hv_sha256_update(p->v->sha, b->line[i], b->len[i] + 1);
		hv_sha256_final(p->v->sha, b->hash[i]);
	}
	return p->posted - p->checked > 1 ? check_batch(p, e) : 0;
}

/*
 * The whole lines of buf (have bytes) into the next batch and post it;
 * what is left (part of a line) is copied to the start of the other
 * buffer, *carry bytes.  HV_EDATA for a line over HV_AUDIT_LINE_MAX.
 */
static int
split_block(struct pipeline *p, const char *file, unsigned long *lineno, size_t have,
    size_t *carry, struct hv_err *e)
{
	int k = (int)(p->posted % 2);
	struct batch *b = p->b[k];
	char *s = p->buf[k], *end = s + have, *nl;
	int r, toolong = 0;

	b->file = file;
	b->lineno = *lineno;
	b->n = 0;
	b->overflow = 0;
	while ((nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if ((size_t)(nl - s) + 1 > HV_AUDIT_LINE_MAX) {
			toolong = 1;
			break;
		}
		if (b->n == BATCH_LINES) {
			b->overflow = 1;
			break;
		}
		b->line[b->n] = s;
		b->len[b->n++] = (size_t)(nl - s);
		s = nl + 1;
	}
	*lineno += b->n;
	if (!toolong && !b->overflow && (size_t)(end - s) >= HV_AUDIT_LINE_MAX)
		toolong = 1;
	*carry = toolong || b->overflow ? 0 : (size_t)(end - s);
	/* The other buffer is free once the batch in it is checked, which
	 * posting this one does. */
	if ((r = post_batch(p, e)) < 0)
		return r;
	memcpy(p->buf[k ^ 1], s, *carry);
	if (toolong || b->overflow) {
		while (r == 0 && p->checked < p->posted)
			r = check_batch(p, e);
		if (r == 0 && toolong)
			r = hv_err_set(e, HV_EDATA, "'%s': line %lu: longer than %d bytes", file,
			    *lineno + 1, HV_AUDIT_LINE_MAX);
		return r < 0 ? r : HV_EDATA;
	}
	return 0;
}

static int
verify_file(struct pipeline *p, const char *file, struct hv_err *e)
{
	struct hv_audit_verify *v = p->v;
	unsigned long lineno = 0;
	size_t have = 0;
	struct stat sb;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", file);
	/* Nothing in the files says where they start that can be trusted (a
	 * name can lie as well as a line): the lines before the first are at
	 * most as many as its file could hold. */
	if (!v->started && !v->from_start && p->posted == 0 && fstat(fd, &sb) == 0)
		v->first_max = (uint64_t)sb.st_size / HV_AUDIT_LINE_MIN;
	for (;;) {
		char *buf = p->buf[p->posted % 2];

		do
			n = read(fd, buf + have, READ_BLOCK + HV_AUDIT_LINE_MAX - have);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			r = hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", file);
			break;
		}
		if (n == 0)
			break;
		if ((r = split_block(p, file, &lineno, have + (size_t)n, &have, e)) < 0)
			break;
	}
	close(fd);
	while (r == 0 && p->checked < p->posted)
		r = check_batch(p, e);
	if (r == 0 && have > 0)
		r = hv_err_set(e, HV_EDATA, "'%s': line %lu: no newline at the end (torn?)",
		    file, lineno + 1);
	return r;
}

static void
pipeline_init(struct pipeline *p, struct hv_audit_verify *v)
{
	memset(p, 0, sizeof *p);
	p->v = v;
	p->b[0] = hv_xcalloc(1, sizeof *p->b[0]);
	p->b[1] = hv_xcalloc(1, sizeof *p->b[1]);
	p->buf[0] = hv_xmalloc(READ_BLOCK + HV_AUDIT_LINE_MAX);
	p->buf[1] = hv_xmalloc(READ_BLOCK + HV_AUDIT_LINE_MAX);
	if (!v->have_key || v->failed)
		return;
	p->hmac = hv_hmac_new();
	p->key = hv_secure_alloc(32);
	memcpy(p->key, v->key, 32);
	hv_hmac_setkey(p->hmac, p->key);
	p->keyseq = v->keyseq;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threaded = pthread_create(&p->th, NULL, mac_thread, p) == 0;
	if (!p->threaded) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
}

/* Stop the MAC thread; take its key over when it is ahead of the
 * verifier's and not past the next seq, so ours need not ratchet over
 * the same seqs again. */
static void
pipeline_release(struct pipeline *p)
{
	struct hv_audit_verify *v = p->v;

	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		if (p->keyseq >= v->keyseq && p->keyseq <= v->next) {
			memcpy(v->key, p->key, 32);
			v->keyseq = p->keyseq;
			hv_hmac_setkey(v->hmac, v->key);
		}
	}
	hv_hmac_free(p->hmac);
	if (p->key != NULL)
		hv_secure_free(p->key, 32);
	free(p->b[0]);
	free(p->b[1]);
	free(p->buf[0]);
	free(p->buf[1]);
}

int
hv_audit_verify_files(struct hv_audit_verify *v, char *const *files,
    hv_audit_progress_fn progress, void *arg, struct hv_err *e)
{
	struct pipeline p;
	size_t i;
	int r = 0;

	pipeline_init(&p, v);
	p.progress = progress;
	p.arg = arg;
	for (i = 0; r == 0 && files[i] != NULL; i++)
		r = verify_file(&p, files[i], e);
	pipeline_release(&p);
	return r;
}

int
hv_audit_verify_state(struct hv_audit_verify *v, const char *log, struct hv_err *e)
{
	const struct hv_audit_verify_status *s = &v->s;
	struct paths p;
	struct state st;
	int r;

	audit_paths_init(&p, log);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	r = audit_state_read(&p, &st, e);
	if (r == HV_ENOINPUT)
		r = hv_err_set(e, HV_EDATA, "'%s' is missing: the end of the trail cannot be "
		    "checked (deleted?)", p.state);
	else if (r == 0 && st.seq > s->last_seq + 1)
		r = hv_err_set(e, HV_EDATA, "seq %llu: tail cut (the log ends at seq %llu; "
		    "its state has written up to seq %llu)", (unsigned long long)s->last_seq + 1,
		    (unsigned long long)s->last_seq, (unsigned long long)st.seq - 1);
	else if (r == 0 && (st.seq != s->last_seq + 1 || memcmp(st.prev, s->last_hash, 32) != 0))
		r = hv_err_set(e, HV_EDATA, "seq %llu: modified (the last line is not the one "
		    "its state wrote)", (unsigned long long)s->last_seq);
	else if (r == 0 && v->have_key && !v->failed) {
		/* keyseq <= next, and next - keyseq <= lines accepted. */
		key_to(v, v->next);
		if (!hv_ct_equal(v->key, st.key, 32))
			r = hv_err_set(e, HV_EDATA, "seq %llu: tail cut (the state's MAC key is "
			    "not the first key's at seq %llu: the state was rewritten, lines after "
			    "seq %llu are gone)", (unsigned long long)s->last_seq + 1,
			    (unsigned long long)st.seq, (unsigned long long)s->last_seq);
	}
	hv_secure_free(st.key, SECRETS);
	audit_paths_free(&p);
	return r;
}

int
hv_audit_verify_fresh(const struct hv_audit_verify_status *s, long max_age, time_t now,
    struct hv_err *e)
{
	char when[28];

	if (!s->have_checkpoint)
		return hv_err_set(e, HV_EDATA, "seq %llu: tail cut? no checkpoint at all",
		    (unsigned long long)s->last_seq + 1);
	if (now - s->checkpoint_time <= max_age)
		return 0;
	hv_audit_format_time(when, s->checkpoint_time, 0);
	return hv_err_set(e, HV_EDATA, "seq %llu: tail cut? the last checkpoint (seq %llu, "
	    "%.19sZ) is older than --max-age", (unsigned long long)s->last_seq + 1,
	    (unsigned long long)s->checkpoint_seq, when);
}
