/* purge: keys before files, done files, a reader racing the purge, stats,
 * and what is left alone. */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "epoch.h"
#include "index.h"
#include "purge.h"
#include "spool.h"
#include "store.h"
#include "tap.h"

static char top[256];
static const char msg[] = "Subject: x\r\n\r\nbody\r\n";
static struct hv_team team = { .name = (char *)"support", .source = (char *)"src@example.com" };

static int
is_tmpfs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

static void
config(struct hv_config *c, const char *sub)
{
	static char spool[512], state[512], audit[512];

	memset(c, 0, sizeof *c);
	snprintf(spool, sizeof spool, "%s/%s/spool", top, sub);
	snprintf(state, sizeof state, "%s/%s/hv.db", top, sub);
	snprintf(audit, sizeof audit, "%s/%s/audit.log", top, sub);
	c->paths.spool = spool;
	c->paths.state = state;
	c->paths.audit = audit;
	c->spool.ttl = 600;
	c->spool.epoch = 60;
	c->spool.allow_disk = !is_tmpfs(top);
	c->audit.checkpoint_events = 1000;
	c->audit.checkpoint_interval = 3600;
	c->teams = &team;
	c->nteams = 1;
}

static struct hv_spool *
spool_at(const struct hv_config *c, long long now)
{
	struct hv_spool *sp = NULL;
	struct hv_err e = { 0 };
	int disk;

	if (hv_spool_open(&sp, c, now, &disk, &e) < 0)
		printf("# spool: %s\n", e.msg);
	return sp;
}

static char *
put(struct hv_spool *sp, const char *id)
{
	struct hv_err e = { 0 };
	char *path = NULL;

	if (hv_spool_put(sp, "support", "src@example.com", id, msg, sizeof msg - 1, &path, &e) < 0)
		printf("# put: %s\n", e.msg);
	return path;
}

static int
purge(const struct hv_config *c, long long now, int dry, struct hv_purge_report *rep)
{
	struct hv_purge_opts o = { 0, dry, now, NULL, NULL };
	struct hv_err e = { 0 };
	int r = hv_purge_run(c, &o, rep, &e);

	if (r < 0)
		printf("# purge: %s\n", e.msg);
	return r;
}

static size_t
slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size);

	if (fd >= 0)
		close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static void
spill(const char *path, const char *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
		perror(path);
	close(fd);
}

static int
get_ok(struct hv_spool *sp, const char *path, struct hv_buf *out)
{
	struct hv_err e = { 0 };

	hv_buf_reset(out);
	return hv_spool_get(sp, path, "src@example.com", out, &e);
}

/* Keys go first: a file put back after the purge stays noise. */
static void
test_keys_first(const char *mode)
{
	struct hv_config c;
	struct hv_purge_report rep;
	struct hv_spool *sp;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char *path, saved[8192];
	long long now = hv_now();
	size_t n;

	if (strcmp(mode, "files") == 0)
		setenv("HV_SPOOL_KEYS", "files", 1);
	else
		unsetenv("HV_SPOOL_KEYS");
	config(&c, mode);
	hv_buf_init_secret(&out, 1 << 20);
	sp = spool_at(&c, now);
	path = put(sp, "a1");
	n = slurp(path, saved, sizeof saved);
	is_int(purge(&c, now + 300, 1, &rep), 0, "%s: dry run", mode);
	ok(rep.keys == 0 && rep.expired == 0 && rep.kept == 1, "%s: nothing due at 5 min", mode);
	is_int(purge(&c, now + 700, 1, &rep), 0, "%s: dry run past the ttl", mode);
	ok(rep.keys == 1 && rep.expired == 1 && access(path, F_OK) == 0,
	    "%s: says a key and a file would go, and destroys nothing", mode);
	is_int(get_ok(sp, path, &out), 0, "%s: still opens after a dry run", mode);
	is_int(purge(&c, now + 700, 0, &rep), 0, "%s: purge", mode);
	ok(rep.keys == 1 && rep.expired == 1 && rep.kept == 0 && rep.oldest == -1,
	    "%s: one key, one file", mode);
	ok(access(path, F_OK) < 0, "%s: the file is gone", mode);
	spill(path, saved, n);
	hv_buf_reset(&out);
	is_int(hv_spool_get(sp, path, "src@example.com", &out, &e), HV_EPERM,
	    "%s: a copy of the file put back is noise: its key is gone", mode);
	unlink(path);
	free(path);
	hv_buf_release(&out);
	hv_spool_close(sp);
}

