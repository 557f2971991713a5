/* audit_append: building lines and appending them, alone or in batches;
 * recovery of a crash before the state moved; rotation. */
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

/* ---- appending ---- */

static const char *const outcomes[] = { "ok", "fail", "refused" };

static void
who(struct ident *id)
{
	struct passwd *pw = getpwuid(getuid());

	if (gethostname(id->host, sizeof id->host) < 0)
		snprintf(id->host, sizeof id->host, "unknown");
	id->host[sizeof id->host - 1] = '\0';
	if (pw != NULL && strlen(pw->pw_name) < sizeof id->user)
		snprintf(id->user, sizeof id->user, "%s", pw->pw_name);
	else
		snprintf(id->user, sizeof id->user, "%u", (unsigned)getuid());
}

static int
add_target(struct hv_buf *b, const struct event *ev)
{
	size_t i;
	int r;

	if (ev->n == 0 && ev->reason == NULL)
		return 0;
	r = hv_buf_adds(b, ",\"target\":{");
	if (ev->reason != NULL && r == 0)
		r = hv_buf_addf(b, "\"reason\":\"%s\"", ev->reason);
	for (i = 0; i < ev->n && r == 0; i++) {
		r = hv_buf_addf(b, "%s\"%s\":", i > 0 ? "," : "", ev->fields[i].key);
		if (r == 0)
			r = audit_add_string(b, ev->fields[i].value, HV_AUDIT_VALUE_MAX);
	}
	return r == 0 ? hv_buf_adds(b, "}") : r;
}

/* What a line says between its head and its integrity fields: target,
 * outcome, error.  It does not depend on the trail, so a batch renders
 * it when the event is queued. */
int
audit_add_body(struct hv_buf *b, const struct event *ev)
{
	int r = add_target(b, ev);

	r = r ? r : hv_buf_addf(b, ",\"outcome\":\"%s\"", outcomes[ev->outcome]);
	if (r == 0 && ev->error != NULL) {
		r = hv_buf_adds(b, ",\"error\":");
		r = r ? r : audit_add_string(b, ev->error, HV_AUDIT_VALUE_MAX);
	}
	return r;
}

/* A line up to its body: version, seq, time, action and who. */
static int
add_head(struct hv_buf *b, const struct ident *id, uint64_t seq, const char *time,
    const char *action)
{
	int r;

	r = hv_buf_addf(b, "{\"v\":1,\"seq\":%llu,\"time\":\"%s\",\"action\":\"%s\",\"host\":",
	    (unsigned long long)seq, time, action);
	r = r ? r : audit_add_string(b, id->host, 255);
	r = r ? r : hv_buf_adds(b, ",\"uid\":");
	r = r ? r : hv_buf_addf(b, "%u,\"user\":", (unsigned)getuid());
	r = r ? r : audit_add_string(b, id->user, 64);
	r = r ? r : hv_buf_adds(b, ",\"tool\":");
	r = r ? r : audit_add_string(b, hv_progname, 64);
	return r ? r : hv_buf_addf(b, ",\"pid\":%ld", (long)getpid());
}

/*
 * The whole line at the trail's next seq, newline included, appended to
 * b: head, body (blen bytes, from add_body), a checkpoint's signature
 * when reason is set, prev and the MAC over all before it.
 */
