/* spool: sealed files, epochs and their keys in both stores, refusals. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "epoch.h"
#include "spool.h"
#include "tap.h"

static char top[256];
static const char msg[] = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";

static int
is_tmpfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

static void
config(struct hv_config *c, const char *sub, long ttl, long epoch)
{
	static char path[512];

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/%s", top, sub);
	c->paths.spool = path;
	c->spool.ttl = ttl;
	c->spool.epoch = epoch;
	c->spool.allow_disk = !is_tmpfs(top);
}

static struct hv_spool *
open_at(const struct hv_config *c, long long now)
{
	struct hv_spool *sp = NULL;
	struct hv_err e = { 0 };
	int disk;

	if (hv_spool_open(&sp, c, now, &disk, &e) < 0)
		printf("# open: %s\n", e.msg);
	return sp;
}

static int
get(struct hv_spool *sp, const char *path, const char *account, struct hv_buf *out,
    struct hv_err *e)
{
	hv_buf_reset(out);
	return hv_spool_get(sp, path, account, out, e);
}

static int
destroy_all(const struct hv_epoch_info *ki, void *arg)
{
	struct hv_epochs *ep = arg;

	if (ki->n >= 0)
		hv_epoch_destroy(ep, ki, NULL);
	return 0;
}

/* Round trip, binding, and a key that is gone, in one store. */
static void
test_store(const char *mode)
{
	struct hv_config c;
	struct hv_spool *sp, *later;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char *path = NULL, moved[600];
	long long now = hv_now();

	config(&c, mode, 600, 60);
	if (strcmp(mode, "files") == 0)
		setenv("HV_SPOOL_KEYS", "files", 1);
	else
		unsetenv("HV_SPOOL_KEYS");
	hv_buf_init_secret(&out, 1 << 20);
	sp = open_at(&c, now);
	ok(sp != NULL, "%s: open", mode);
	if (sp == NULL)
		return;
	if (strcmp(mode, "keyring") == 0)
		ok(hv_epochs_store(hv_spool_epochs(sp)) == HV_EPOCH_KEYRING,
		    "keyring: chosen when it works");
	is_int(hv_spool_put(sp, "support", "src@example.com", "18c2f0a1b2", msg,
	    sizeof msg - 1, &path, &e), 0, "%s: put", mode);
	ok(path != NULL && strstr(path, ".support.18c2f0a1b2.hvs") != NULL,
	    "%s: named epoch.team.id.hvs", mode);
	is_int(get(sp, path, "src@example.com", &out, &e), 0, "%s: get", mode);
	ok(out.len == sizeof msg - 1 && memcmp(out.data, msg, out.len) == 0,
	    "%s: the same bytes back", mode);
	is_int(get(sp, path, "other@example.com", &out, &e), HV_EDATA,
	    "%s: another account's context does not open", mode);
	ok(out.len == 0, "%s: and gives no plaintext", mode);
	snprintf(moved, sizeof moved, "%s", path);
	*strstr(moved, "18c2f0a1b2") = '9';
	rename(path, moved);
	is_int(get(sp, moved, "src@example.com", &out, &e), HV_EDATA,
	    "%s: a file moved to another id does not open", mode);
	rename(moved, path);

	later = open_at(&c, now + 700);
	is_int(get(later, path, "src@example.com", &out, &e), HV_EPERM,
	    "%s: past its epoch's deadline the file is refused", mode);
	ok(strstr(e.msg, "fetch it again") != NULL, "%s: saying what to do: %s", mode, e.msg);
	hv_epoch_each(hv_spool_epochs(later), destroy_all, hv_spool_epochs(later), &e);
	is_int(get(sp, path, "src@example.com", &out, &e), HV_EPERM,
	    "%s: once its key is destroyed it cannot be opened, whatever the clock", mode);
	hv_spool_close(later);
	is_int(hv_spool_remove(sp, path, &e), 0, "%s: remove", mode);
	is_int(get(sp, path, "src@example.com", &out, &e), HV_ENOINPUT, "%s: gone", mode);
	is_int(hv_spool_remove(sp, path, &e), 0, "%s: removing twice is fine", mode);
	free(path);
	hv_buf_release(&out);
	hv_spool_close(sp);
}

