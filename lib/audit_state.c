/* audit_state: the appender's state file and the paths beside the log. */
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

/* ---- the appender's state ---- */

char *
audit_concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = hv_xmalloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

void
audit_paths_init(struct paths *p, const char *log)
{
	p->log = hv_xstrdup(log);
	p->state = audit_concat(log, ".state");
	p->tmp = audit_concat(log, ".state.tmp");
	p->lock = audit_concat(log, ".lock");
	p->key0 = audit_concat(log, ".key0");
}

void
audit_paths_free(struct paths *p)
{
	free(p->log);
	free(p->state);
	free(p->tmp);
	free(p->lock);
	free(p->key0);
}

static int
state_field(char **s, const char *name, char **value)
{
	size_t n = strlen(name);
	char *nl;

	if (strncmp(*s, name, n) != 0 || (*s)[n] != ' ' || (nl = strchr(*s, '\n')) == NULL)
		return -1;
	*nl = '\0';
	*value = *s + n + 1;
	*s = nl + 1;
	return 0;
}


static int
state_parse(struct state *st, char *s)
{
	char *v, *sp;
	uint64_t t;

	if (strncmp(s, "hv-audit-state 1\n", 17) != 0)
		return -1;
	s += 17;
	if (state_field(&s, "seq", &v) < 0 || audit_parse_u64(v, &st->seq) < 0 ||
	    state_field(&s, "size", &v) < 0 || audit_parse_u64(v, &st->size) < 0 ||
	    state_field(&s, "prev", &v) < 0 || strlen(v) != 64 || audit_hex_decode(st->prev, v, 32) < 0 ||
	    state_field(&s, "key", &v) < 0 || strlen(v) != 64 || audit_hex_decode(st->key, v, 32) < 0 ||
	    state_field(&s, "sign", &v) < 0 || strlen(v) != 64 || audit_hex_decode(st->sign, v, 32) < 0 ||
	    state_field(&s, "checkpoint", &v) < 0 || (sp = strchr(v, ' ')) == NULL)
		return -1;
	*sp = '\0';
	if (audit_parse_u64(v, &st->ckpt_seq) < 0 || audit_parse_u64(sp + 1, &t) < 0 || *s != '\0')
		return -1;
	st->ckpt_time = (long long)t;
	return 0;
}

/* HV_ENOINPUT when there is no state file. */
int
audit_state_read(const struct paths *p, struct state *st, struct hv_err *e)
{
	struct hv_buf b;
	int r;

	if (access(p->state, F_OK) < 0 && errno == ENOENT)
		return HV_ENOINPUT;
	hv_buf_init_secret(&b, STATE_MAX);
	if ((r = hv_file_read_secret(p->state, &b, e)) == 0 &&
	    (b.data == NULL || state_parse(st, b.data) < 0))
		r = hv_err_set(e, HV_EDATA, "'%s' is not an hv-audit state file", p->state);
	hv_buf_release(&b);
	return r;
}

/* Replace the state: a temporary file, fdatasync, rename.  The caller
 * holds the lock, so the temporary name is ours alone.  An append leaves
 * the directory alone (a rename lost in a crash leaves the old state,
 * which the next append recovers from); a repair, which moves the state
 * back, syncs it, so the old state cannot come back. */
int
audit_state_write(const struct paths *p, const struct state *st, int syncdir, struct hv_err *e)
{
	struct hv_buf b;
	char hex[3][65];
	int fd, r = 0;

	audit_hex_encode(hex[0], st->prev, 32);
	audit_hex_encode(hex[1], st->key, 32);
	audit_hex_encode(hex[2], st->sign, 32);
	hex[0][64] = hex[1][64] = hex[2][64] = '\0';
	hv_buf_init_secret(&b, STATE_MAX);
	hv_buf_addf(&b, "hv-audit-state 1\nseq %llu\nsize %llu\nprev %s\nkey %s\nsign %s\n"
	    "checkpoint %llu %lld\n", (unsigned long long)st->seq,
	    (unsigned long long)st->size, hex[0], hex[1], hex[2],
	    (unsigned long long)st->ckpt_seq, st->ckpt_time);
	hv_wipe(hex, sizeof hex);
	fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || hv_write_all(fd, b.data, b.len) < 0 || fdatasync(fd) < 0)
		r = audit_full(errno) ? hv_err_set(e, HV_EIO, "audit log: no space left on device "
		    "(for '%s')", p->tmp) : hv_err_errno(e, HV_EIO, errno, "cannot write '%s'",
		    p->tmp);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", p->tmp);
	if (r == 0 && rename(p->tmp, p->state) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot rename '%s'", p->tmp);
	if (r == 0 && syncdir && audit_sync_dir(p->state) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot sync the directory of '%s'",
		    p->state);
	hv_buf_release(&b);
	return r;
}


