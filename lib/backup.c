/*
 * hv-backup's flows.  The plaintext snapshot lives only on tmpfs and only
 * until it is sealed; everything that leaves the host is sealed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_query.h"
#include "backup.h"
#include "clock.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "http_s3.h"
#include "keys.h"
#include "mem.h"
#include "seal.h"
#include "store.h"
#include "banned.h"

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
#define DAY 86400LL
/* Plaintext scratch files: "hv-snapshot.PID.XXXXXX", so a later run can
 * tell one whose maker was killed (VACUUM INTO, an opened backup) and
 * remove it. Sealed scratch files are "hv-backup.XXXXXX". */
#define PLAIN_PREFIX "hv-snapshot."

struct target {
	const char *spec;	/* borrowed from the config */
	char *dir;		/* a directory target, or NULL */
	char *bucket, *prefix;	/* an s3:// target; prefix may be "" */
};

struct item {
	char name[HV_BACKUP_NAME_LEN + 1];
	long long size;
};

struct ctx {
	const struct hv_config *c;
	struct target *t;
	size_t nt;
	struct hv_s3 *s3;	/* made on first use */
	char *scratch;		/* a tmpfs directory for plaintext */
	hv_backup_fn fn;
	void *arg;
	int worst;
	struct hv_err first;	/* the first failure on a target */
};

static int
digits_at(const char *p, int off, int n)
{
	int v = 0;

	for (p += off; n-- > 0; p++)
		v = v * 10 + (*p - '0');
	return v;
}

int
hv_backup_name_time_us(const char *name, long long *us)
{
	struct tm tm;
	const char *p;
	size_t len = strlen(name);
	int i, frac = len == HV_BACKUP_NAME_LEN, micro = 0;

	if ((len != HV_BACKUP_NAME_LEN && len != HV_BACKUP_NAME_LEN - 7) ||
	    strncmp(name, "hv-", 3) != 0 || name[11] != 'T' ||
	    strcmp(name + len - 5, "Z.hvb") != 0 || (frac && name[18] != '.'))
		return HV_EDATA;
	for (i = 3; i < (int)len - 5; i++)
		if (i != 11 && i != 18 && (name[i] < '0' || name[i] > '9'))
			return HV_EDATA;
	memset(&tm, 0, sizeof tm);
	p = name + 3;
	tm.tm_year = digits_at(p, 0, 4) - 1900;
	tm.tm_mon = digits_at(p, 4, 2) - 1;
	tm.tm_mday = digits_at(p, 6, 2);
	tm.tm_hour = digits_at(p, 9, 2);
	tm.tm_min = digits_at(p, 11, 2);
	tm.tm_sec = digits_at(p, 13, 2);
	if (frac)
		micro = digits_at(p, 16, 6);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return HV_EDATA;
	*us = (long long)timegm(&tm) * 1000000 + micro;
	return 0;
}

int
hv_backup_name_time(const char *name, long long *t)
{
	long long us;

	if (hv_backup_name_time_us(name, &us) < 0)
		return HV_EDATA;
	*t = us / 1000000;
	return 0;
}

int
hv_backup_name_cmp(const char *a, const char *b)
{
	long long ta, tb;
	int ra = hv_backup_name_time_us(a, &ta), rb = hv_backup_name_time_us(b, &tb);

	if (ra < 0 || rb < 0)
		return ra < 0 && rb < 0 ? strcmp(a, b) : ra < 0 ? 1 : -1;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	/* The same second, one of each form: the older form first. */
	if (strlen(a) != strlen(b))
		return strlen(a) < strlen(b) ? -1 : 1;
	return strcmp(a, b);
}

/*
 * Microseconds, so that two backups in the same second (a retry, a timer
 * and a person) get names of their own: a name is never reused.
 */
static int
make_name(char name[HV_BACKUP_NAME_LEN + 1], long long now_us)
{
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;
	char sec[20];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(sec, sizeof sec, "%Y%m%dT%H%M%S", &tm) != 15 ||
	    snprintf(name, HV_BACKUP_NAME_LEN + 1, "hv-%s.%06lldZ.hvb", sec,
	    now_us % 1000000) != HV_BACKUP_NAME_LEN)
		return HV_EINTERNAL;
	return 0;
}

/* ---- the audit trail: every flow records what it did, here ---- */

static int
audit(const struct ctx *x, const char *action, const char *name, const char *target,
    int status, const char *error, struct hv_err *e)
{
	struct hv_audit_field f[2];
	size_t n = 0;

	if (name != NULL)
		f[n++] = (struct hv_audit_field){ "backup", name };
	if (target != NULL)
		f[n++] = (struct hv_audit_field){ "target", target };
	return hv_audit_log(x->c, action, f, n,
	    status == 0 ? HV_AUDIT_OK : status == HV_EPERM ? HV_AUDIT_REFUSED : HV_AUDIT_FAIL,
	    status == 0 ? NULL : error, e);
}

/* ---- targets ---- */

static int
parse_target(struct target *t, const char *spec, struct hv_err *e)
{
	const char *slash;
	size_t n;

	memset(t, 0, sizeof *t);
	t->spec = spec;
	if (strncmp(spec, "s3://", 5) != 0) {
		if (spec[0] != '/')
			return hv_err_set(e, HV_ECONFIG, "[backup] to: '%s' is neither an "
			    "absolute directory nor s3://BUCKET[/PREFIX]", spec);
		t->dir = hv_xstrdup(spec);
		return 0;
	}
	spec += 5;
	slash = strchr(spec, '/');
	t->bucket = slash ? strndup(spec, (size_t)(slash - spec)) : hv_xstrdup(spec);
	t->prefix = hv_xstrdup(slash ? slash + 1 : "");
	if (t->bucket == NULL)
		abort();
	n = strlen(t->prefix);
	while (n > 0 && t->prefix[n - 1] == '/')
		t->prefix[--n] = '\0';
	if (!hv_s3_name_ok(t->bucket) || strchr(t->bucket, '/') ||
	    (n > 0 && !hv_s3_name_ok(t->prefix)))
		return hv_err_set(e, HV_ECONFIG, "[backup] to: bad S3 target '%s' (bucket "
		    "and prefix of [A-Za-z0-9._/-])", t->spec);
	return 0;
}

