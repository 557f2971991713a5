#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "epoch.h"
#include "file.h"
#include "mem.h"
#include "banned.h"

/* keyrings(7) permissions; <keyutils.h> has them, the kernel headers not. */
#define KEY_POS_ALL	0x3f000000
#define KEY_USR_VIEW	0x00010000
#define KEY_USR_READ	0x00020000
#define KEY_USR_SEARCH	0x00080000

#define DESC_MAX 96

struct hv_epochs {
	char *keysdir;
	char prefix[40];	/* "hv-spool:<16 hex digits of SHA-256(root)>:" */
	long ttl, epoch;
	enum hv_epoch_store store;
};

static long
keyctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return syscall(SYS_keyctl, op, a, b, c, d);
}

static void
describe(const struct hv_epochs *ep, long long n, char desc[DESC_MAX])
{
	snprintf(desc, DESC_MAX, "%s%lld", ep->prefix, n);
}

/*
 * Add a key that ends in timeout seconds to the user keyring: made in the
 * process keyring, given its permissions and timeout, then linked, so it
 * never sits in the user keyring without a timeout.
 */
static long
keyring_add(const char *desc, const void *p, size_t n, long timeout)
{
	long id;
	int saved;

	id = syscall(SYS_add_key, "user", desc, p, n, KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		return -1;
	if (keyctl(KEYCTL_SETPERM, id, KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ |
	    KEY_USR_SEARCH, 0, 0) < 0 ||
	    keyctl(KEYCTL_SET_TIMEOUT, id, (unsigned long)timeout, 0, 0) < 0 ||
	    keyctl(KEYCTL_LINK, id, (unsigned long)KEY_SPEC_USER_KEYRING, 0, 0) < 0) {
		saved = errno;
		keyctl(KEYCTL_INVALIDATE, id, 0, 0, 0);
		errno = saved;
		return -1;
	}
	keyctl(KEYCTL_UNLINK, id, (unsigned long)KEY_SPEC_PROCESS_KEYRING, 0, 0);
	return id;
}

static long
keyring_find(const char *desc)
{
	return keyctl(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_USER_KEYRING,
	    (unsigned long)"user", (unsigned long)desc, 0);
}

/*
 * Does the keyring work here: can a key added by a process that has since
 * exited be found and read?  0 yes, else why not in why.  Leaves nothing
 * behind.
 */
static int
keyring_works(const struct hv_epochs *ep, char *why, size_t whylen)
{
	char desc[DESC_MAX], got[16];
	pid_t pid;
	long id;
	int st;

	snprintf(desc, sizeof desc, "%sprobe.%ld", ep->prefix, (long)getpid());
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "cannot fork to probe it: %s", strerror(errno));
		return -1;
	}
	/* The child's status carries the errno of its failure. */
	if (pid == 0)
		_exit(keyring_add(desc, "probe", 5, 10) < 0 ? (errno > 0 && errno < 126 ?
		    errno : 125) : 0);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		snprintf(why, whylen, "its probe did not finish");
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		snprintf(why, whylen, "add_key: %s", strerror(WEXITSTATUS(st)));
		return -1;
	}
	if ((id = keyring_find(desc)) < 0) {
		snprintf(why, whylen, "a key does not outlive the process that made it "
		    "(no persistent user keyring, as in some containers)");
		return -1;
	}
	st = keyctl(KEYCTL_READ, id, (unsigned long)got, sizeof got, 0) == 5 &&
	    memcmp(got, "probe", 5) == 0;
	keyctl(KEYCTL_INVALIDATE, id, 0, 0, 0);
	if (!st) {
		snprintf(why, whylen, "a key cannot be read back");
		return -1;
	}
	return 0;
}