char *
audit_dir_of(const char *path)
{
	char *d = hv_xstrdup(path), *slash = strrchr(d, '/');

	if (slash == NULL) {
		free(d);
		return hv_xstrdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* fsync the directory holding path, so a rename or a file made in it
 * lasts a power cut. */
int
audit_sync_dir(const char *path)
{
	char *dir = audit_dir_of(path);
	int fd, r = -1, err;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		r = fsync(fd);
		err = errno;
		close(fd);
		errno = err;
	}
	free(dir);
	return r;
}


/* The trail's state, for its signing key: st->sign on 0.  signing_done
 * follows, whatever the result; c->paths.audit is set. */
static int
signing_state(const struct hv_config *c, struct paths *p, struct state *st,
    struct hv_err *e)
{
	int r;

	audit_paths_init(p, c->paths.audit);
	st->key = hv_secure_alloc(SECRETS);
	st->sign = st->key + 32;
	if ((r = audit_state_read(p, st, e)) == HV_ENOINPUT)
		r = hv_err_set(e, HV_ENOINPUT, "no trail at '%s' yet (hv-audit init)", p->log);
	return r;
}

static void
signing_done(struct paths *p, struct state *st)
{
	hv_secure_free(st->key, SECRETS);
	audit_paths_free(p);
}

int
hv_audit_pubkey(const struct hv_config *c, struct hv_buf *out, struct hv_err *e)
{
	struct paths p;
	struct state st;
	uint8_t pub[32];
	int r;

	if (c->paths.audit == NULL)
		return hv_err_set(e, HV_ECONFIG, "no audit log configured ([paths] audit)");
	r = signing_state(c, &p, &st, e);
	if (r == 0 && (r = hv_ed25519_public(pub, st.sign, e)) == 0)
		r = audit_pubkey_encode(out, pub);
	signing_done(&p, &st);
	return r;
}

int
hv_audit_sign(const struct hv_config *c, const void *msg, size_t n, uint8_t sig[64],
    struct hv_err *e)
{
	struct paths p;
	struct state st;
	int r;

	if (c->paths.audit == NULL)
		return hv_err_set(e, HV_ECONFIG, "no audit log configured ([paths] audit)");
	r = signing_state(c, &p, &st, e);
	if (r == 0)
		r = hv_ed25519_sign(sig, st.sign, msg, n, e);
	signing_done(&p, &st);
	return r;
}

int
hv_audit_state_tail(const char *log, uint64_t *next_seq, uint8_t last_hash[32],
    struct hv_err *e)
{
	struct paths p;
	struct state st;
	int r;

	audit_paths_init(&p, log);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	if ((r = audit_state_read(&p, &st, e)) == 0) {
		*next_seq = st.seq;
		memcpy(last_hash, st.prev, 32);
	}
	hv_secure_free(st.key, SECRETS);
	audit_paths_free(&p);
	return r;
}

int
hv_audit_state_checkpoint(const char *log, uint64_t *seq, long long *time,
    struct hv_err *e)
{
	struct paths p;
	struct state st;
	int r;

	audit_paths_init(&p, log);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	if ((r = audit_state_read(&p, &st, e)) == 0) {
		*seq = st.ckpt_seq;
		*time = st.ckpt_time;
	}
	hv_secure_free(st.key, SECRETS);
	audit_paths_free(&p);
	return r;
}