static void
ctx_release(struct ctx *x)
{
	size_t i;

	for (i = 0; i < x->nt; i++) {
		free(x->t[i].dir);
		free(x->t[i].bucket);
		free(x->t[i].prefix);
	}
	free(x->t);
	hv_s3_free(x->s3);
	free(x->scratch);
}

static int
is_tmpfs(const char *dir)
{
	struct statfs sf;
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) == 0 &&
	    statfs(dir, &sf) == 0 &&
	    ((unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_);
}

/*
 * Where plaintext may sit for a moment: the spool's directory,
 * $XDG_RUNTIME_DIR or /dev/shm when on tmpfs, else $TMPDIR or /tmp when
 * [spool] allow_disk.  cand[] gets up to 4; *spool_parent is the caller's
 * to free.  Returns how many.
 */
static size_t
scratch_candidates(const struct hv_config *c, const char *cand[4], char **spool_parent)
{
	char *s;
	size_t n = 0;

	*spool_parent = hv_xstrdup(c->paths.spool ? c->paths.spool : "");
	if ((s = strrchr(*spool_parent, '/')) != NULL)
		*s = '\0';
	cand[n++] = *spool_parent;
	if (getenv("XDG_RUNTIME_DIR") != NULL)
		cand[n++] = getenv("XDG_RUNTIME_DIR");
	cand[n++] = "/dev/shm";
	if (c->spool.allow_disk)
		cand[n++] = getenv("TMPDIR") && getenv("TMPDIR")[0] == '/' ?
		    getenv("TMPDIR") : "/tmp";
	return n;
}

static int
scratch_dir(struct ctx *x, struct hv_err *e)
{
	const char *cand[4];
	char *spool_parent;
	size_t i, n = scratch_candidates(x->c, cand, &spool_parent);

	for (i = 0; i < n && x->scratch == NULL; i++)
		if (cand[i][0] == '/' && is_tmpfs(cand[i]))
			x->scratch = hv_xstrdup(cand[i]);
	if (x->scratch == NULL && x->c->spool.allow_disk)
		x->scratch = hv_xstrdup(cand[n - 1]);
	free(spool_parent);
	if (x->scratch == NULL)
		return hv_err_set(e, HV_ECONFIG, "no tmpfs for the plaintext snapshot (tried "
		    "the spool's directory, $XDG_RUNTIME_DIR, /dev/shm): mount one, or "
		    "set [spool] allow_disk = yes");
	return 0;
}

/*
 * Whether the plaintext file name, "hv-snapshot.PID.XXXXXX" (or SQLite's
 * -journal beside it), belongs to no running process: its maker was killed
 * before it could unlink it.
 */
static int
snapshot_orphaned(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, PLAIN_PREFIX, strlen(PLAIN_PREFIX)) != 0)
		return 0;
	errno = 0;
	pid = strtol(name + strlen(PLAIN_PREFIX), &end, 10);
	if (errno != 0 || end == name + strlen(PLAIN_PREFIX) || *end != '.' || pid <= 0 ||
	    pid > INT_MAX)
		return 1;
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static size_t
snapshots_remove_in(const char *dir, int all)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	size_t n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PLAIN_PREFIX, strlen(PLAIN_PREFIX)) != 0 ||
		    (!all && !snapshot_orphaned(de->d_name)))
			continue;
		/* Only our own regular files: the directory may be shared. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

size_t
hv_backup_snapshots_remove(const struct hv_config *c, int all)
{
	const char *cand[4];
	char *spool_parent;
	size_t i, n = scratch_candidates(c, cand, &spool_parent), removed = 0;

	for (i = 0; i < n; i++)
		if (cand[i][0] == '/')
			removed += snapshots_remove_in(cand[i], all);
	free(spool_parent);
	return removed;
}

static int
ctx_init(struct ctx *x, const struct hv_config *c, hv_backup_fn fn, void *arg,
    struct hv_err *e)
{
	size_t i;
	int r;

	memset(x, 0, sizeof *x);
	x->c = c;
	x->fn = fn;
	x->arg = arg;
	if (c->backup.nto == 0)
		return hv_err_set(e, HV_ECONFIG, "no backup target: set [backup] to");
	x->t = hv_xcalloc(c->backup.nto, sizeof *x->t);
	for (i = 0; i < c->backup.nto; i++, x->nt++)
		if ((r = parse_target(&x->t[i], c->backup.to[i], e)) < 0)
			return r;
	return scratch_dir(x, e);
}

static int
s3(struct ctx *x, struct hv_s3 **out, struct hv_err *e)
{
	int r = 0;

	if (x->s3 == NULL)
		r = hv_s3_new(&x->s3, x->c->backup.endpoint, x->c->backup.region,
		    x->c->backup.credentials, x->c->backup.ca_file, e);
	*out = x->s3;
	return r;
}

static void
object_key(char *key, size_t len, const struct target *t, const char *name)
{
	snprintf(key, len, "%s%s%s", t->prefix, *t->prefix ? "/" : "", name);
}

static void
dir_path(char *path, size_t len, const struct target *t, const char *name)
{
	snprintf(path, len, "%s/%s", t->dir, name);
}

/* Record one outcome on a target: the callback, the worst status. */
static int
report(struct ctx *x, struct hv_backup_entry *b, int status, const struct hv_err *why)
{
	b->status = status;
	b->error = status < 0 && why != NULL ? why->msg : NULL;
	if (status < 0) {
		if (x->first.code == 0)
			x->first = *why;
		x->worst = x->worst == 0 ? status :
		    -hv_exit_worst(hv_exit_code(x->worst), hv_exit_code(status));
	}
	return x->fn != NULL ? x->fn(b, x->arg) : 0;
}