static int
build_line(struct trail *t, const char *action, const char *body, size_t blen,
    const char *reason, time_t now, long usec, struct hv_buf *b, struct hv_err *e)
{
	char time[28], prev[65], sig[129], msg[160];
	uint8_t raw[HV_ED25519_SIG], mac[32];
	size_t start = b->len;
	int r;

	hv_audit_format_time(time, now, usec);
	audit_hex_encode(prev, t->st.prev, 32);
	prev[64] = '\0';
	r = add_head(b, &t->id, t->st.seq, time, action);
	r = r ? r : hv_buf_add(b, body, blen);
	if (r == 0 && reason != NULL) {
		if ((r = hv_ed25519_sign(raw, t->st.sign, msg,
		    audit_checkpoint_msg(msg, sizeof msg, t->st.seq, time, prev), e)) < 0)
			return r;
		audit_hex_encode(sig, raw, sizeof raw);
		sig[128] = '\0';
		r = hv_buf_addf(b, ",\"sig\":\"%s\"", sig);
	}
	r = r ? r : hv_buf_addf(b, ",\"prev\":\"%s\"", prev);
	if (r == 0) {
		hv_hmac_mac(t->hmac, mac, b->data + start, b->len - start, NULL, 0);
		audit_hex_encode(prev, mac, 32);
		r = hv_buf_addf(b, ",\"mac\":\"%s\"}\n", prev);
	}
	if (r < 0 || b->len - start > HV_AUDIT_LINE_MAX)
		return hv_err_set(e, HV_EINTERNAL, "audit event longer than %d bytes",
		    HV_AUDIT_LINE_MAX);
	return 0;
}

/* The state moves past a line (built, or found in the file). */
static void
advance(struct trail *t, const char *line, size_t len, int checkpoint, long long when)
{
	audit_line_hash(t->sha, t->st.prev, line, len);
	audit_ratchet(t->hmac, t->st.key);
	if (checkpoint) {
		t->st.ckpt_seq = t->st.seq;
		t->st.ckpt_time = when;
	}
	t->st.seq++;
	t->st.size += len + 1;
	t->dirty = 1;
}

/* Build a line into t->out and move the state past it; trail_write puts
 * it in the file. */
int
audit_append(struct trail *t, const char *action, const char *body, size_t blen,
    const char *reason, struct hv_err *e)
{
	struct timespec ts;
	size_t start = t->out.len;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = build_line(t, action, body, blen, reason, ts.tv_sec, ts.tv_nsec / 1000,
	    &t->out, e)) < 0)
		return r;
	advance(t, t->out.data + start, t->out.len - start - 1, reason != NULL,
	    (long long)ts.tv_sec);
	return 0;
}

/*
 * Write the lines built so far, all at once.  O_APPEND and the lock make
 * the file's end ours; a short write (a signal, a full disk) goes on from
 * where it stopped, and a failure cuts off what part of the lines got in,
 * so no torn line is left behind.
 */
static int
trail_write(struct trail *t, struct hv_err *e)
{
	uint64_t base = t->st.size - t->out.len;
	size_t done = 0;
	ssize_t w;
	int r = 0;

	t->cut_to = base;
	t->written = 1;
	while (done < t->out.len) {
		w = write(t->logfd, t->out.data + done, t->out.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0 || audit_full(errno))
				r = hv_err_set(e, HV_EIO, "audit log: no space left on device "
				    "('%s' not written)", t->p.log);
			else
				r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", t->p.log);
			if (done > 0 && ftruncate(t->logfd, (off_t)base) < 0)
				hv_err_wrap(e, "and cannot cut the torn line");
			break;
		}
		done += (size_t)w;
	}
	hv_buf_reset(&t->out);
	return r;
}

static int
checkpoint_due(const struct trail *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return t->st.ckpt_time == 0 ||
	    t->st.seq - t->st.ckpt_seq > (uint64_t)t->every_events ||
	    (long long)ts.tv_sec - t->st.ckpt_time >= t->every_secs;
}

int
audit_append_checkpoint(struct trail *t, const char *reason, struct hv_err *e)
{
	struct event ev = { HV_AUDIT_CHECKPOINT, NULL, 0, HV_AUDIT_OK, NULL, reason };
	struct hv_buf body = HV_BUF_INIT(HV_AUDIT_LINE_MAX);
	int r;

	if ((r = audit_add_body(&body, &ev)) == 0)
		r = audit_append(t, ev.action, body.data, body.len, reason, e);
	hv_buf_release(&body);
	return r;
}

/* A line found past the state's end: adopt it when it continues the
 * chain under the state's key (a crash before the state was replaced). */
