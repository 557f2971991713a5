/* audit_repair: measuring a torn tail and recording its loss. */
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

/* ---- repair of a torn tail ---- */

static void
tail_bad(struct hv_audit_tail *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tail_bad(struct hv_audit_tail *t, const char *fmt, ...)
{
	va_list ap;

	t->kind = HV_AUDIT_TAIL_BAD;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof t->why, fmt, ap);
	va_end(ap);
}

/* A whole line that may be part of a torn tail: it holds a NUL (a hole a
 * power cut left), or it parses as a line of the lost seqs (whole, in a
 * page that reached the disk after one that did not).  Anything else
 * after the good lines was not written by a crash. */
static int
torn_line(const char *p, size_t n, const struct hv_audit_tail *t, uint64_t state_seq)
{
	struct hv_audit_line l;

	if (memchr(p, '\0', n) != NULL)
		return 1;
	return hv_audit_parse(&l, p, n, NULL) == 0 && l.seq >= t->good_next &&
	    l.seq < state_seq;
}

/* An earlier repair's line, which chains over the gap it records. */
static int
repaired(const struct hv_audit_line *l, const char *line, size_t len, uint64_t next)
{
	struct hv_audit_repair_info ri;

	return l->repair && hv_audit_parse_repair(line, len, &ri, NULL) == 0 &&
	    ri.first_lost == next && ri.last_lost + 1 == l->seq;
}

/* The whole lines that chain, from the start: good_*; 0, or -1 with the
 * verdict set for a whole line that parses and does not chain. */
static int
tail_good(const char *buf, size_t len, uint64_t state_size, const uint8_t *base_hash,
    struct hv_audit_tail *t, uint8_t at_state[32], int *have_at_state)
{
	struct hv_sha256 *sha = hv_sha256_new();
	struct hv_audit_line l;
	const char *p = buf, *end = buf + len, *nl;
	int have = base_hash != NULL, r = 0;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL ||
		    hv_audit_parse(&l, p, (size_t)(nl - p), NULL) < 0)
			break;
		if (have && ((l.seq != t->good_next && !repaired(&l, p, (size_t)(nl - p),
		    t->good_next)) || memcmp(l.prevb, t->good_hash, 32) != 0)) {
			tail_bad(t, "seq %llu (byte %llu) does not continue the chain after "
			    "seq %llu", (unsigned long long)l.seq, (unsigned long long)(p - buf),
			    (unsigned long long)t->good_next - 1);
			r = -1;
			break;
		}
		have = 1;
		audit_line_hash(sha, t->good_hash, p, (size_t)(nl - p));
		t->good_next = l.seq + 1;
		t->good_lines++;
		t->good_bytes = (uint64_t)(nl + 1 - buf);
		if (t->good_bytes == state_size) {
			memcpy(at_state, t->good_hash, 32);
			*have_at_state = 1;
		}
	}
	if (r == 0 && !have)
		tail_bad(t, "no whole line left to continue the chain from");
	hv_sha256_free(sha);
	return t->kind == HV_AUDIT_TAIL_BAD ? -1 : 0;
}

void
hv_audit_tail_analyse(const char *buf, size_t len, uint64_t state_seq,
    uint64_t state_size, const uint8_t state_prev[32], uint64_t base_next,
    const uint8_t *base_hash, struct hv_audit_tail *t)
{
	const char *p, *end = buf + len, *nl;
	uint8_t at_state[32];
	int have_at_state = state_size == 0 && base_hash != NULL;

	memset(t, 0, sizeof *t);
	t->file_bytes = len;
	t->good_next = base_next;
	if (base_hash != NULL)
		memcpy(t->good_hash, base_hash, 32);
	if (have_at_state)
		memcpy(at_state, base_hash, 32);
	if (tail_good(buf, len, state_size, base_hash, t, at_state, &have_at_state) < 0)
		return;
	for (p = buf + t->good_bytes; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (!torn_line(p, (size_t)(nl - p), t, state_seq))
			return tail_bad(t, "the line at byte %llu is malformed, and no torn "
			    "write made it", (unsigned long long)(p - buf));
	}
	if (t->good_next >= state_seq) {
		/* The state's lines are all there: the rest was never
		 * acknowledged, and the next append recovers it. */
		if (!have_at_state || memcmp(at_state, state_prev, 32) != 0 ||
		    (t->good_next == state_seq && t->good_bytes != state_size))
			tail_bad(t, "seq %llu, the last its state wrote, is not the line "
			    "its state wrote", (unsigned long long)state_seq - 1);
		return;
	}
	if (t->good_bytes > state_size)
		return tail_bad(t, "seq %llu ends at byte %llu, past the %llu bytes its "
		    "state counts up to seq %llu", (unsigned long long)t->good_next - 1,
		    (unsigned long long)t->good_bytes, (unsigned long long)state_size,
		    (unsigned long long)state_seq - 1);
	if (state_seq - t->good_next > HV_AUDIT_REPAIR_MAX)
		return tail_bad(t, "seq %llu to %llu are gone: more than a torn write loses",
		    (unsigned long long)t->good_next, (unsigned long long)state_seq - 1);
	t->kind = HV_AUDIT_TAIL_TORN;
	t->first_lost = t->good_next;
	t->last_lost = state_seq - 1;
	t->lost_bytes = state_size - t->good_bytes;
	t->cut_bytes = len - t->good_bytes;
	hv_sha256(t->cut_sha256, buf + t->good_bytes, (size_t)t->cut_bytes);
}