/* A step begun, for progress; not an outcome (see struct hv_backup_entry). */
static void
step(struct ctx *x, const char *name, const char *target, const char *what)
{
	struct hv_backup_entry b = { name, target, 0, -1, NULL, 0, NULL, 0, NULL, what };

	if (x->fn != NULL)
		(void)x->fn(&b, x->arg);
}

/* A new 0600 scratch file; plain: it will hold plaintext. */
static int
scratch_file(const struct ctx *x, int plain, char **path, int *fd, struct hv_err *e)
{
	size_t n = strlen(x->scratch) + 64;

	*path = hv_xmalloc(n);
	if (plain)
		snprintf(*path, n, "%s/" PLAIN_PREFIX "%ld.XXXXXX", x->scratch, (long)getpid());
	else
		snprintf(*path, n, "%s/hv-backup.XXXXXX", x->scratch);
	if ((*fd = mkostemp(*path, O_CLOEXEC)) < 0) {
		int r = hv_err_errno(e, HV_ECANTCREAT, errno, "cannot create a file in '%s'",
		    x->scratch);

		free(*path);
		*path = NULL;
		return r;
	}
	return 0;
}

static void
scratch_drop(char **path, int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (*path != NULL)
		unlink(*path);
	free(*path);
	*path = NULL;
}

/* Size and SHA-256 (hex) of what fd holds, read from the start. */
static int
fd_digest(int fd, const char *what, long long *size, char hexout[65], struct hv_err *e)
{
	static const char digits[] = "0123456789abcdef";
	struct hv_sha256 *h = hv_sha256_new();
	uint8_t *buf = hv_xmalloc(1 << 16), md[32];
	ssize_t got;
	off_t off = 0;
	int i, r = 0;

	while ((got = pread(fd, buf, 1 << 16, off)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", what);
			break;
		}
		hv_sha256_update(h, buf, (size_t)got);
		off += got;
	}
	hv_sha256_final(h, md);
	hv_sha256_free(h);
	free(buf);
	for (i = 0; i < 32; i++) {
		hexout[2 * i] = digits[md[i] >> 4];
		hexout[2 * i + 1] = digits[md[i] & 15];
	}
	hexout[64] = '\0';
	*size = (long long)off;
	return r;
}

static int
copy_fd(int in, int out, const char *what, struct hv_err *e)
{
	char *buf = hv_xmalloc(1 << 16);
	ssize_t got;
	off_t off = 0;
	int r = 0;

	while ((got = pread(in, buf, 1 << 16, off)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || hv_write_all(out, buf, (size_t)got) < 0) {
			r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", what);
			break;
		}
		off += got;
	}
	free(buf);
	return r;
}

static int
readback_mismatch(const char *where, long long size, long long want_size,
    const char *sha, const char *want_sha, struct hv_err *e)
{
	if (size != want_size)
		return hv_err_set(e, HV_ETEMP, "%s: read back %lld bytes, sent %lld", where,
		    size, want_size);
	if (strcmp(sha, want_sha) != 0)
		return hv_err_set(e, HV_ETEMP, "%s: read back bytes that differ from "
		    "those sent", where);
	return 0;
}