/* The kernel destroys a key at its deadline with nothing running. */
static void
test_kernel_timeout(void)
{
	struct hv_config c;
	struct hv_spool *sp, *past;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char *path = NULL;
	long long now = hv_now();

	unsetenv("HV_SPOOL_KEYS");
	config(&c, "timeout", 2, 1);
	hv_buf_init_secret(&out, 1 << 20);
	if ((sp = open_at(&c, now)) == NULL ||
	    hv_epochs_store(hv_spool_epochs(sp)) != HV_EPOCH_KEYRING) {
		ok(1, "# SKIP no usable keyring");
		hv_spool_close(sp);
		return;
	}
	is_int(hv_spool_put(sp, "t", "a@example.com", "1", msg, sizeof msg - 1, &path, &e),
	    0, "timeout: put with a 2 s ttl");
	sleep(3);
	/* A clock 3 s slow still thinks the epoch is alive: only the kernel
	 * can have destroyed the key. */
	past = open_at(&c, hv_now() - 3);
	is_int(get(past, path, "a@example.com", &out, &e), HV_EPERM,
	    "timeout: the kernel destroyed the key by itself");
	hv_spool_remove(sp, path, &e);
	free(path);
	hv_buf_release(&out);
	hv_spool_close(past);
	hv_spool_close(sp);
}

static void
test_rotation(void)
{
	struct hv_config c;
	struct hv_spool *sp, *t1, *t2;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char *a = NULL, *b = NULL;
	long long now = hv_now() / 60 * 60;

	setenv("HV_SPOOL_KEYS", "files", 1);
	config(&c, "rotation", 600, 60);
	hv_buf_init_secret(&out, 1 << 20);
	sp = open_at(&c, now);
	t1 = open_at(&c, now + 60);
	hv_spool_put(sp, "t", "a@example.com", "a1", msg, sizeof msg - 1, &a, &e);
	hv_spool_put(t1, "t", "a@example.com", "b1", msg, sizeof msg - 1, &b, &e);
	ok(a != NULL && b != NULL && strcmp(strrchr(a, '/'), strrchr(b, '/')) != 0, "rotation: two files");
	ok(a != NULL && atoll(strrchr(a, '/') + 1) + 1 == atoll(strrchr(b, '/') + 1),
	    "rotation: in consecutive epochs");
	is_int(get(t1, a, "a@example.com", &out, &e), 0, "rotation: the older opens in the next epoch");
	t2 = open_at(&c, now + 600);
	is_int(get(t2, a, "a@example.com", &out, &e), HV_EPERM,
	    "rotation: ttl after its epoch began, the older is gone");
	is_int(get(t2, b, "a@example.com", &out, &e), 0, "rotation: the newer still opens");
	free(a);
	free(b);
	hv_buf_release(&out);
	hv_spool_close(sp);
	hv_spool_close(t1);
	hv_spool_close(t2);
}

static int
count(const struct hv_spool_entry *ent, void *arg)
{
	(void)ent;
	(*(int *)arg)++;
	return 0;
}