/*
 * Where the current file starts: after the last line of the newest
 * rotated file (*known 1).  *known 0 when there is none (older files may
 * have been moved off the host: the first line is then taken as it is)
 * or it cannot be read.
 */
static void
tail_base(const char *log, uint64_t *next, uint8_t hash[32], int *known)
{
	char **files = NULL, buf[HV_AUDIT_LINE_MAX + 1], *nl, *start;
	struct hv_sha256 *sha;
	struct hv_audit_line l;
	size_t n = 0;
	off_t size;
	ssize_t got;
	int fd;

	*next = 0;
	memset(hash, 0, 32);
	*known = 0;
	if (hv_audit_files(log, &files, NULL) == 0)
		for (; files[n] != NULL; n++)
			;
	if (n > 0 && strcmp(files[n - 1], log) == 0)
		n--;
	if (n == 0) {
		hv_audit_files_free(files);
		return;
	}
	if ((fd = open(files[n - 1], O_RDONLY | O_CLOEXEC)) >= 0) {
		size = lseek(fd, 0, SEEK_END);
		got = size <= 0 ? -1 : pread(fd, buf, size < (off_t)sizeof buf - 1 ?
		    (size_t)size : sizeof buf - 1, size < (off_t)sizeof buf - 1 ? 0 :
		    size - (off_t)(sizeof buf - 1));
		close(fd);
		if (got > 0 && buf[got - 1] == '\n') {
			buf[got - 1] = '\0';
			start = (nl = strrchr(buf, '\n')) != NULL ? nl + 1 : buf;
			if (hv_audit_parse(&l, start, (size_t)(buf + got - 1 - start), NULL) == 0) {
				sha = hv_sha256_new();
				audit_line_hash(sha, hash, start, (size_t)(buf + got - 1 - start));
				hv_sha256_free(sha);
				*next = l.seq + 1;
				*known = 1;
			}
		}
	}
	hv_audit_files_free(files);
}

/* The whole log, or nothing when it is gone (a crash can lose it too). */
static int
read_log(const char *path, char **buf, size_t *len, struct hv_err *e)
{
	struct stat sb;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : hv_err_errno(e, HV_EIO, errno, "cannot read '%s'",
		    path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return hv_err_set(e, HV_EDATA, "'%s' is not a regular file", path);
	}
	*buf = hv_xmalloc((size_t)sb.st_size + 1);
	n = hv_read_full(fd, *buf, (size_t)sb.st_size);
	close(fd);
	if (n < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
	*len = (size_t)n;
	return 0;
}

/* The audit.repair event's body: its target fields, as hv-audit(5) says. */
static int
repair_body(struct hv_buf *b, const struct hv_audit_tail *tl, const char *torn_file)
{
	char v[5][24], hex[65];
	struct hv_audit_field f[6] = {
		{ "first_lost", v[0] }, { "last_lost", v[1] }, { "lost_bytes", v[2] },
		{ "cut_bytes", v[3] }, { "torn_sha256", hex }, { "torn_file", torn_file },
	};
	struct event ev = { HV_AUDIT_REPAIR, f, torn_file != NULL ? 6 : 5, HV_AUDIT_OK,
	    NULL, NULL };

	snprintf(v[0], sizeof v[0], "%llu", (unsigned long long)tl->first_lost);
	snprintf(v[1], sizeof v[1], "%llu", (unsigned long long)tl->last_lost);
	snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)tl->lost_bytes);
	snprintf(v[3], sizeof v[3], "%llu", (unsigned long long)tl->cut_bytes);
	audit_hex_encode(hex, tl->cut_sha256, 32);
	hex[64] = '\0';
	return audit_add_body(b, &ev);
}

/*
 * A repair cut short (a crash, a full disk) may have kept the torn bytes
 * already: when they were also cut off the log, the file holds them and
 * the tail, analysed again, shows none; attest the file's instead.  1 when
 * the file is there and is what this repair keeps, 0 when there is none,
 * HV_ECANTCREAT when it holds something else.
 */
static int
torn_kept(const char *path, struct hv_audit_tail *tl, const char *cut, struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(RECOVER_MAX);
	uint8_t sum[32];
	int r;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((r = hv_file_read(path, &b, e)) == 0) {
		hv_sha256(sum, b.data ? b.data : "", b.len);
		if (tl->cut_bytes == 0 && b.len > 0) {
			tl->cut_bytes = b.len;
			memcpy(tl->cut_sha256, sum, 32);
			r = 1;
		} else if (b.len > 0 && b.len == tl->cut_bytes && memcmp(b.data, cut, b.len) == 0)
			r = 1;
	}
	hv_buf_release(&b);
	if (r != 1)
		return hv_err_set(e, HV_ECANTCREAT, "'%s' exists and holds other bytes: move "
		    "it away, then repair", path);
	return 1;
}