int
hv_epochs_open(struct hv_epochs **out, const char *root, const char *keysdir,
    long ttl, long epoch, enum hv_epoch_store want, struct hv_err *e)
{
	struct hv_epochs *ep;
	uint8_t h[HV_SHA256_LEN];
	const char *force = getenv("HV_SPOOL_KEYS");
	char why[160];
	int r, i;

	*out = NULL;
	if (epoch <= 0 || ttl <= epoch)
		return hv_err_set(e, HV_ECONFIG, "spool ttl (%lds) must be longer than its "
		    "epoch (%lds)", ttl, epoch);
	if (force != NULL && strcmp(force, "files") == 0)
		want = HV_EPOCH_FILES;
	if ((r = hv_mkdirs(keysdir, e)) < 0)
		return r;
	ep = hv_xcalloc(1, sizeof *ep);
	ep->keysdir = hv_xstrdup(keysdir);
	ep->ttl = ttl;
	ep->epoch = epoch;
	hv_sha256(h, root, strlen(root));
	i = snprintf(ep->prefix, sizeof ep->prefix, "hv-spool:");
	for (r = 0; r < 8; r++)
		i += snprintf(ep->prefix + i, sizeof ep->prefix - (size_t)i, "%02x", h[r]);
	snprintf(ep->prefix + i, sizeof ep->prefix - (size_t)i, ":");
	ep->store = want;
	/*
	 * Key files outlive the ttl when hv-purge does not run, so they are
	 * never a silent fallback: only what the administrator chose.
	 */
	if (want == HV_EPOCH_KEYRING && keyring_works(ep, why, sizeof why) < 0) {
		hv_epochs_close(ep);
		return hv_err_set(e, HV_ECONFIG, "the kernel keyring cannot hold the spool's "
		    "epoch keys here: %s; set [spool] keys = files to keep them in files "
		    "on the spool's tmpfs, which only hv-purge destroys", why);
	}
	*out = ep;
	return 0;
}

void
hv_epochs_close(struct hv_epochs *ep)
{
	if (ep == NULL)
		return;
	free(ep->keysdir);
	free(ep);
}

enum hv_epoch_store
hv_epochs_store(const struct hv_epochs *ep)
{
	return ep->store;
}

long long
hv_epoch_of(const struct hv_epochs *ep, long long t)
{
	return t >= 0 ? t / ep->epoch : -((-t + ep->epoch - 1) / ep->epoch);
}

long long
hv_epoch_deadline(const struct hv_epochs *ep, long long n)
{
	return n * ep->epoch + ep->ttl;
}

static void
key_path(const struct hv_epochs *ep, long long n, char *path, size_t size)
{
	snprintf(path, size, "%s/%lld.key", ep->keysdir, n);
}

/* 1 found, 0 absent, or an error (an unsafe file). */
/*
 * Eight zero bytes in a row: a key caught while shred() overwrote it.  A
 * random key looks like that once in 2^59 or so.
 */
static int
shredded(const uint8_t key[HV_EPOCH_KEY_LEN])
{
	int i, run = 0;

	for (i = 0; i < HV_EPOCH_KEY_LEN; i++)
		if ((run = key[i] == 0 ? run + 1 : 0) == 8)
			return 1;
	return 0;
}

static int
file_get(const struct hv_epochs *ep, long long n, uint8_t key[HV_EPOCH_KEY_LEN],
    struct hv_err *e)
{
	char path[4096];
	struct stat st;
	ssize_t got;
	int fd;

	key_path(ep, n, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hv_err_set(e, HV_EPERM, "epoch key file '%s' is not a file: refused",
		    path);
	}
	if (hv_file_mode_ok(path, &st, 1, e) < 0) {
		close(fd);
		return hv_err_wrap(e, "epoch key file");
	}
	got = hv_read_full(fd, key, HV_EPOCH_KEY_LEN);
	close(fd);
	if (got != HV_EPOCH_KEY_LEN) {
		hv_wipe(key, HV_EPOCH_KEY_LEN);
		return hv_err_set(e, HV_EPERM, "epoch key file '%s' is not a key", path);
	}
	if (shredded(key)) {
		hv_wipe(key, HV_EPOCH_KEY_LEN);
		return 0;
	}
	return 1;
}

/* Write a new key file under a temporary name and link it in place: a
 * reader never sees half a key and two writers never replace each other's. */
static int
file_put(const struct hv_epochs *ep, long long n, uint8_t key[HV_EPOCH_KEY_LEN],
    struct hv_err *e)
{
	char path[4096], tmp[4096];
	int r;