static int
adopt_line(struct trail *t, const char *line, size_t len, struct hv_err *e)
{
	struct hv_audit_line l;
	uint8_t mac[32];
	time_t when = 0;

	if (hv_audit_parse(&l, line, len, e) < 0 || l.seq != t->st.seq ||
	    !hv_ct_equal(l.prevb, t->st.prev, 32))
		return HV_EDATA;
	hv_hmac_mac(t->hmac, mac, line, l.bodylen, NULL, 0);
	if (!hv_ct_equal(mac, l.macb, 32))
		return HV_EDATA;
	if (l.checkpoint)
		(void)hv_audit_parse_time(l.time, TIME_LEN, &when);
	advance(t, line, len, l.checkpoint, (long long)when);
	return 0;
}

static int
recover(struct trail *t, uint64_t size, struct hv_err *e)
{
	uint64_t extra = size - t->st.size;
	char *buf, *p, *nl;
	ssize_t n;
	int fd, r = 0;

	if (extra > RECOVER_MAX)
		return hv_err_set(e, HV_EDATA, "'%s' holds %llu bytes its state does not "
		    "know of: written by something else?", t->p.log, (unsigned long long)extra);
	if ((fd = open(t->p.log, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", t->p.log);
	buf = hv_xmalloc(extra + 1);
	n = pread(fd, buf, extra, (off_t)t->st.size);
	close(fd);
	if (n != (ssize_t)extra) {
		free(buf);
		return hv_err_errno(e, HV_EIO, n < 0 ? errno : EIO, "cannot read '%s'", t->p.log);
	}
	for (p = buf; r == 0 && (nl = memchr(p, '\n', extra - (size_t)(p - buf))) != NULL; p = nl + 1) {
		/* hv writes no NUL (add_string escapes it): a hole a power cut
		 * left in pages written out of order, the start of the torn tail. */
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			break;
		if (adopt_line(t, p, (size_t)(nl - p), e) < 0)
			r = hv_err_set(e, HV_EDATA, "'%s': the line at byte %llu does not "
			    "continue the chain (seq %llu expected): written by something else?",
			    t->p.log, (unsigned long long)t->st.size, (unsigned long long)t->st.seq);
	}
	/* What is left was torn by a crash and never acknowledged: a line,
	 * or, from a batch, the lines after the first torn one. */
	if (r == 0 && p < buf + extra && ftruncate(t->logfd, (off_t)t->st.size) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot cut a torn line off '%s'", t->p.log);
	t->dirty = 1;
	free(buf);
	return r;
}

/* A fresh trail: the first key written for the verifier, the state set. */
static int
trail_create(struct trail *t, struct hv_err *e)
{
	struct hv_buf text;
	uint8_t pub[HV_ED25519_PUB];
	int r;

	memset(t->st.prev, 0, sizeof t->st.prev);
	t->st.seq = t->st.size = t->st.ckpt_seq = 0;
	t->st.ckpt_time = 0;
	hv_buf_init_secret(&text, HV_KEY_TEXT_MAX + 2);
	if ((r = hv_random(t->st.key, 32, e)) == 0 &&
	    (r = hv_ed25519_keygen(t->st.sign, pub, e)) == 0 &&
	    (r = hv_key_encode(&text, HV_KEY_SYMMETRIC, t->st.key)) == 0 &&
	    (r = hv_buf_adds(&text, "\n")) == 0)
		r = hv_file_create_excl(t->p.key0, text.data, text.len, 0600, e);
	hv_buf_release(&text);
	if (r == HV_ECANTCREAT)
		hv_err_set(e, r, "'%s' exists, but no trail does: move it away to "
		    "start a new trail", t->p.key0);
	t->dirty = 1;
	return r;
}

/* The log is gone but the newest rotated file ends where the state does:
 * a rotation that crashed before its state was written. */
int
audit_rotation_done(struct trail *t)
{
	char **files = NULL;
	struct stat sb;
	size_t n;
	int done = 0;

	if (hv_audit_files(t->p.log, &files, NULL) < 0)
		return 0;
	for (n = 0; files[n] != NULL; n++)
		;
	if (n > 0 && strcmp(files[n - 1], t->p.log) != 0 &&
	    stat(files[n - 1], &sb) == 0 && (uint64_t)sb.st_size == t->st.size) {
		t->st.size = 0;
		t->dirty = done = 1;
	}
	hv_audit_files_free(files);
	return done;
}

/*
 * The file is as long as the state says; is its last line the one the
 * state hashed?  A power cut can keep the size and lose the pages (zeros
 * where the line was): appending after them would bury the damage under
 * good lines, where no repair can reach it.  One read of a line's worth.
 */
static int
last_line_ok(struct trail *t, struct hv_err *e)
{
	char buf[HV_AUDIT_LINE_MAX + 1];	/* the newline before the line too */
	size_t want = t->st.size < sizeof buf ? (size_t)t->st.size : sizeof buf, i;
	uint8_t hash[32];
	ssize_t n;
	int fd;

	if ((fd = open(t->p.log, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", t->p.log);
	n = pread(fd, buf, want, (off_t)(t->st.size - want));
	close(fd);
	if (n != (ssize_t)want)
		return hv_err_errno(e, HV_EIO, n < 0 ? errno : EIO, "cannot read '%s'", t->p.log);
	for (i = want - 1; i > 0 && buf[i - 1] != '\n'; i--)
		;
	if (buf[want - 1] == '\n' && (i > 0 || want == t->st.size)) {
		audit_line_hash(t->sha, hash, buf + i, want - 1 - i);
		if (hv_ct_equal(hash, t->st.prev, 32))
			return 0;
	}
	if (buf[want - 1] != '\n' || memchr(buf + i, '\0', want - i) != NULL)
		return hv_err_set(e, HV_EDATA, "audit log '%s' lost its last line in a torn "
		    "write (seq %llu); run 'hv-audit repair'", t->p.log,
		    (unsigned long long)t->st.seq - 1);
	return hv_err_set(e, HV_EDATA, "audit log '%s': seq %llu is not the line its "
	    "state wrote: modified? ('hv-audit verify')", t->p.log,
	    (unsigned long long)t->st.seq - 1);
}

static int
open_log(struct trail *t, struct hv_err *e)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	struct stat sb;

	if (t->st.size == 0 || (t->logfd = open(t->p.log, flags)) < 0) {
		if (t->st.size > 0 && errno == ENOENT && !audit_rotation_done(t))
			return hv_err_set(e, HV_EDATA, "'%s' is missing; its state expects "
			    "%llu bytes: deleted?", t->p.log, (unsigned long long)t->st.size);
		if ((t->logfd = open(t->p.log, flags | O_CREAT, 0600)) < 0)
			return hv_err_errno(e, errno == ENOENT ? HV_ECANTCREAT : HV_EIO,
			    errno, "cannot open '%s'", t->p.log);
	}
	if (fstat(t->logfd, &sb) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot stat '%s'", t->p.log);
	if (!S_ISREG(sb.st_mode))
		return hv_err_set(e, HV_EDATA, "'%s' is not a regular file", t->p.log);
	if ((uint64_t)sb.st_size < t->st.size)
		return hv_err_set(e, HV_EDATA, "audit log '%s' is cut short: %llu bytes its "
		    "state counts (lines up to seq %llu) are gone; after a torn write, run "
		    "'hv-audit repair'", t->p.log,
		    (unsigned long long)(t->st.size - (uint64_t)sb.st_size),
		    (unsigned long long)t->st.seq - 1);
	if ((uint64_t)sb.st_size > t->st.size)
		return recover(t, (uint64_t)sb.st_size, e);
	return t->st.size > 0 ? last_line_ok(t, e) : 0;
}

static void
trail_release(struct trail *t)
{
	if (t->logfd >= 0)
		close(t->logfd);
	if (t->lockfd >= 0)
		close(t->lockfd);
	t->logfd = t->lockfd = -1;
	hv_secure_free(t->st.key, SECRETS);
	t->st.key = t->st.sign = NULL;
	hv_hmac_free(t->hmac);
	hv_sha256_free(t->sha);
	t->hmac = NULL;
	t->sha = NULL;
	hv_buf_release(&t->out);
	audit_paths_free(&t->p);
}

/* Lock the trail and bring its state in: created when there is none.
 * id is who appends, or NULL to find out. */
int
audit_trail_open(struct trail *t, const struct hv_config *c, const struct ident *id,
    enum open_flags how, struct hv_err *e)
{
	struct stat sb;
	char *dir;
	int r;

	memset(t, 0, sizeof *t);
	t->lockfd = t->logfd = -1;
	hv_buf_init(&t->out, RECOVER_MAX);
	if (c->paths.audit == NULL)
		return hv_err_set(e, HV_ECONFIG, "no audit log configured ([paths] audit)");
	audit_paths_init(&t->p, c->paths.audit);
	t->st.key = hv_secure_alloc(SECRETS);
	t->st.sign = t->st.key + 32;
	t->hmac = hv_hmac_new();
	t->sha = hv_sha256_new();
	t->every_events = c->audit.checkpoint_events;
	t->every_secs = c->audit.checkpoint_interval;
	if (id != NULL)
		t->id = *id;
	else
		who(&t->id);
	dir = audit_dir_of(t->p.log);
	/* The trail's keys live beside it: the directory is the user's alone. */
	if ((r = hv_mkdirs(dir, e)) == 0)
		r = hv_path_private(dir, e);
	if (r == 0 && access(t->p.log, F_OK) == 0)
		r = hv_path_private(t->p.log, e);
	free(dir);
	if (r < 0)
		return r;
	t->lockfd = open(t->p.lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->lockfd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot open '%s'", t->p.lock);
	while ((r = flock(t->lockfd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot lock '%s'", t->p.lock);
	r = audit_state_read(&t->p, &t->st, e);
	if (r == 0 && how == OPEN_CREATE_ONLY)
		return hv_err_set(e, HV_ECANTCREAT, "'%s' exists already", t->p.state);
	if (r == HV_ENOINPUT && how == OPEN_REPAIR)
		return hv_err_set(e, HV_ENOINPUT, "no trail at '%s' to repair (no state "
		    "'%s')", t->p.log, t->p.state);
	if (r == HV_ENOINPUT) {
		if (stat(t->p.log, &sb) == 0 && sb.st_size > 0)
			return hv_err_set(e, HV_EDATA, "'%s' has no state file '%s': restore "
			    "it, or move the log away to start a new trail", t->p.log, t->p.state);
		r = trail_create(t, e);
	}
	if (r < 0)
		return r;
	hv_hmac_setkey(t->hmac, t->st.key);
	if (how == OPEN_REPAIR)
		return 0;
	if ((r = open_log(t, e)) == 0 && t->st.seq == 0)
		r = audit_append_checkpoint(t, "init", e);
	return r;
}

/* Write what was appended, make it durable, then the state; unlock.
 * Order is important: the state never runs ahead of the log on disk. */
int
audit_trail_close(struct trail *t, int r, struct hv_err *e)
{
	if (r == 0 && t->out.len > 0)
		r = trail_write(t, e);
	if (t->dirty && t->logfd >= 0 && fdatasync(t->logfd) < 0 && r == 0)
		r = audit_full(errno) ? hv_err_set(e, HV_EIO, "audit log: no space left on device "
		    "('%s' not synced)", t->p.log) :
		    hv_err_errno(e, HV_EIO, errno, "cannot sync '%s'", t->p.log);
	if (t->dirty && r == 0)
		r = audit_state_write(&t->p, &t->st, t->syncdir, e);
	/* Lines no state counts were never acknowledged: cut them rather than
	 * leave them for the next append to adopt, so that the log stays what
	 * its state says (a full disk fails here, the state unwritten). */
	if (r < 0 && t->written && t->logfd >= 0 && (ftruncate(t->logfd, (off_t)t->cut_to) < 0 ||
	    fdatasync(t->logfd) < 0))
		hv_err_wrap(e, "and the lines not acknowledged stay (the next append adopts "
		    "them)");
	trail_release(t);
	return r;
}

static int
valid_name(const char *s, size_t max, int dots)
{
	size_t i;

	if (s == NULL || *s < 'a' || *s > 'z')
		return 0;
	for (i = 0; s[i]; i++) {
		if (i >= max)
			return 0;
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
			continue;
		if (!dots || s[i] != '.' || s[i + 1] == '\0' || s[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* Keys that would put content or a secret in the trail. */
static const char *const forbidden[] = {
	"subject", "from", "to", "cc", "bcc", "reply_to", "sender", "body", "raw",
	"snippet", "content", "token", "access_token", "refresh_token", "secret",
	"password", "passphrase", "code", "key_text",
};

static int
check_event(const char *action, const struct hv_audit_field *f, size_t n,
    enum hv_audit_outcome outcome, struct hv_err *e)
{
	size_t i, j;

	if (!valid_name(action, 64, 1) || strcmp(action, HV_AUDIT_CHECKPOINT) == 0 ||
	    strcmp(action, HV_AUDIT_REPAIR) == 0)
		return hv_err_set(e, HV_EINTERNAL, "bad audit action '%s'", action ? action : "");
	if (n > HV_AUDIT_FIELDS_MAX || (n > 0 && f == NULL))
		return hv_err_set(e, HV_EINTERNAL, "too many audit fields");
	if ((unsigned)outcome > HV_AUDIT_REFUSED)
		return hv_err_set(e, HV_EINTERNAL, "bad audit outcome %d", (int)outcome);
	for (i = 0; i < n; i++) {
		if (!valid_name(f[i].key, 32, 0) || f[i].value == NULL || strcmp(f[i].key, "reason") == 0)
			return hv_err_set(e, HV_EINTERNAL, "bad audit field '%s'",
			    f[i].key ? f[i].key : "");
		for (j = 0; j < sizeof forbidden / sizeof forbidden[0]; j++)
			if (strcmp(f[i].key, forbidden[j]) == 0)
				return hv_err_set(e, HV_EINTERNAL, "audit field '%s' may not "
				    "be logged", f[i].key);
		if (strcmp(f[i].key, "msgid") == 0 && (strlen(f[i].value) != HV_AUDIT_MSGID_LEN ||
		    !audit_is_hex(f[i].value, HV_AUDIT_MSGID_LEN)))
			return hv_err_set(e, HV_EINTERNAL, "audit field 'msgid' must be an HMAC "
			    "(hv_audit_msgid), not a Message-ID");
		for (j = 0; j < i; j++)
			if (strcmp(f[i].key, f[j].key) == 0)
				return hv_err_set(e, HV_EINTERNAL, "audit field '%s' twice", f[i].key);
	}
	return 0;
}

/* ---- batches ---- */

struct queued {
	size_t action;		/* offsets into the batch's text: the action, */
	size_t body, blen;	/* NUL-terminated, and the body (add_body) */
};

struct hv_audit_batch {
	const struct hv_config *c;	/* borrowed */
	const uint8_t *key;		/* borrowed: the audit purpose key, or NULL */
	struct ident id;
	size_t head;		/* bytes of a line's head at the largest seq, action aside */
	struct hv_buf text;	/* the queued events, rendered */
	struct queued *q;
	size_t n, cap;
};

struct hv_audit_batch *
hv_audit_batch_new(const struct hv_config *c, const uint8_t key[32])
{
	struct hv_audit_batch *b = hv_xcalloc(1, sizeof *b);
	struct hv_buf head = HV_BUF_INIT(2 * HV_AUDIT_LINE_MAX);

	b->c = c;
	b->key = key;
	who(&b->id);
	/* The head at the largest seq there can be: whether an event fits in
	 * a line is then known when it is queued, wherever the trail stands. */
	(void)add_head(&head, &b->id, UINT64_MAX, "0000-00-00T00:00:00.000000Z", "");
	b->head = head.len;
	hv_buf_release(&head);
	hv_buf_init(&b->text, (HV_AUDIT_BATCH_MAX + HV_AUDIT_FIELDS_MAX) *
	    (size_t)HV_AUDIT_LINE_MAX);
	return b;
}

int
hv_audit_batch_log(struct hv_audit_batch *b, const char *action,
    const struct hv_audit_field *fields, size_t n, enum hv_audit_outcome outcome,
    const char *error, struct hv_err *e)
{
	struct event ev = { action, fields, n, outcome, error, NULL };
	size_t start = b->text.len, alen;
	int r;

	if ((r = check_event(action, fields, n, outcome, e)) < 0)
		return r;
	if (b->n >= HV_AUDIT_BATCH_MAX)
		return hv_err_set(e, HV_EINTERNAL, "audit batch of more than %d events "
		    "(flush first)", HV_AUDIT_BATCH_MAX);
	alen = strlen(action);
	if ((r = hv_buf_add(&b->text, action, alen + 1)) == 0)
		r = audit_add_body(&b->text, &ev);
	if (r < 0 || b->head + b->text.len - start - 1 + PREV_TAIL + MAC_TAIL + 1 >
	    HV_AUDIT_LINE_MAX) {
		b->text.len = start;
		if (b->text.data != NULL)
			b->text.data[start] = '\0';
		return hv_err_set(e, HV_EINTERNAL, "audit event longer than %d bytes",
		    HV_AUDIT_LINE_MAX);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->q = hv_xrealloc(b->q, b->cap * sizeof *b->q);
	}
	b->q[b->n].action = start;
	b->q[b->n].body = start + alen + 1;
	b->q[b->n].blen = b->text.len - start - alen - 1;
	b->n++;
	return 0;
}

int
hv_audit_batch_message(struct hv_audit_batch *b, const char *action, const char *account,
    const char *team, const char *message_id, enum hv_audit_outcome outcome,
    const char *error, struct hv_err *e)
{
	char msgid[HV_AUDIT_MSGID_LEN + 1];
	struct hv_audit_field f[3] = {
		{ "account", account }, { "team", team }, { "msgid", msgid },
	};

	if (b->key == NULL || message_id == NULL)
		return hv_err_set(e, HV_EINTERNAL, "audit message event without %s",
		    b->key == NULL ? "a key" : "a Message-ID");
	hv_audit_msgid(msgid, b->key, message_id, strlen(message_id));
	return hv_audit_batch_log(b, action, f, 3, outcome, error, e);
}

size_t
hv_audit_batch_len(const struct hv_audit_batch *b)
{
	return b->n;
}

/* One lock, the lines built in memory as one append each would build
 * them (a checkpoint after any event that makes one due), one write, one
 * fdatasync, one state. */
int
hv_audit_batch_flush(struct hv_audit_batch *b, struct hv_err *e)
{
	const struct queued *q;
	struct trail t;
	size_t i;
	int r;

	if (b->n == 0)
		return 0;
	r = audit_trail_open(&t, b->c, &b->id, OPEN_APPEND, e);
	for (i = 0; r == 0 && i < b->n; i++) {
		q = &b->q[i];
		r = audit_append(&t, b->text.data + q->action, b->text.data + q->body, q->blen,
		    NULL, e);
		if (r == 0 && checkpoint_due(&t))
			r = audit_append_checkpoint(&t, "due", e);
	}
	r = audit_trail_close(&t, r, e);
	b->n = 0;
	hv_buf_reset(&b->text);
	return r;
}

void
hv_audit_batch_free(struct hv_audit_batch *b)
{
	if (b == NULL)
		return;
	hv_buf_release(&b->text);
	free(b->q);
	free(b);
}

int
hv_audit_log(const struct hv_config *c, const char *action,
    const struct hv_audit_field *fields, size_t n,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e)
{
	struct hv_audit_batch *b = hv_audit_batch_new(c, NULL);
	int r;

	if ((r = hv_audit_batch_log(b, action, fields, n, outcome, error, e)) == 0)
		r = hv_audit_batch_flush(b, e);
	hv_audit_batch_free(b);
	return r;
}

int
hv_audit_init(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;

	return audit_trail_close(&t, audit_trail_open(&t, c, NULL, OPEN_CREATE_ONLY, e), e);
}

int
hv_audit_ready(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;

	return audit_trail_close(&t, audit_trail_open(&t, c, NULL, OPEN_APPEND, e), e);
}

int
hv_audit_checkpoint(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;
	int r;

	if ((r = audit_trail_open(&t, c, NULL, OPEN_APPEND, e)) == 0)
		r = audit_append_checkpoint(&t, "manual", e);
	return audit_trail_close(&t, r, e);
}

/* The seq of the first line of path. */
static int
first_seq(const char *path, uint64_t *seq, struct hv_err *e)
{
	struct hv_audit_line l;
	char buf[HV_AUDIT_LINE_MAX];
	char *nl;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
	n = hv_read_full(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0 || (nl = memchr(buf, '\n', (size_t)n)) == NULL ||
	    hv_audit_parse(&l, buf, (size_t)(nl - buf), e) < 0)
		return hv_err_set(e, HV_EDATA, "'%s': no first line to name it by", path);
	*seq = l.seq;
	return 0;
}

int
hv_audit_rotate(const struct hv_config *c, char **rotated, struct hv_err *e)
{
	struct trail t;
	uint64_t seq = 0;
	char *name = NULL, *dir;
	int r, n;

	*rotated = NULL;
	if ((r = audit_trail_open(&t, c, NULL, OPEN_APPEND, e)) == 0 &&
	    (r = audit_append_checkpoint(&t, "rotate", e)) == 0 &&
	    (r = trail_write(&t, e)) == 0) {
		if (fdatasync(t.logfd) < 0)
			r = hv_err_errno(e, HV_EIO, errno, "cannot sync '%s'", t.p.log);
		else
			r = first_seq(t.p.log, &seq, e);
	}
	if (r == 0) {
		n = snprintf(NULL, 0, "%s.%llu", t.p.log, (unsigned long long)seq);
		name = hv_xmalloc((size_t)n + 1);
		snprintf(name, (size_t)n + 1, "%s.%llu", t.p.log, (unsigned long long)seq);
		if (access(name, F_OK) == 0 || errno != ENOENT)
			r = hv_err_set(e, HV_ECANTCREAT, "'%s' exists already", name);
		else if (rename(t.p.log, name) < 0)
			r = hv_err_errno(e, HV_EIO, errno, "cannot rename '%s'", t.p.log);
		else
			t.st.size = 0;
	}
	if (r == 0) {
		dir = audit_dir_of(t.p.log);
		if ((n = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(n);
			close(n);
		}
		free(dir);
	}
	r = audit_trail_close(&t, r, e);
	if (r == 0)
		*rotated = name;
	else
		free(name);
	return r;
}


int
hv_audit_message(const struct hv_config *c, const uint8_t key[32], const char *action,
    const char *account, const char *team, const char *message_id,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e)
{
	struct hv_audit_batch *b = hv_audit_batch_new(c, key);
	int r;

	if ((r = hv_audit_batch_message(b, action, account, team, message_id, outcome,
	    error, e)) == 0)
		r = hv_audit_batch_flush(b, e);
	hv_audit_batch_free(b);
	return r;
}