/* A file whose message the index marks done goes before its ttl. */
static void
test_done(void)
{
	struct hv_config c;
	struct hv_purge_report rep;
	struct hv_spool *sp;
	struct hv_store *st = NULL;
	struct hv_err e = { 0 };
	uint8_t mid[HV_INDEX_MID_LEN] = { 1 };
	char *a, *b;
	long long now = hv_now();

	setenv("HV_SPOOL_KEYS", "files", 1);
	config(&c, "done");
	sp = spool_at(&c, now - 100);
	a = put(sp, "d1");
	b = put(sp, "d2");
	ok(hv_store_open(&st, c.paths.state, 1, &e) == 0 &&
	    hv_index_message_put(st, "support", mid, "src@example.com", "d1", NULL, 0, now, &e) == 0 &&
	    hv_index_message_done(st, "support", mid, &e) == 0, "index: d1 done");
	hv_store_close(st);
	utimensat(AT_FDCWD, b, (struct timespec[2]){ { now - 100, 0 }, { now - 100, 0 } }, 0);
	is_int(purge(&c, now, 0, &rep), 0, "purge");
	ok(rep.done == 1 && rep.expired == 0 && rep.kept == 1, "the done file goes, the other stays");
	ok(access(a, F_OK) < 0 && access(b, F_OK) == 0, "the right one");
	is_int(rep.oldest, 100, "the oldest survivor's age");
	free(a);
	free(b);
	hv_spool_close(sp);
}

/* A reader opening files while they are purged sees a whole file, no file,
 * or a key gone: never a broken one, never a crash. */
static void
test_race(void)
{
	struct hv_config c;
	struct hv_purge_report rep;
	struct hv_spool *sp;
	char *paths[200], id[16], left[600];
	long long now = hv_now();
	int i, status = -1, rounds;
	pid_t pid;

	setenv("HV_SPOOL_KEYS", "files", 1);
	config(&c, "race");
	sp = spool_at(&c, now);
	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof id, "r%d", i);
		paths[i] = put(sp, id);
	}
	if ((pid = fork()) == 0) {
		struct hv_buf out;
		int bad = 0, r;

		hv_buf_init_secret(&out, 1 << 20);
		for (rounds = 0; rounds < 50; rounds++)
			for (i = 0; i < 200; i++) {
				r = get_ok(sp, paths[i], &out);
				if (r != 0 && r != HV_ENOINPUT && r != HV_EPERM)
					bad++;
				if (r == 0 && (out.len != sizeof msg - 1 ||
				    memcmp(out.data, msg, out.len) != 0))
					bad++;
			}
		_exit(bad != 0);
	}
	usleep(20000);
	is_int(purge(&c, now + 700, 0, &rep), 0, "purge while a reader reads");
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the reader saw whole files, missing files or dead keys only");
	ok(rep.expired + rep.kept <= 200 && rep.keys == 1, "one key, %zu files", rep.expired);
	is_int(purge(&c, now + 700, 0, &rep), 0, "purge again");
	ok(rep.kept == 0 && rep.keys == 0, "nothing left");
	snprintf(left, sizeof left, "ls -A '%s' | grep -qv '^keys$'", hv_spool_root(sp));
	ok(system(left) != 0, "the spool holds nothing but keys/");
	snprintf(left, sizeof left, "ls -A '%s/keys' | grep -q key", hv_spool_root(sp));
	ok(system(left) != 0, "and keys/ no key");
	for (i = 0; i < 200; i++)
		free(paths[i]);
	hv_spool_close(sp);
}