static int
dir_put(const struct target *t, const char *name, int fd, long long size,
    const char *sha, struct hv_err *e)
{
	struct hv_atomic a = { -1, NULL, NULL };
	char path[4096], got_sha[65];
	long long got_size;
	int r, rfd;

	dir_path(path, sizeof path, t, name);
	if (access(path, F_OK) == 0)
		return hv_err_set(e, HV_ETEMP, "'%s' exists already", path);
	if ((r = hv_mkdirs(t->dir, e)) < 0 || (r = hv_atomic_begin(&a, path, 0600, e)) < 0)
		return r;
	if ((r = copy_fd(fd, a.fd, a.tmp, e)) == 0)
		r = hv_atomic_commit(&a, e);
	hv_atomic_abort(&a);
	if (r < 0)
		return r;
	if ((rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot read back '%s'", path);
	else if ((r = fd_digest(rfd, path, &got_size, got_sha, e)) == 0)
		r = readback_mismatch(path, got_size, size, got_sha, sha, e);
	if (rfd >= 0)
		close(rfd);
	if (r < 0)
		unlink(path);
	return r;
}

static void
to_hex(char out[65], const uint8_t md[32])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

static int
s3_put(struct ctx *x, const struct target *t, const char *name, int fd, long long size,
    const char *sha, struct hv_err *e)
{
	struct hv_s3 *c;
	char key[HV_S3_KEY_MAX + 1], where[HV_S3_KEY_MAX + 512], got_sha[65];
	long long got_size, head_size;
	uint8_t md[32];
	int r;

	object_key(key, sizeof key, t, name);
	snprintf(where, sizeof where, "s3://%s/%s", t->bucket, key);
	if ((r = s3(x, &c, e)) < 0)
		return r;
	if ((r = hv_s3_head(c, t->bucket, key, &head_size, e)) == 0)
		return hv_err_set(e, HV_ETEMP, "%s exists already", where);
	if (r != HV_ENOINPUT)
		return r;
	if ((r = hv_s3_put(c, t->bucket, key, fd, e)) < 0)
		return r;
	if ((r = hv_s3_head(c, t->bucket, key, &head_size, e)) == 0 &&
	    (r = hv_s3_sha256(c, t->bucket, key, &got_size, md, e)) == 0) {
		to_hex(got_sha, md);
		if ((r = readback_mismatch(where, head_size, size, got_sha, sha, e)) == 0)
			r = readback_mismatch(where, got_size, size, got_sha, sha, e);
	}
	/* Nothing unconfirmed stays behind to pass for a backup. */
	if (r < 0)
		(void)hv_s3_delete(c, t->bucket, key, NULL);
	return r;
}

static int
target_put(struct ctx *x, const struct target *t, const char *name, int fd,
    long long size, const char *sha, struct hv_err *e)
{
	if (t->dir != NULL)
		return dir_put(t, name, fd, size, sha, e);
	return s3_put(x, t, name, fd, size, sha, e);
}

/* ---- signatures ---- */

/*
 * A backup in recipient mode can be sealed by anyone who knows the
 * recipient (as with age): the signature, NAME.sig beside it, says this
 * host made it.  It is made with the audit trail's checkpoint key over the
 * backup's name and the SHA-256 of its sealed bytes, so neither another
 * backup's signature nor a re-sealed copy passes.
 */
#define SIG_SUFFIX ".sig"
#define SIG_MAGIC "hvbsig1 "
#define SIG_TEXT_MAX 256

static int target_fetch(struct ctx *x, const struct target *t, const char *name, int *fd,
    char **tmp, struct hv_err *e);
static int target_delete(struct ctx *x, const struct target *t, const char *name,
    struct hv_err *e);

static void
sig_name(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s" SIG_SUFFIX, name);
}

static void
sig_message(struct hv_buf *m, const char *name, const char *sha)
{
	hv_buf_addf(m, "hv-backup-signature/v1\n%s\n%s\n", name, sha);
}

/* The signature text of backup name whose sealed bytes have SHA-256 sha. */
static int
sig_make(const struct hv_config *c, const char *name, const char *sha, struct hv_buf *text,
    struct hv_err *e)
{
	struct hv_buf m = HV_BUF_INIT(512);
	uint8_t sig[HV_ED25519_SIG];
	int r;

	sig_message(&m, name, sha);
	if ((r = hv_audit_sign(c, m.data, m.len, sig, e)) < 0)
		hv_err_wrap(e, "cannot sign %s with the checkpoint key", name);
	else if (hv_buf_adds(text, SIG_MAGIC) < 0 || hv_b64url_encode(text, sig, sizeof sig) < 0 ||
	    hv_buf_add(text, "\n", 1) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "signature too long");
	hv_buf_release(&m);
	return r;
}

/* 0 when text is a good signature by pub of name with sealed SHA-256 sha. */
static int
sig_check(const uint8_t pub[HV_ED25519_PUB], const char *name, const char *sha,
    const char *text, size_t len, struct hv_err *e)
{
	struct hv_buf m = HV_BUF_INIT(512);
	uint8_t sig[HV_ED25519_SIG];
	size_t n;
	int r;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len < sizeof SIG_MAGIC - 1 || memcmp(text, SIG_MAGIC, sizeof SIG_MAGIC - 1) != 0 ||
	    hv_b64url_decode(text + sizeof SIG_MAGIC - 1, len - (sizeof SIG_MAGIC - 1), sig,
	    sizeof sig, &n) < 0 || n != sizeof sig)
		return hv_err_set(e, HV_EDATA, "%s" SIG_SUFFIX ": not a backup signature", name);
	sig_message(&m, name, sha);
	r = hv_ed25519_verify(pub, sig, m.data, m.len, NULL);
	hv_buf_release(&m);
	if (r == HV_EDATA)
		return hv_err_set(e, HV_EDATA, "%s: not signed by the checkpoint key given: "
		    "made or sealed again elsewhere", name);
	return r < 0 ? hv_err_set(e, r, "%s: cannot check its signature", name) : 0;
}

/* Write the signature of name to target t, read back like a backup. */
static int
sig_put(struct ctx *x, const struct target *t, const char *name, const struct hv_buf *text,
    struct hv_err *e)
{
	char signame[HV_BACKUP_NAME_LEN + sizeof SIG_SUFFIX], sha[65], *tmp = NULL;
	long long size;
	int fd = -1, r;

	sig_name(signame, sizeof signame, name);
	if ((r = scratch_file(x, 0, &tmp, &fd, e)) < 0)
		return r;
	if (hv_write_all(fd, text->data, text->len) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", tmp);
	else if ((r = fd_digest(fd, tmp, &size, sha, e)) == 0)
		r = target_put(x, t, signame, fd, size, sha, e);
	scratch_drop(&tmp, &fd);
	return r;
}

/* Check on target t the signature of name, whose sealed bytes are at in. */
static int
sig_verify(struct ctx *x, const struct target *t, const char *name, int in,
    const uint8_t pub[HV_ED25519_PUB], struct hv_err *e)
{
	char signame[HV_BACKUP_NAME_LEN + sizeof SIG_SUFFIX], sha[65], *tmp = NULL;
	char text[SIG_TEXT_MAX];
	long long size;
	ssize_t got;
	int fd = -1, r;

	if ((r = fd_digest(in, name, &size, sha, e)) < 0)
		return r;
	sig_name(signame, sizeof signame, name);
	if ((r = target_fetch(x, t, signame, &fd, &tmp, e)) < 0)
		return r == HV_ENOINPUT ? hv_err_set(e, HV_EDATA, "%s: no signature (%s): "
		    "not made by hv-backup create with signatures", name, signame) : r;
	if ((got = pread(fd, text, sizeof text, 0)) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot read %s", signame);
	else
		r = sig_check(pub, name, sha, text, (size_t)got, e);
	if (tmp != NULL)
		scratch_drop(&tmp, &fd);
	else
		close(fd);
	return r;
}

/* A checkpoint public key, "hvsig1..." or a file that holds one. */
static int
pubkey_read(const char *arg, uint8_t pub[HV_ED25519_PUB], struct hv_err *e)
{
	int r = hv_audit_pubkey_read(arg, pub, e);

	if (r == HV_EDATA)
		hv_err_wrap(e, "'%s'", arg);
	return r;
}

/* ---- create ---- */

static int
seal_snapshot(struct ctx *x, const char *name, int *sealed_fd, char **sealed,
    struct hv_err *e)
{
	struct hv_store *s = NULL;
	struct hv_seal_key *k = NULL;
	char *plain = NULL, ctx[64];
	int pfd = -1, r;

	*sealed_fd = -1;
	if (x->c->backup.recipient == NULL)
		return hv_err_set(e, HV_ECONFIG, "no [backup] recipient (an hvpub1... "
		    "from hv-seal keygen -p)");
	if ((r = hv_key_recipient(&k, x->c->backup.recipient, e)) < 0) {
		hv_err_wrap(e, "[backup] recipient");
		if (r == HV_EDATA)
			r = HV_ECONFIG;
		return r;
	}
	if ((r = scratch_file(x, 1, &plain, &pfd, e)) < 0)
		goto out;
	close(pfd);
	pfd = -1;
	unlink(plain);
	if ((r = hv_store_open(&s, x->c->paths.state, 0, e)) < 0 ||
	    (r = hv_store_snapshot(s, plain, e)) < 0)
		goto out;
	hv_store_close(s);
	s = NULL;
	if ((pfd = open(plain, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot open '%s'", plain);
		goto out;
	}
	/* The name is hv's own, so the plaintext is gone as soon as it is read. */
	unlink(plain);
	if ((r = scratch_file(x, 0, sealed, sealed_fd, e)) < 0)
		goto out;
	snprintf(ctx, sizeof ctx, "backup:%s", name);
	r = hv_seal_fd(k, ctx, strlen(ctx), pfd, *sealed_fd, e);
out:
	hv_store_close(s);
	if (pfd >= 0)
		close(pfd);
	if (plain != NULL)
		unlink(plain);
	free(plain);
	hv_seal_key_free(k);
	if (r < 0 && *sealed_fd >= 0)
		scratch_drop(sealed, sealed_fd);
	return r;
}

int
hv_backup_create(const struct hv_config *c, hv_backup_fn fn, void *arg, struct hv_err *e)
{
	struct ctx x;
	struct hv_backup_entry b;
	struct hv_err te;
	char name[HV_BACKUP_NAME_LEN + 1], sha[65], *sealed = NULL;
	struct hv_buf sig = HV_BUF_INIT(SIG_TEXT_MAX);
	long long now_us = hv_now_us(), now = now_us / 1000000, size;
	int r, fd = -1, tr;
	size_t i;

	/* The trail first: its checkpoint key signs the backup. */
	if ((r = ctx_init(&x, c, fn, arg, e)) < 0 || (r = make_name(name, now_us)) < 0 ||
	    (r = hv_audit_ready(c, e)) < 0)
		goto out;
	/* A run killed in VACUUM INTO left its plaintext copy behind. */
	(void)hv_backup_snapshots_remove(c, 0);
	step(&x, name, NULL, "making a snapshot and sealing it");
	if ((r = seal_snapshot(&x, name, &fd, &sealed, e)) < 0 ||
	    (r = fd_digest(fd, sealed, &size, sha, e)) < 0 ||
	    (r = sig_make(c, name, sha, &sig, e)) < 0) {
		(void)audit(&x, HV_AUDIT_BACKUP, name, NULL, r, e->msg, NULL);
		goto out;
	}
	for (i = 0; i < x.nt && r == 0; i++) {
		memset(&te, 0, sizeof te);
		step(&x, name, x.t[i].spec, "writing and reading back");
		tr = target_put(&x, &x.t[i], name, fd, size, sha, &te);
		/* Unsigned, it would not pass verify -p: not a backup. */
		if (tr == 0 && (tr = sig_put(&x, &x.t[i], name, &sig, &te)) < 0)
			(void)target_delete(&x, &x.t[i], name, NULL);
		if ((r = audit(&x, HV_AUDIT_BACKUP, name, x.t[i].spec, tr, te.msg, e)) < 0)
			break;
		b = (struct hv_backup_entry){ name, x.t[i].spec, now, size, sha, 0, NULL, 0,
		    NULL, NULL };
		r = report(&x, &b, tr, &te);
	}
	if (r == 0 && x.worst < 0) {
		*e = x.first;
		r = x.worst;
	}
out:
	scratch_drop(&sealed, &fd);
	hv_buf_release(&sig);
	ctx_release(&x);
	return r;
}

/* ---- list ---- */

struct collect {
	struct item *v;
	size_t n, cap;
	const char *prefix;	/* s3: the key prefix and "/" to strip */
};

static void
collect_add(struct collect *l, const char *name, long long size)
{
	long long t;

	if (hv_backup_name_time(name, &t) < 0)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = hv_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	snprintf(l->v[l->n].name, sizeof l->v[l->n].name, "%s", name);
	l->v[l->n++].size = size;
}

static int
on_object(const struct hv_s3_object *o, void *arg)
{
	struct collect *l = arg;
	size_t n = strlen(l->prefix);

	if (strncmp(o->key, l->prefix, n) == 0 && strchr(o->key + n, '/') == NULL)
		collect_add(l, o->key + n, o->size);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return hv_backup_name_cmp(((const struct item *)a)->name,
	    ((const struct item *)b)->name);
}

static int
dir_list(const struct target *t, struct collect *l, struct hv_err *e)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;

	if ((dp = opendir(t->dir)) == NULL)
		return errno == ENOENT ? 0 :
		    hv_err_errno(e, HV_ENOINPUT, errno, "cannot list '%s'", t->dir);
	while ((d = readdir(dp)) != NULL)
		if (fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			collect_add(l, d->d_name, (long long)st.st_size);
	closedir(dp);
	return 0;
}

/* The backups on one target, sorted by name (which is by time). */
static int
target_list(struct ctx *x, const struct target *t, struct collect *l, struct hv_err *e)
{
	struct hv_s3 *c;
	char prefix[HV_S3_KEY_MAX + 2];
	int r;

	memset(l, 0, sizeof *l);
	if (t->dir != NULL) {
		r = dir_list(t, l, e);
	} else {
		snprintf(prefix, sizeof prefix, "%s%s", t->prefix, *t->prefix ? "/" : "");
		l->prefix = prefix;
		if ((r = s3(x, &c, e)) == 0)
			r = hv_s3_list(c, t->bucket, prefix, on_object, l, e);
		l->prefix = NULL;
	}
	if (r == 0 && l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, by_name);
	return r;
}

int
hv_backup_list(const struct hv_config *c, hv_backup_fn fn, void *arg, struct hv_err *e)
{
	struct hv_backup_entry b;
	struct collect l;
	struct ctx x;
	struct hv_err te;
	size_t i, j;
	int r;

	if ((r = ctx_init(&x, c, fn, arg, e)) < 0)
		goto out;
	for (i = 0; i < x.nt && r == 0; i++) {
		memset(&te, 0, sizeof te);
		if (target_list(&x, &x.t[i], &l, &te) < 0) {
			b = (struct hv_backup_entry){ NULL, x.t[i].spec, 0, -1, NULL, 0, NULL, 0,
			    NULL, NULL };
			r = report(&x, &b, te.code, &te);
		}
		for (j = 0; j < l.n && r == 0; j++) {
			b = (struct hv_backup_entry){ l.v[j].name, x.t[i].spec, 0, l.v[j].size,
			    NULL, 0, NULL, 0, NULL, NULL };
			hv_backup_name_time(l.v[j].name, &b.time);
			r = report(&x, &b, 0, NULL);
		}
		free(l.v);
	}
	if (r == 0 && x.worst < 0) {
		*e = x.first;
		r = x.worst;
	}
out:
	ctx_release(&x);
	return r;
}

/* ---- fetching and opening ---- */

/* A descriptor to read backup name from t: the file itself, or a download. */
static int
target_fetch(struct ctx *x, const struct target *t, const char *name, int *fd,
    char **tmp, struct hv_err *e)
{
	struct hv_s3 *c;
	char path[4096], key[HV_S3_KEY_MAX + 1];
	int r;

	*fd = -1;
	*tmp = NULL;
	if (t->dir != NULL) {
		dir_path(path, sizeof path, t, name);
		if ((*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", path);
		return 0;
	}
	object_key(key, sizeof key, t, name);
	if ((r = s3(x, &c, e)) < 0 || (r = scratch_file(x, 0, tmp, fd, e)) < 0)
		return r;
	if ((r = hv_s3_get(c, t->bucket, key, *fd, e)) < 0)
		scratch_drop(tmp, fd);
	return r;
}

/* Open sealed (at in) with k into out, and check the store it holds. */
static int
open_and_check(const char *name, const struct hv_seal_key *k, int in, int out,
    const char *out_path, int *schema, struct hv_err *e)
{
	char ctx[64];
	int r;

	snprintf(ctx, sizeof ctx, "backup:%s", name);
	if (lseek(in, 0, SEEK_SET) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read %s", name);
	if ((r = hv_open_fd(k, ctx, strlen(ctx), in, out, e)) < 0) {
		hv_err_wrap(e, "%s", name);
		return r;
	}
	if ((r = hv_store_check_file(out_path, schema, e)) < 0)
		hv_err_wrap(e, "%s", name);
	return r;
}

/* The newest backup on any target, for verify without a name. */
static int
newest(struct ctx *x, char name[HV_BACKUP_NAME_LEN + 1], struct hv_err *e)
{
	struct collect l;
	size_t i;
	int r = 0;

	name[0] = '\0';
	for (i = 0; i < x->nt && r == 0; i++) {
		if ((r = target_list(x, &x->t[i], &l, e)) == 0 && l.n > 0 &&
		    (name[0] == '\0' || hv_backup_name_cmp(l.v[l.n - 1].name, name) > 0))
			snprintf(name, HV_BACKUP_NAME_LEN + 1, "%s", l.v[l.n - 1].name);
		free(l.v);
	}
	if (r == 0 && name[0] == '\0')
		r = hv_err_set(e, HV_ENOINPUT, "no backup on any target");
	return r;
}

static int
verify_one(struct ctx *x, const struct target *t, const char *name,
    const struct hv_seal_key *k, const uint8_t *pub, struct hv_backup_entry *b,
    struct hv_err *e)
{
	char *sealed = NULL, *plain = NULL;
	int in = -1, out = -1, r;
	struct stat st;

	if ((r = target_fetch(x, t, name, &in, &sealed, e)) < 0)
		return r;
	if (fstat(in, &st) == 0)
		b->size = (long long)st.st_size;
	/* The origin first: a forgery is not opened at all. */
	if ((pub == NULL || (r = sig_verify(x, t, name, in, pub, e)) == 0) &&
	    (r = scratch_file(x, 1, &plain, &out, e)) == 0)
		r = open_and_check(name, k, in, out, plain, &b->schema, e);
	scratch_drop(&plain, &out);
	if (sealed != NULL)
		scratch_drop(&sealed, &in);
	else
		close(in);
	return r;
}

int
hv_backup_verify(const struct hv_config *c, const char *name, const char *identity,
    const char *pubkey, hv_backup_fn fn, void *arg, struct hv_err *e)
{
	uint8_t pub[HV_ED25519_PUB];
	struct hv_backup_entry b;
	struct hv_seal_key *k = NULL;
	struct collect l;
	struct ctx x;
	struct hv_err te;
	char want[HV_BACKUP_NAME_LEN + 1];
	long long t = 0;
	size_t i, j;
	int r, found = 0, tr;

	if ((r = ctx_init(&x, c, fn, arg, e)) < 0)
		goto out;
	if (name != NULL && hv_backup_name_time(name, &t) < 0) {
		r = hv_err_set(e, HV_EUSAGE, "'%s' is not a backup name "
		    "(hv-YYYYMMDDTHHMMSS.uuuuuuZ.hvb)", name);
		goto out;
	}
	if ((pubkey != NULL && (r = pubkey_read(pubkey, pub, e)) < 0) ||
	    (r = hv_key_load(&k, identity, HV_KEY_IDENTITY, e)) < 0)
		goto out;
	if (name == NULL && (r = newest(&x, want, e)) < 0)
		goto out;
	if (name != NULL)
		snprintf(want, sizeof want, "%s", name);
	hv_backup_name_time(want, &t);
	for (i = 0; i < x.nt && r == 0; i++) {
		memset(&te, 0, sizeof te);
		if ((tr = target_list(&x, &x.t[i], &l, &te)) == 0) {
			for (j = 0; j < l.n && strcmp(l.v[j].name, want) != 0; j++)
				;
			if (j == l.n) {
				free(l.v);
				continue;
			}
			found = 1;
			b = (struct hv_backup_entry){ want, x.t[i].spec, t, -1, NULL, 0, NULL,
			    0, NULL, NULL };
			step(&x, want, x.t[i].spec, "fetching, opening and checking");
			tr = verify_one(&x, &x.t[i], want, k, pubkey != NULL ? pub : NULL, &b,
			    &te);
		} else {
			b = (struct hv_backup_entry){ want, x.t[i].spec, t, -1, NULL, 0, NULL,
			    0, NULL, NULL };
		}
		free(l.v);
		if ((r = audit(&x, HV_AUDIT_BACKUP_VERIFY, want, x.t[i].spec, tr, te.msg, e)) == 0)
			r = report(&x, &b, tr, &te);
	}
	if (r == 0 && x.worst < 0) {
		*e = x.first;
		r = x.worst;
	} else if (r == 0 && !found) {
		r = hv_err_set(e, HV_ENOINPUT, "no target holds %s", want);
	}
out:
	hv_seal_key_free(k);
	ctx_release(&x);
	return r;
}

/* ---- restore ---- */

static int
restore_new(const char *name, const struct hv_seal_key *k, int in, const char *to,
    int *schema, struct hv_err *e)
{
	struct hv_atomic a = { -1, NULL, NULL };
	char *dir = hv_xstrdup(to), *slash = strrchr(dir, '/');
	int r = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		r = hv_mkdirs(dir, e);
	}
	free(dir);
	if (r < 0 || (r = hv_atomic_begin(&a, to, 0600, e)) < 0)
		return r;
	if ((r = open_and_check(name, k, in, a.fd, a.tmp, schema, e)) == 0)
		r = hv_atomic_commit(&a, e);
	hv_atomic_abort(&a);
	return r;
}

static int
restore_over(struct ctx *x, const char *name, const struct hv_seal_key *k, int in,
    const char *to, int *schema, struct hv_err *e)
{
	struct hv_store *s = NULL;
	char *plain = NULL;
	int out = -1, r;

	if ((r = scratch_file(x, 1, &plain, &out, e)) < 0)
		return r;
	if ((r = open_and_check(name, k, in, out, plain, schema, e)) == 0 &&
	    (r = hv_store_open(&s, to, 0, e)) == 0)
		r = hv_store_replace(s, plain, e);
	hv_store_close(s);
	scratch_drop(&plain, &out);
	return r;
}

static int
restore_from(struct ctx *x, const char *name, const struct hv_seal_key *k,
    const uint8_t *pub, const char *to, int force, struct hv_backup_entry *b,
    struct hv_err *e)
{
	struct collect l;
	char *sealed = NULL;
	size_t i, j;
	int in = -1, r = HV_ENOINPUT;

	for (i = 0; i < x->nt; i++) {
		if (target_list(x, &x->t[i], &l, e) < 0)
			continue;
		for (j = 0; j < l.n && strcmp(l.v[j].name, name) != 0; j++)
			;
		free(l.v);
		if (j < l.n)
			break;
	}
	if (i == x->nt)
		return hv_err_set(e, HV_ENOINPUT, "no target holds %s", name);
	b->target = x->t[i].spec;
	step(x, name, b->target, "fetching, opening, checking and restoring");
	if ((r = target_fetch(x, &x->t[i], name, &in, &sealed, e)) < 0)
		return r;
	if (pub != NULL && (r = sig_verify(x, &x->t[i], name, in, pub, e)) < 0)
		;
	else if (access(to, F_OK) < 0)
		r = restore_new(name, k, in, to, &b->schema, e);
	else if (force)
		r = restore_over(x, name, k, in, to, &b->schema, e);
	else
		r = hv_err_set(e, HV_ECANTCREAT, "refusing to restore over '%s', which "
		    "exists (--force replaces it under the store's lock)", to);
	if (sealed != NULL)
		scratch_drop(&sealed, &in);
	else
		close(in);
	return r;
}

int
hv_backup_restore(const struct hv_config *c, const char *name, const char *identity,
    const char *pubkey, const char *to, int force, hv_backup_fn fn, void *arg,
    struct hv_err *e)
{
	struct hv_backup_entry b = { name, NULL, 0, -1, NULL, 0, NULL, 0, NULL, NULL };
	uint8_t pub[HV_ED25519_PUB];
	struct hv_seal_key *k = NULL;
	struct ctx x;
	int r, ar;

	if ((r = ctx_init(&x, c, fn, arg, e)) < 0)
		goto out;
	if (to == NULL)
		to = c->paths.state;
	if (hv_backup_name_time(name, &b.time) < 0) {
		r = hv_err_set(e, HV_EUSAGE, "'%s' is not a backup name "
		    "(hv-YYYYMMDDTHHMMSS.uuuuuuZ.hvb)", name);
		goto out;
	}
	if ((pubkey == NULL || (r = pubkey_read(pubkey, pub, e)) == 0) &&
	    (r = hv_key_load(&k, identity, HV_KEY_IDENTITY, e)) == 0)
		r = restore_from(&x, name, k, pubkey != NULL ? pub : NULL, to, force, &b, e);
	if ((ar = audit(&x, HV_AUDIT_RESTORE, name, b.target, r, e->msg,
	    r == 0 ? e : NULL)) < 0 && r == 0)
		r = ar;
	if (r == 0 && fn != NULL)
		r = fn(&b, arg);
out:
	hv_seal_key_free(k);
	ctx_release(&x);
	return r;
}

/* ---- prune ---- */

static int
by_time_desc(const void *a, const void *b)
{
	const long long *pa = *(const long long *const *)a, *pb = *(const long long *const *)b;

	/* Equal times (two backups in one second): the later in t is newer. */
	if (*pa != *pb)
		return *pa < *pb ? 1 : -1;
	return pa < pb ? 1 : pa > pb ? -1 : 0;
}

void
hv_backup_prune_select(const long long *t, size_t n, long keep, long long now, int *keepv)
{
	const long long **order = hv_xcalloc(n ? n : 1, sizeof *order);
	long long today = now - ((now % DAY) + DAY) % DAY, day;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		order[i] = &t[i];
		keepv[i] = 0;
	}
	qsort(order, n, sizeof *order, by_time_desc);
	for (i = 0; i < n && (long)i < keep; i++)
		keepv[order[i] - t] = 1;
	/* Newest first, so the first found in a day is that day's newest. */
	for (d = 0; d < 7; d++) {
		day = today - d * DAY;
		for (i = 0; i < n; i++)
			if (*order[i] >= day && *order[i] < day + DAY) {
				keepv[order[i] - t] = 1;
				break;
			}
	}
	free(order);
}

static int
target_delete(struct ctx *x, const struct target *t, const char *name, struct hv_err *e)
{
	struct hv_s3 *c;
	char path[4096], key[HV_S3_KEY_MAX + 1];
	int r;

	if (t->dir != NULL) {
		dir_path(path, sizeof path, t, name);
		if (unlink(path) < 0 && errno != ENOENT)
			return hv_err_errno(e, HV_EIO, errno, "cannot remove '%s'", path);
		return 0;
	}
	object_key(key, sizeof key, t, name);
	if ((r = s3(x, &c, e)) == 0)
		r = hv_s3_delete(c, t->bucket, key, e);
	return r;
}

static int
prune_target(struct ctx *x, const struct target *t, struct hv_err *e)
{
	struct hv_backup_entry b;
	struct hv_err te;
	struct collect l;
	char signame[HV_BACKUP_NAME_LEN + sizeof SIG_SUFFIX];
	long long *times;
	int *keepv, r, tr;
	size_t i;

	if ((r = target_list(x, t, &l, &te)) < 0) {
		b = (struct hv_backup_entry){ NULL, t->spec, 0, -1, NULL, 0, NULL, 0, NULL, NULL };
		return report(x, &b, r, &te);
	}
	times = hv_xcalloc(l.n + 1, sizeof *times);
	keepv = hv_xcalloc(l.n + 1, sizeof *keepv);
	for (i = 0; i < l.n; i++)
		hv_backup_name_time(l.v[i].name, &times[i]);
	hv_backup_prune_select(times, l.n, x->c->backup.keep, hv_now(), keepv);
	for (i = 0; i < l.n && r == 0; i++) {
		b = (struct hv_backup_entry){ l.v[i].name, t->spec, times[i], l.v[i].size,
		    NULL, 0, keepv[i] ? "keep" : "delete", 0, NULL, NULL };
		memset(&te, 0, sizeof te);
		tr = keepv[i] ? 0 : target_delete(x, t, l.v[i].name, &te);
		/* Its signature goes with it (none beside backups made before). */
		if (!keepv[i] && tr == 0) {
			sig_name(signame, sizeof signame, l.v[i].name);
			tr = target_delete(x, t, signame, &te);
		}
		if (!keepv[i] &&
		    (r = audit(x, HV_AUDIT_BACKUP_PRUNE, l.v[i].name, t->spec, tr, te.msg, e)) < 0)
			break;
		r = report(x, &b, tr, &te);
	}
	free(times);
	free(keepv);
	free(l.v);
	return r;
}

int
hv_backup_prune(const struct hv_config *c, hv_backup_fn fn, void *arg, struct hv_err *e)
{
	struct ctx x;
	size_t i;
	int r;

	if ((r = ctx_init(&x, c, fn, arg, e)) < 0)
		goto out;
	for (i = 0; i < x.nt && r == 0; i++)
		r = prune_target(&x, &x.t[i], e);
	if (r == 0 && x.worst < 0) {
		*e = x.first;
		r = x.worst;
	}
out:
	ctx_release(&x);
	return r;
}