static void
test_refusals(void)
{
	struct hv_config c;
	struct hv_spool *sp = NULL;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char *path = NULL, p[600], keyfile[700];
	const char *disk;
	size_t foreign = 0;
	int n = 0, on_disk = 0;

	setenv("HV_SPOOL_KEYS", "files", 1);
	hv_buf_init_secret(&out, 1 << 20);
	config(&c, "bad", 600, 400);
	is_int(hv_spool_open(&sp, &c, hv_now(), &on_disk, &e), HV_ECONFIG,
	    "an epoch over half the ttl is refused");
	config(&c, "mode", 600, 60);
	mkdir(c.paths.spool, 0755);
	chmod(c.paths.spool, 0755);
	is_int(hv_spool_open(&sp, &c, hv_now(), &on_disk, &e), HV_EPERM,
	    "a root others can enter is refused");
	ok(strstr(e.msg, "chmod 700") != NULL, "saying so: %s", e.msg);

	disk = !is_tmpfs("/var/tmp") ? "/var/tmp" : !is_tmpfs(".") ? "." : NULL;
	if (disk != NULL) {
		snprintf(p, sizeof p, "%s/hv-spool-test.%ld", disk, (long)getpid());
		config(&c, "x", 600, 60);
		c.paths.spool = p;
		c.spool.allow_disk = 0;
		is_int(hv_spool_open(&sp, &c, hv_now(), &on_disk, &e), HV_ECONFIG,
		    "a spool on persistent storage is refused");
		ok(strstr(e.msg, "allow_disk") != NULL, "naming the way out: %s", e.msg);
		c.spool.allow_disk = 1;
		is_int(hv_spool_open(&sp, &c, hv_now(), &on_disk, &e), 0, "unless allowed");
		ok(on_disk, "and then the caller is told to warn");
		hv_spool_close(sp);
		rmdir(p);	/* keys/ stays when not empty: nothing is made there */
		snprintf(keyfile, sizeof keyfile, "%s/keys", p);
		rmdir(keyfile);
		rmdir(p);
	} else {
		ok(1, "# SKIP no persistent directory to try");
	}

	config(&c, "names", 600, 60);
	sp = open_at(&c, hv_now());
	is_int(hv_spool_put(sp, "a/b", "a@example.com", "1", msg, 3, &path, &e), HV_EUSAGE,
	    "a team with a slash cannot name a file");
	is_int(hv_spool_put(sp, "t", "a@example.com", "../1", msg, 3, &path, &e), HV_EDATA,
	    "an id that is not a Gmail id is refused");
	is_int(get(sp, "/etc/passwd", "a@example.com", &out, &e), HV_EDATA,
	    "a path outside the spool is refused");
	hv_spool_put(sp, "t", "a@example.com", "f1", msg, sizeof msg - 1, &path, &e);
	snprintf(p, sizeof p, "%s/README", hv_spool_root(sp));
	close(open(p, O_CREAT | O_WRONLY, 0600));
	snprintf(p, sizeof p, "%s/12.x..hvs", hv_spool_root(sp));
	close(open(p, O_CREAT | O_WRONLY, 0600));
	snprintf(p, sizeof p, "%s/1.t.f2.hvs.tmp.1.0", hv_spool_root(sp));
	close(open(p, O_CREAT | O_WRONLY, 0600));
	is_int(hv_spool_each(sp, count, &n, &foreign, &e), 0, "each");
	is_int(n, 1, "each: the spool file only");
	is_int(foreign, 2, "each: a foreign file and a broken name counted, the temp not");

	snprintf(keyfile, sizeof keyfile, "%s/keys/%lld.key", hv_spool_root(sp),
	    hv_epoch_of(hv_spool_epochs(sp), hv_now()));
	chmod(keyfile, 0644);
	is_int(get(sp, path, "a@example.com", &out, &e), HV_EPERM,
	    "a key file others can read is refused");
	ok(strstr(e.msg, keyfile) != NULL, "naming it: %s", e.msg);
	free(path);
	hv_buf_release(&out);
	hv_spool_close(sp);
}

/* Where a spool would be, without making it. */
static void
test_where(void)
{
	struct hv_config c;
	struct hv_err e = { 0 };
	int exists = -1, tmpfs = -1;
	char sub[600];

	config(&c, "not/made/yet", 600, 60);
	snprintf(sub, sizeof sub, "%s", c.paths.spool);
	is_int(hv_spool_where(&c, &exists, &tmpfs, &e), 0, "where: a spool not made");
	ok(exists == 0 && tmpfs == is_tmpfs(top), "is judged by the directory above it");
	ok(access(sub, F_OK) < 0, "and is not made");
	config(&c, "", 600, 60);
	is_int(hv_spool_where(&c, &exists, &tmpfs, &e), 0, "where: a spool that is there");
	ok(exists == 1 && tmpfs == is_tmpfs(top), "is judged by itself");
}

int
main(void)
{
	const char *base = is_tmpfs("/dev/shm") ? "/dev/shm" : "/tmp";
	char cmd[300];

	snprintf(top, sizeof top, "%s/hv-spool-unit.XXXXXX", base);
	if (mkdtemp(top) == NULL)
		return perror(top), 1;
	test_store("files");
	test_store("keyring");
	test_kernel_timeout();
	test_rotation();
	test_refusals();
	test_where();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", top);
	return tap_done();
}