/* Keep the torn bytes: a new 0600 file, synced with its directory. */
static int
keep_torn(const char *path, const char *data, size_t len, struct hv_err *e)
{
	int r;

	if ((r = hv_file_create_excl(path, data, len, 0600, e)) < 0)
		return r;
	if (audit_sync_dir(path) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot sync the directory of '%s'", path);
	return 0;
}

/* Cut the log back to its good lines, durably, and open it to append. */
static int
cut_log(struct trail *t, uint64_t good, struct hv_err *e)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;

	if ((t->logfd = open(t->p.log, flags)) < 0 && errno == ENOENT)
		t->logfd = open(t->p.log, flags | O_CREAT, 0600);
	if (t->logfd < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot open '%s'", t->p.log);
	if (ftruncate(t->logfd, (off_t)good) < 0 || fdatasync(t->logfd) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot cut '%s'", t->p.log);
	return 0;
}

/* buf: the log's text, or NULL when the torn bytes are kept already. */
static int
repair_apply(struct trail *t, struct hv_audit_repair_result *res, const char *buf,
    struct hv_err *e)
{
	const struct hv_audit_tail *tl = &res->tail;
	struct hv_buf body = HV_BUF_INIT(HV_AUDIT_LINE_MAX);
	int r;

	if ((res->torn_file != NULL && buf != NULL &&
	    (r = keep_torn(res->torn_file, buf + tl->good_bytes, (size_t)tl->cut_bytes, e)) < 0) ||
	    (r = cut_log(t, tl->good_bytes, e)) < 0)
		return r;
	/* The state keeps its seq and key: the key of that seq, as the
	 * ratchet stands.  Only where the chain goes on from moves back. */
	memcpy(t->st.prev, tl->good_hash, 32);
	t->st.size = tl->good_bytes;
	t->dirty = t->syncdir = 1;
	res->repair_seq = t->st.seq;
	if ((r = repair_body(&body, tl, res->torn_file)) == 0 &&
	    (r = audit_append(t, HV_AUDIT_REPAIR, body.data, body.len, NULL, e)) == 0)
		r = audit_append_checkpoint(t, "repair", e);
	hv_buf_release(&body);
	return r;
}

int
hv_audit_repair(const struct hv_config *c, hv_audit_confirm_fn confirm, void *arg,
    struct hv_audit_repair_result *res, struct hv_err *e)
{
	struct hv_audit_tail *tl = &res->tail;
	struct trail t;
	uint64_t base_next;
	uint8_t base_hash[32];
	char *buf = NULL;
	size_t len = 0;
	int known, kept, r;

	memset(res, 0, sizeof *res);
	if ((r = audit_trail_open(&t, c, NULL, OPEN_REPAIR, e)) < 0)
		goto out;
	if (access(t.p.log, F_OK) < 0 && errno == ENOENT && t.st.size > 0)
		(void)audit_rotation_done(&t);
	tail_base(t.p.log, &base_next, base_hash, &known);
	if ((r = read_log(t.p.log, &buf, &len, e)) < 0)
		goto out;
	hv_audit_tail_analyse(buf ? buf : "", len, t.st.seq, t.st.size, t.st.prev, base_next,
	    known ? base_hash : NULL, tl);
	if (tl->kind == HV_AUDIT_TAIL_BAD) {
		r = hv_err_set(e, HV_EDATA, "'%s': %s: not a torn tail, and a repair would "
		    "hide it ('hv-audit verify' names the damage)", t.p.log, tl->why);
		goto out;
	}
	if (tl->kind == HV_AUDIT_TAIL_OK)
		goto out;
	res->torn_file = hv_xmalloc(strlen(t.p.log) + 32);
	snprintf(res->torn_file, strlen(t.p.log) + 32, "%s.torn.%llu", t.p.log,
	    (unsigned long long)tl->first_lost);
	if ((kept = torn_kept(res->torn_file, tl, buf + tl->good_bytes, e)) < 0) {
		r = kept;
		goto out;
	}
	if (tl->cut_bytes == 0) {
		free(res->torn_file);
		res->torn_file = NULL;
	}
	if (confirm != NULL && (r = confirm(arg, tl, res->torn_file)) < 0)
		goto out;
	r = repair_apply(&t, res, kept ? NULL : buf, e);
out:
	free(buf);
	r = audit_trail_close(&t, r, e);
	if (r < 0 && tl->kind != HV_AUDIT_TAIL_OK) {
		free(res->torn_file);
		res->torn_file = NULL;
	}
	return r;
}

void
hv_audit_repair_result_free(struct hv_audit_repair_result *res)
{
	if (res == NULL)
		return;
	free(res->torn_file);
	res->torn_file = NULL;
}