	key_path(ep, n, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s/.%lld.%ld.tmp", ep->keysdir, n, (long)getpid());
	unlink(tmp);
	if ((r = hv_file_create_excl(tmp, key, HV_EPOCH_KEY_LEN, 0600, e)) < 0)
		return r;
	if (link(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		if (r != EEXIST)
			return hv_err_errno(e, HV_ECANTCREAT, r, "cannot create '%s'", path);
		r = file_get(ep, n, key, e);
		return r == 1 ? 0 : r < 0 ? r :
		    hv_err_set(e, HV_EPERM, "epoch %lld: key gone while made", n);
	}
	unlink(tmp);
	return 0;
}

/* 1 found, 0 absent. */
static int
keyring_get(const struct hv_epochs *ep, long long n, uint8_t key[HV_EPOCH_KEY_LEN])
{
	char desc[DESC_MAX];
	long id;

	describe(ep, n, desc);
	if ((id = keyring_find(desc)) < 0)
		return 0;
	if (keyctl(KEYCTL_READ, id, (unsigned long)key, HV_EPOCH_KEY_LEN, 0) !=
	    HV_EPOCH_KEY_LEN) {
		hv_wipe(key, HV_EPOCH_KEY_LEN);
		return 0;
	}
	return 1;
}

static int
find(const struct hv_epochs *ep, long long n, uint8_t key[HV_EPOCH_KEY_LEN],
    struct hv_err *e)
{
	int r;

	if (ep->store == HV_EPOCH_KEYRING && keyring_get(ep, n, key))
		return 1;
	if ((r = file_get(ep, n, key, e)) != 0)
		return r;
	if (ep->store == HV_EPOCH_FILES && getenv("HV_SPOOL_KEYS") == NULL)
		return keyring_get(ep, n, key);
	return 0;
}

/* Make the key of epoch n; under a lock, so two processes never make two. */
static int
create(struct hv_epochs *ep, long long n, long long now, uint8_t key[HV_EPOCH_KEY_LEN],
    struct hv_err *e)
{
	char lock[4096], desc[DESC_MAX];
	int fd, r;

	if (ep->store == HV_EPOCH_FILES) {
		if ((r = hv_random(key, HV_EPOCH_KEY_LEN, e)) < 0)
			return r;
		return file_put(ep, n, key, e);
	}
	snprintf(lock, sizeof lock, "%s/lock", ep->keysdir);
	if ((r = hv_lock_acquire(lock, &fd, e)) < 0)
		return r;
	if ((r = find(ep, n, key, e)) != 0)
		goto out;
	if ((r = hv_random(key, HV_EPOCH_KEY_LEN, e)) < 0)
		goto out;
	describe(ep, n, desc);
	if (keyring_add(desc, key, HV_EPOCH_KEY_LEN, hv_epoch_deadline(ep, n) - now) < 0)
		/* Out of quota, say: no silent move to files, which outlive the
		 * ttl when hv-purge stops. */
		r = hv_err_errno(e, HV_ECONFIG, errno, "epoch %lld: the kernel keyring "
		    "refused its key (keyctl(1) 'show @u' lists what holds the quota; "
		    "[spool] keys = files keeps keys in files instead)", n);
out:
	hv_lock_release(fd);
	return r < 0 ? r : 0;
}

int
hv_epoch_key(struct hv_epochs *ep, long long n, long long now, int create_it,
    uint8_t key[HV_EPOCH_KEY_LEN], struct hv_err *e)
{
	int r;

	if (now >= hv_epoch_deadline(ep, n))
		return hv_err_set(e, HV_EPERM, "epoch %lld: key gone (expired)", n);
	if ((r = find(ep, n, key, e)) != 0)
		return r < 0 ? r : 0;
	if (create_it && n == hv_epoch_of(ep, now))
		return create(ep, n, now, key, e);
	return hv_err_set(e, HV_EPERM, "epoch %lld: key gone", n);
}

/* The keys of this spool in the user keyring. */
static int
each_keyring(struct hv_epochs *ep,
    int (*fn)(const struct hv_epoch_info *ki, void *arg), void *arg)
{
	struct hv_epoch_info ki = { 0 };
	int32_t ids[1024];
	char d[256], *desc, *end;
	size_t plen = strlen(ep->prefix);
	long n, i;
	int r;

	n = keyctl(KEYCTL_READ, (unsigned long)KEY_SPEC_USER_KEYRING,
	    (unsigned long)ids, sizeof ids, 0);
	if (n < 0)
		return 0;
	n = n > (long)sizeof ids ? (long)(sizeof ids / sizeof ids[0]) : n / 4;
	for (i = 0; i < n; i++) {
		if (keyctl(KEYCTL_DESCRIBE, (unsigned long)ids[i], (unsigned long)d,
		    sizeof d, 0) < 0)
			continue;
		d[sizeof d - 1] = '\0';
		/* "type;uid;gid;perm;description" */
		if (strncmp(d, "user;", 5) != 0 || (desc = strrchr(d, ';')) == NULL ||
		    strncmp(++desc, ep->prefix, plen) != 0)
			continue;
		errno = 0;
		ki.n = strtoll(desc + plen, &end, 10);
		if (errno != 0 || end == desc + plen || *end != '\0')
			continue;
		ki.store = HV_EPOCH_KEYRING;
		ki.id = ids[i];
		if ((r = fn(&ki, arg)) != 0)
			return r;
	}
	return 0;
}

static int
each_file(struct hv_epochs *ep, const char *name, int dfd,
    int (*fn)(const struct hv_epoch_info *ki, void *arg), void *arg)
{
	struct hv_epoch_info ki = { 0 };
	char path[4096], *end;
	struct stat st;

	if (strcmp(name, "lock") == 0 || name[0] == '.')
		return 0;
	snprintf(path, sizeof path, "%s/%s", ep->keysdir, name);
	ki.store = HV_EPOCH_FILES;
	ki.path = path;
	errno = 0;
	ki.n = strtoll(name, &end, 10);
	if (errno != 0 || end == name || strcmp(end, ".key") != 0 || name[0] == '-')
		ki.n = -1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	ki.unsafe = !S_ISREG(st.st_mode) || hv_file_mode_ok(path, &st, 1, NULL) < 0;
	return fn(&ki, arg);
}

int
hv_epoch_each(struct hv_epochs *ep,
    int (*fn)(const struct hv_epoch_info *ki, void *arg), void *arg, struct hv_err *e)
{
	struct dirent *d;
	DIR *dir;
	int r;

	if (getenv("HV_SPOOL_KEYS") == NULL && (r = each_keyring(ep, fn, arg)) != 0)
		return r;
	if ((dir = opendir(ep->keysdir)) == NULL)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", ep->keysdir);
	r = 0;
	while (r == 0 && (d = readdir(dir)) != NULL)
		r = each_file(ep, d->d_name, dirfd(dir), fn, arg);
	closedir(dir);
	return r;
}

/*
 * Unlink first, so a reader that opens by name finds no key, then
 * overwrite the pages through the descriptor (tmpfs keeps the same pages);
 * a reader that opened it before sees zeros, which file_get() takes for a
 * destroyed key.
 */
static int
shred(const char *path, struct hv_err *e)
{
	static const uint8_t zero[4096];
	struct stat st;
	off_t left;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (unlink(path) < 0 && errno != ENOENT)
		r = hv_err_errno(e, HV_EIO, errno, "cannot remove '%s'", path);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		for (left = st.st_size; left > 0; left -= (off_t)sizeof zero)
			if (hv_write_all(fd, zero, left < (off_t)sizeof zero ?
			    (size_t)left : sizeof zero) < 0)
				break;
		fdatasync(fd);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int
hv_epoch_destroy(struct hv_epochs *ep, const struct hv_epoch_info *ki, struct hv_err *e)
{
	(void)ep;
	if (ki->store == HV_EPOCH_FILES)
		return shred(ki->path, e);
	if (keyctl(KEYCTL_INVALIDATE, (unsigned long)ki->id, 0, 0, 0) < 0 &&
	    errno != ENOKEY && errno != EKEYEXPIRED && errno != EKEYREVOKED)
		return hv_err_errno(e, HV_EIO, errno, "epoch %lld: cannot invalidate its key",
		    ki->n);
	return 0;
}
