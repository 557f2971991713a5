#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "file.h"
#include "keys.h"
#include "mem.h"
#include "banned.h"

#define CHECK_LEN 4
#define SOURCE_MAX 4096

static const char *const prefixes[] = {
	[HV_KEY_SYMMETRIC] = "hvkey1",
	[HV_KEY_IDENTITY] = "hvid1",
	[HV_KEY_RECIPIENT] = "hvpub1",
};

static const char *const kind_names[] = {
	[HV_KEY_SYMMETRIC] = "a symmetric key",
	[HV_KEY_IDENTITY] = "an identity",
	[HV_KEY_RECIPIENT] = "a recipient",
};

static void
checksum(uint8_t out[CHECK_LEN], enum hv_key_kind kind, const uint8_t key[HV_KEY_LEN])
{
	uint8_t in[8 + HV_KEY_LEN], h[HV_SHA256_LEN];
	size_t n = strlen(prefixes[kind]);

	memcpy(in, prefixes[kind], n);
	memcpy(in + n, key, HV_KEY_LEN);
	hv_sha256(h, in, n + HV_KEY_LEN);
	memcpy(out, h, CHECK_LEN);
	hv_wipe(in, sizeof in);
}

int
hv_key_encode(struct hv_buf *b, enum hv_key_kind kind, const uint8_t key[HV_KEY_LEN])
{
	uint8_t raw[HV_KEY_LEN + CHECK_LEN];
	int r;

	memcpy(raw, key, HV_KEY_LEN);
	checksum(raw + HV_KEY_LEN, kind, key);
	r = hv_buf_adds(b, prefixes[kind]);
	if (r == 0)
		r = hv_b64url_encode(b, raw, sizeof raw);
	hv_wipe(raw, sizeof raw);
	return r;
}

static enum hv_key_kind
kind_of(const char *text, size_t len)
{
	size_t i, n;

	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		n = strlen(prefixes[i]);
		if (len >= n && memcmp(text, prefixes[i], n) == 0)
			return (enum hv_key_kind)i;
	}
	return (enum hv_key_kind)-1;
}

int
hv_key_decode(const char *text, size_t len, enum hv_key_kind kind,
    uint8_t key[HV_KEY_LEN], struct hv_err *e)
{
	uint8_t raw[HV_KEY_LEN + CHECK_LEN + 1], sum[CHECK_LEN];
	enum hv_key_kind found;
	size_t n, plen;
	int r = HV_EDATA;

	while (len > 0 && isspace((unsigned char)*text))
		text++, len--;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	found = kind_of(text, len);
	if ((int)found < 0)
		return hv_err_set(e, HV_EDATA, "not an hv key (expected %s, %s...)",
		    kind_names[kind], prefixes[kind]);
	if (found != kind)
		return hv_err_set(e, HV_EDATA, "%s where %s was expected",
		    kind_names[found], kind_names[kind]);
	plen = strlen(prefixes[kind]);
	if (hv_b64url_decode(text + plen, len - plen, raw, sizeof raw, &n) < 0 ||
	    n != HV_KEY_LEN + CHECK_LEN) {
		hv_err_set(e, HV_EDATA, "malformed %s", kind_names[kind]);
		goto out;
	}
	checksum(sum, kind, raw);
	if (!hv_ct_equal(sum, raw + HV_KEY_LEN, CHECK_LEN)) {
		hv_err_set(e, HV_EDATA, "%s with a bad checksum (mistyped or cut?)",
		    kind_names[kind]);
		goto out;
	}
	memcpy(key, raw, HV_KEY_LEN);
	r = 0;
out:
	hv_wipe(raw, sizeof raw);
	return r;
}

int
hv_key_load(struct hv_seal_key **k, const char *path, enum hv_key_kind kind,
    struct hv_err *e)
{
	struct hv_buf b;
	uint8_t *key = hv_secure_alloc(HV_KEY_LEN);
	int r;

	*k = NULL;
	hv_buf_init_secret(&b, HV_KEY_TEXT_MAX + 2);
	r = hv_file_read_secret(path, &b, e);
	if (r == HV_EDATA)
		r = hv_err_set(e, HV_EDATA, "'%s' is not a key file (too long)", path);
	if (r == 0 && (r = hv_key_decode(b.data ? b.data : "", b.len, kind, key, e)) < 0)
		hv_err_wrap(e, "'%s'", path);
	if (r == 0)
		r = kind == HV_KEY_IDENTITY ? hv_seal_key_identity(k, key, e) :
		    hv_seal_key_symmetric(k, key, e);
	hv_buf_release(&b);
	hv_secure_free(key, HV_KEY_LEN);
	return r;
}

int
hv_key_identity_recipient(const char *path, struct hv_buf *recipient, struct hv_err *e)
{
	struct hv_buf b;
	uint8_t *key = hv_secure_alloc(HV_KEY_LEN), pub[HV_KEY_LEN];
	int r;

	hv_buf_init_secret(&b, HV_KEY_TEXT_MAX + 2);
	r = hv_file_read_secret(path, &b, e);
	if (r == HV_EDATA)
		r = hv_err_set(e, HV_EDATA, "'%s' is not a key file (too long)", path);
	if (r == 0 && (r = hv_key_decode(b.data ? b.data : "", b.len, HV_KEY_IDENTITY, key,
	    e)) < 0)
		hv_err_wrap(e, "'%s'", path);
	if (r == 0)
		r = hv_x25519_public(pub, key, e);
	if (r == 0 && hv_key_encode(recipient, HV_KEY_RECIPIENT, pub) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "recipient text too long");
	hv_buf_release(&b);
	hv_secure_free(key, HV_KEY_LEN);
	return r;
}