static void
age_file(const char *root, const char *name, long long now, long long age)
{
	struct timespec ts[2] = { { now - age, 0 }, { now - age, 0 } };
	char path[600];
	int fd;

	snprintf(path, sizeof path, "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		perror(path);
	futimens(fd, ts);
	close(fd);
}

static void
test_stats(void)
{
	struct hv_config c;
	struct hv_purge_stat sp_now, purged, one;
	struct hv_spool *sp;
	struct hv_store *st = NULL;
	struct hv_err e = { 0 };
	long long now = hv_now(), ages[100], k = 7;
	char name[64];
	int i;

	setenv("HV_SPOOL_KEYS", "files", 1);
	config(&c, "stats");
	sp = spool_at(&c, now);
	for (i = 1; i <= 100; i++) {
		snprintf(name, sizeof name, "%lld.support.s%d.hvs", now / 60, i);
		age_file(hv_spool_root(sp), name, now, 5 * i);
		ages[i - 1] = 3 * i;
	}
	ok(hv_store_open(&st, c.paths.state, 1, &e) == 0 &&
	    hv_store_purged_record(st, now - 10, ages, 100, now - 86400, &e) == 0 &&
	    hv_store_purged_record(st, now - 4000, &k, 1, now - 86400, &e) == 0,
	    "purge records");
	hv_store_close(st);
	is_int(hv_purge_stats(&c, now, &sp_now, &purged, &e), 0, "stats");
	ok(sp_now.count == 100 && sp_now.bytes == 1000, "spool: 100 files, 1000 bytes");
	ok(sp_now.p50 == 250 && sp_now.p99 == 495 && sp_now.max == 500,
	    "spool: p50 %lld p99 %lld max %lld (250 495 500)", sp_now.p50, sp_now.p99, sp_now.max);
	ok(purged.count == 100 && purged.p50 == 150 && purged.p99 == 297 && purged.max == 300,
	    "purged in the hour: %zu, p50 %lld p99 %lld max %lld (100, 150 297 300)",
	    purged.count, purged.p50, purged.p99, purged.max);
	hv_purge_stat_of(&one, &k, 1);
	ok(one.p50 == 7 && one.p99 == 7 && one.max == 7, "one age is every percentile");
	hv_purge_stat_of(&one, NULL, 0);
	ok(one.count == 0 && one.p50 == -1 && one.max == -1, "no ages, no percentiles");
	hv_spool_close(sp);
}

struct notes {
	int foreign, unsafe;
};

static void
note(enum hv_purge_note kind, long long epoch, const char *path, void *arg)
{
	struct notes *n = arg;

	(void)epoch;
	printf("# note %d %s\n", (int)kind, path ? path : "-");
	if (kind == HV_PURGE_FOREIGN)
		n->foreign++;
	if (kind == HV_PURGE_UNSAFE_KEY)
		n->unsafe++;
}

/* Foreign entries are named and left alone; a key file others can read is
 * destroyed at once; a stale temporary goes. */
static void
test_bad_input(void)
{
	struct hv_config c;
	struct hv_purge_report rep;
	struct notes n = { 0, 0 };
	struct hv_purge_opts o = { 0, 0, 0, note, &n };
	struct hv_spool *sp;
	struct hv_buf out;
	struct hv_err e = { 0 };
	char p[700], *a;
	long long now = hv_now();
	const char *root;

	setenv("HV_SPOOL_KEYS", "files", 1);
	config(&c, "bad");
	hv_buf_init_secret(&out, 1 << 20);
	sp = spool_at(&c, now);
	root = hv_spool_root(sp);
	a = put(sp, "b1");
	age_file(root, "README", now, 5000);
	age_file(root, "12.support..hvs", now, 5000);
	age_file(root, "1.support.b2.hvs.tmp.99.0", now, 5000);
	age_file(root, "1.support.b3.hvs.tmp.99.0", now, 5);
	snprintf(p, sizeof p, "%s/keys", root);
	age_file(p, "notes.txt", now, 5000);
	snprintf(p, sizeof p, "%s/keys/%lld.key", root, now / 60);
	chmod(p, 0644);
	o.now = now;
	is_int(hv_purge_run(&c, &o, &rep, &e), 0, "purge");
	is_int(n.foreign, 3, "three foreign entries named");
	ok(access(a, F_OK) == 0, "the live file kept");
	snprintf(p, sizeof p, "%s/README", root);
	ok(access(p, F_OK) == 0, "a foreign file left alone");
	snprintf(p, sizeof p, "%s/12.support..hvs", root);
	ok(access(p, F_OK) == 0, "a broken name left alone");
	snprintf(p, sizeof p, "%s/keys/notes.txt", root);
	ok(access(p, F_OK) == 0, "a foreign file among the keys left alone");
	ok(rep.temp == 1, "a stale temporary removed");
	snprintf(p, sizeof p, "%s/1.support.b3.hvs.tmp.99.0", root);
	ok(access(p, F_OK) == 0, "a fresh one kept");
	ok(n.unsafe == 1 && rep.keys == 1, "the key file others could read: named and destroyed");
	snprintf(p, sizeof p, "%s/keys/%lld.key", root, now / 60);
	ok(access(p, F_OK) < 0, "it is gone");
	is_int(get_ok(sp, a, &out), HV_EPERM, "its file is noise");
	free(a);
	hv_buf_release(&out);
	hv_spool_close(sp);
}

static int
destroy_all(const struct hv_epoch_info *ki, void *arg)
{
	if (ki->n >= 0)
		hv_epoch_destroy(arg, ki, NULL);
	return 0;
}

int
main(void)
{
	const char *base = is_tmpfs("/dev/shm") ? "/dev/shm" : "/tmp";
	struct hv_config c;
	struct hv_spool *sp;
	char cmd[300];

	snprintf(top, sizeof top, "%s/hv-purge-unit.XXXXXX", base);
	if (mkdtemp(top) == NULL)
		return perror(top), 1;
	test_keys_first("files");
	test_keys_first("keyring");
	test_done();
	test_race();
	test_stats();
	test_bad_input();
	/* Leave no key of these spools in the keyring. */
	unsetenv("HV_SPOOL_KEYS");
	config(&c, "keyring");
	if ((sp = spool_at(&c, hv_now())) != NULL)
		hv_epoch_each(hv_spool_epochs(sp), destroy_all, hv_spool_epochs(sp), NULL);
	hv_spool_close(sp);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", top);
	return tap_done();
}