int
hv_key_recipient(struct hv_seal_key **k, const char *text, struct hv_err *e)
{
	uint8_t pub[HV_KEY_LEN];
	int r;

	*k = NULL;
	if ((r = hv_key_decode(text, strlen(text), HV_KEY_RECIPIENT, pub, e)) < 0)
		return hv_err_wrap(e, "recipient '%.20s'", text);
	return hv_seal_key_recipient(k, pub, e);
}

int
hv_key_generate(enum hv_key_kind kind, struct hv_buf *text,
    struct hv_buf *recipient, struct hv_err *e)
{
	uint8_t *key = hv_secure_alloc(2 * HV_KEY_LEN), *pub = key + HV_KEY_LEN;
	int r;

	if (kind == HV_KEY_IDENTITY)
		r = hv_x25519_keygen(key, pub, e);
	else
		r = hv_random(key, HV_KEY_LEN, e);
	if (r == 0 && (hv_key_encode(text, kind, key) < 0 || hv_buf_adds(text, "\n") < 0))
		r = hv_err_set(e, HV_EINTERNAL, "key text too long");
	if (r == 0 && kind == HV_KEY_IDENTITY && recipient != NULL &&
	    hv_key_encode(recipient, HV_KEY_RECIPIENT, pub) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "recipient text too long");
	hv_secure_free(key, 2 * HV_KEY_LEN);
	return r;
}

static int
master_from_keyring(const char *name, struct hv_buf *b, struct hv_err *e)
{
	long id, n;

	id = syscall(SYS_request_key, "user", name, NULL, 0);
	if (id < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "keyring key '%s'", name);
	if (hv_buf_grow(b, HV_KEY_TEXT_MAX + 1) < 0)
		return HV_EINTERNAL;
	n = syscall(SYS_keyctl, KEYCTL_READ, id, b->data, HV_KEY_TEXT_MAX + 1);
	if (n < 0)
		return hv_err_errno(e, HV_EPERM, errno, "cannot read keyring key '%s'", name);
	if (n > HV_KEY_TEXT_MAX)
		return hv_err_set(e, HV_EDATA, "keyring key '%s' is not an hv key", name);
	b->len = (size_t)n;
	b->data[n] = '\0';
	return 0;
}

static int
master_from_command(const char *cmd, struct hv_buf *b, struct hv_err *e)
{
	char chunk[128];
	int pfd[2], status, r = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return hv_err_errno(e, HV_EINTERNAL, errno, "pipe");
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return hv_err_errno(e, HV_EINTERNAL, errno, "fork");
	}
	if (pid == 0) {
		/* The command must not eat the data hv-seal reads from stdin. */
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hv_err_errno(e, HV_EIO, errno, "cannot read the key command's output");
			break;
		}
		if (hv_buf_add(b, chunk, (size_t)n) < 0) {
			r = hv_err_set(e, HV_EDATA, "key command printed more than a key");
			break;
		}
	}
	hv_wipe(chunk, sizeof chunk);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = hv_err_set(e, HV_ENOINPUT, "key command failed (status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return r;
}

/* A command source's key, run once before the sandbox (hv_master_preload). */
static struct {
	char *source;
	uint8_t *key;		/* locked */
	struct hv_err err;	/* its failure, told again to each load */
} preloaded;

static int master_read(const char *source, uint8_t key[HV_KEY_LEN], struct hv_err *e);

int
hv_master_preload(const char *source, struct hv_err *e)
{
	if (source == NULL || strncmp(source, "command:", 8) != 0 || preloaded.source)
		return 0;
	preloaded.key = hv_secure_alloc(HV_KEY_LEN);
	preloaded.source = hv_xstrdup(source);
	preloaded.err.code = master_read(source, preloaded.key, &preloaded.err);
	if (preloaded.err.code < 0 && e != NULL)
		*e = preloaded.err;
	return preloaded.err.code;
}

int
hv_master_load(const char *source, uint8_t key[HV_KEY_LEN], struct hv_err *e)
{
	if (preloaded.source == NULL || strcmp(source, preloaded.source) != 0)
		return master_read(source, key, e);
	if (preloaded.err.code < 0) {
		if (e != NULL)
			*e = preloaded.err;
		return preloaded.err.code;
	}
	memcpy(key, preloaded.key, HV_KEY_LEN);
	return 0;
}

static int
master_read(const char *source, uint8_t key[HV_KEY_LEN], struct hv_err *e)
{
	struct hv_buf b;
	int r;

	hv_buf_init_secret(&b, SOURCE_MAX);
	if (strncmp(source, "keyring:", 8) == 0)
		r = master_from_keyring(source + 8, &b, e);
	else if (strncmp(source, "command:", 8) == 0)
		r = master_from_command(source + 8, &b, e);
	else
		r = hv_file_read_secret(source, &b, e);
	if (r == 0 && (r = hv_key_decode(b.data ? b.data : "", b.len,
	    HV_KEY_SYMMETRIC, key, e)) < 0)
		hv_err_wrap(e, "master key from '%s'", source);
	else if (r < 0)
		hv_err_wrap(e, "master key");
	hv_buf_release(&b);
	return r;
}

int
hv_key_derive(uint8_t out[HV_KEY_LEN], const uint8_t master[HV_KEY_LEN],
    const char *purpose, struct hv_err *e)
{
	char info[128];
	int n = snprintf(info, sizeof info, "hv/v1 %s", purpose);

	if (n < 0 || (size_t)n >= sizeof info)
		return hv_err_set(e, HV_EINTERNAL, "purpose '%s' too long", purpose);
	return hv_hkdf_sha256(out, HV_KEY_LEN, master, HV_KEY_LEN, NULL, 0,
	    info, (size_t)n, e);
}
