#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "clock.h"
#include "epoch.h"
#include "file.h"
#include "mem.h"
#include "seal.h"
#include "spool.h"
#include "banned.h"

#define SUFFIX ".hvs"
#define TMP_MARK ".hvs.tmp."
#define TEAM_MAX 200
#define ID_MAX 128

struct hv_spool {
	char *root;		/* resolved */
	size_t rootlen;
	struct hv_epochs *ep;
	long long skew;		/* the caller's clock minus hv_now() */
	uid_t uid;
};

static int
on_memory(const char *root, int *tmpfs, struct hv_err *e)
{
	struct statfs fs;

	if (statfs(root, &fs) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot statfs '%s'", root);
	*tmpfs = fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
	return 0;
}

/* The root: a directory of ours that nobody else can enter. */
static int
check_root(const char *root, struct hv_err *e)
{
	struct stat st;

	if (lstat(root, &st) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot stat spool '%s'", root);
	if (!S_ISDIR(st.st_mode))
		return hv_err_set(e, HV_ECONFIG, "spool '%s' is not a directory", root);
	if (st.st_uid != geteuid())
		return hv_err_set(e, HV_EPERM, "spool '%s' belongs to uid %u, not to uid %u",
		    root, (unsigned)st.st_uid, (unsigned)geteuid());
	return hv_path_private(root, e) < 0 ? hv_err_wrap(e, "spool") : 0;
}

int
hv_spool_open(struct hv_spool **out, const struct hv_config *c, long long now,
    int *on_disk, struct hv_err *e)
{
	struct hv_spool *sp;
	char real[PATH_MAX], keys[PATH_MAX + 8];
	int r, tmpfs = 0;

	*out = NULL;
	*on_disk = 0;
	if (c->spool.epoch <= 0 || 2 * c->spool.epoch > c->spool.ttl)
		return hv_err_set(e, HV_ECONFIG, "spool epoch (%lds) must be at most half "
		    "its ttl (%lds): a file written late in an epoch has ttl - epoch to be "
		    "synced", c->spool.epoch, c->spool.ttl);
	if ((r = hv_mkdirs(c->paths.spool, e)) < 0 || (r = check_root(c->paths.spool, e)) < 0)
		return r;
	if (realpath(c->paths.spool, real) == NULL)
		return hv_err_errno(e, HV_EIO, errno, "cannot resolve '%s'", c->paths.spool);
	if ((r = on_memory(real, &tmpfs, e)) < 0)
		return r;
	if (!tmpfs && !c->spool.allow_disk)
		return hv_err_set(e, HV_ECONFIG, "spool '%s' is on persistent storage, not "
		    "tmpfs or ramfs: refused (set [spool] allow_disk = yes to accept)", real);
	*on_disk = !tmpfs;
	snprintf(keys, sizeof keys, "%s/keys", real);
	sp = hv_xcalloc(1, sizeof *sp);
	if ((r = hv_epochs_open(&sp->ep, real, keys, c->spool.ttl, c->spool.epoch,
	    c->spool.keys != NULL && strcmp(c->spool.keys, "files") == 0 ?
	    HV_EPOCH_FILES : HV_EPOCH_KEYRING, e)) < 0) {
		free(sp);
		return r;
	}
	sp->root = hv_xstrdup(real);
	sp->rootlen = strlen(real);
	sp->skew = now - hv_now();
	sp->uid = geteuid();
	*out = sp;
	return 0;
}

int
hv_spool_where(const struct hv_config *c, int *exists, int *tmpfs, struct hv_err *e)
{
	char p[PATH_MAX];
	char *slash;
	struct stat st;

	*exists = stat(c->paths.spool, &st) == 0;
	snprintf(p, sizeof p, "%s", c->paths.spool);
	while (stat(p, &st) < 0 && (slash = strrchr(p, '/')) != NULL)
		slash[slash == p] = '\0';
	return on_memory(p, tmpfs, e);
}

void
hv_spool_close(struct hv_spool *sp)
{
	if (sp == NULL)
		return;
	hv_epochs_close(sp->ep);
	free(sp->root);
	free(sp);
}

const char *
hv_spool_root(const struct hv_spool *sp)
{
	return sp->root;
}

long long
hv_spool_now(const struct hv_spool *sp)
{
	return hv_now() + sp->skew;
}

struct hv_epochs *
hv_spool_epochs(struct hv_spool *sp)
{
	return sp->ep;
}

static int
good_team(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > TEAM_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '/' || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
good_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* A name's parts: "<epoch>.<team>.<id>.hvs", or its temporary form
 * "<epoch>.<team>.<id>.hvs.tmp.<pid>.<n>" (*tmp set).  Copies team and id
 * into the caller's room. */
static int
parse_name(const char *name, long long *epoch, char team[TEAM_MAX + 1],
    char id[ID_MAX + 1], int *tmp)
{
	const char *end, *dot, *mark;
	char *after;
	size_t n;

	mark = strstr(name, TMP_MARK);
	*tmp = mark != NULL;
	n = strlen(name);
	if (mark != NULL)
		end = mark;
	else if (n > 4 && strcmp(name + n - 4, SUFFIX) == 0)
		end = name + n - 4;
	else
		return 0;
	if (name[0] < '0' || name[0] > '9')
		return 0;
	errno = 0;
	*epoch = strtoll(name, &after, 10);
	if (errno != 0 || *after != '.')
		return 0;
	for (dot = end - 1; dot > after && *dot != '.'; dot--)
		;
	if (dot <= after + 1 || !good_id(dot + 1, (size_t)(end - dot - 1)))
		return 0;
	n = (size_t)(dot - after - 1);
	if (n > TEAM_MAX)
		return 0;
	memcpy(team, after + 1, n);
	team[n] = '\0';
	memcpy(id, dot + 1, (size_t)(end - dot - 1));
	id[end - dot - 1] = '\0';
	return good_team(team);
}

static int
context(char *ctx, size_t size, const char *account, const char *id, struct hv_err *e)
{
	if ((size_t)snprintf(ctx, size, "spool:%s:%s", account, id) >= size)
		return hv_err_set(e, HV_EUSAGE, "account '%.64s...' too long", account);
	return 0;
}

static int
seal_key(struct hv_spool *sp, long long n, long long now, int create,
    struct hv_seal_key **k, struct hv_err *e)
{
	uint8_t *raw = hv_secure_alloc(HV_EPOCH_KEY_LEN);
	int r;

	if ((r = hv_epoch_key(sp->ep, n, now, create, raw, e)) == 0)
		r = hv_seal_key_symmetric(k, raw, e);
	hv_secure_free(raw, HV_EPOCH_KEY_LEN);
	return r;
}

int
hv_spool_put(struct hv_spool *sp, const char *team, const char *account,
    const char *gmail_id, const void *raw, size_t len, char **path, struct hv_err *e)
{
	struct hv_seal_key *k = NULL;
	struct hv_buf sealed, name;
	char ctx[HV_SEAL_CONTEXT_MAX];
	long long now = hv_spool_now(sp), n = hv_epoch_of(sp->ep, now);
	int r;

	*path = NULL;
	if (!good_team(team))
		return hv_err_set(e, HV_EUSAGE, "team '%s' cannot name a spool file", team);
	if (!good_id(gmail_id, strlen(gmail_id)))
		return hv_err_set(e, HV_EDATA, "message id '%.64s' is not a Gmail id", gmail_id);
	if ((r = context(ctx, sizeof ctx, account, gmail_id, e)) < 0)
		return r;
	hv_buf_init(&sealed, len + len / 1024 + 4096 + HV_SEAL_HDR_MAX);
	hv_buf_init(&name, PATH_MAX);
	if ((r = seal_key(sp, n, now, 1, &k, e)) < 0 ||
	    (r = hv_seal_mem(k, ctx, strlen(ctx), raw, len, &sealed, e)) < 0)
		goto out;
	if (hv_buf_addf(&name, "%s/%lld.%s.%s%s", sp->root, n, team, gmail_id, SUFFIX) < 0) {
		r = hv_err_set(e, HV_EUSAGE, "spool file name too long");
		goto out;
	}
	if ((r = hv_file_write_atomic(name.data, sealed.data, sealed.len, 0600, e)) < 0)
		goto out;
	*path = hv_buf_detach(&name, NULL);
out:
	hv_seal_key_free(k);
	hv_buf_release(&sealed);
	hv_buf_release(&name);
	return r;
}

/* The file's name when path is a file directly in the spool, else NULL. */
static const char *
in_spool(const struct hv_spool *sp, const char *path)
{
	if (strncmp(path, sp->root, sp->rootlen) != 0 || path[sp->rootlen] != '/' ||
	    strchr(path + sp->rootlen + 1, '/') != NULL)
		return NULL;
	return path + sp->rootlen + 1;
}

static int
read_sealed(const char *path, size_t max, struct hv_buf *b, struct hv_err *e)
{
	struct stat st;
	ssize_t got;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return hv_err_errno(e, errno == ENOENT ? HV_ENOINPUT : HV_EIO, errno,
		    "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = hv_err_set(e, HV_EDATA, "'%s' is not a regular file", path);
	else if ((unsigned long long)st.st_size > max)
		r = hv_err_set(e, HV_EDATA, "'%s' is larger than a message may be", path);
	else if ((r = hv_buf_grow(b, (size_t)st.st_size)) < 0)
		r = hv_err_set(e, HV_EDATA, "'%s' is larger than a message may be", path);
	else if ((got = hv_read_full(fd, b->data, (size_t)st.st_size)) != st.st_size)
		r = hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
	else
		b->len = (size_t)got;
	close(fd);
	return r;
}

int
hv_spool_get(struct hv_spool *sp, const char *path, const char *account,
    struct hv_buf *raw, struct hv_err *e)
{
	struct hv_seal_key *k = NULL;
	struct hv_buf sealed;
	char team[TEAM_MAX + 1], id[ID_MAX + 1], ctx[HV_SEAL_CONTEXT_MAX];
	const char *name = in_spool(sp, path);
	size_t max = raw->max + raw->max / 1024 + 4096 + HV_SEAL_HDR_MAX;
	long long n;
	int r, tmp;

	if (name == NULL || !parse_name(name, &n, team, id, &tmp) || tmp)
		return hv_err_set(e, HV_EDATA, "'%s' is not a spool file of '%s'", path,
		    sp->root);
	if ((r = context(ctx, sizeof ctx, account, id, e)) < 0)
		return r;
	hv_buf_init(&sealed, max);
	if ((r = read_sealed(path, max, &sealed, e)) < 0)
		goto out;
	if ((r = seal_key(sp, n, hv_spool_now(sp), 0, &k, e)) < 0) {
		hv_err_wrap(e, "'%s' cannot be opened any more (fetch it again)", path);
		goto out;
	}
	if ((r = hv_open_mem(k, ctx, strlen(ctx), sealed.data, sealed.len, raw, e)) < 0) {
		/* Another key than its epoch's: moved from another epoch. */
		if (r == HV_EPERM && e != NULL)
			e->code = HV_EDATA;
		r = r == HV_EPERM ? HV_EDATA : r;
		hv_err_wrap(e, "'%s'", path);
	}
out:
	hv_seal_key_free(k);
	hv_buf_release(&sealed);
	return r;
}

int
hv_spool_remove(struct hv_spool *sp, const char *path, struct hv_err *e)
{
	if (in_spool(sp, path) == NULL)
		return hv_err_set(e, HV_EDATA, "'%s' is not in the spool '%s'", path, sp->root);
	if (unlink(path) < 0 && errno != ENOENT)
		return hv_err_errno(e, HV_EIO, errno, "cannot remove '%s'", path);
	return 0;
}

static int
scan_one(struct hv_spool *sp, int dfd, const char *name,
    int (*fn)(const struct hv_spool_entry *ent, void *arg), void *arg)
{
	struct hv_spool_entry ent = { 0 };
	char path[PATH_MAX], team[TEAM_MAX + 1], id[ID_MAX + 1];
	struct stat st;
	int tmp = 0;

	size_t n = strlen(name);

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;	/* gone meanwhile */
	if (sp->rootlen + 1 + n >= sizeof path)
		return 0;
	memcpy(path, sp->root, sp->rootlen);
	path[sp->rootlen] = '/';
	memcpy(path + sp->rootlen + 1, name, n + 1);
	ent.path = path;
	ent.name = name;
	ent.dirfd = dfd;
	ent.mtime = st.st_mtim.tv_sec;
	ent.size = st.st_size;
	ent.epoch = -1;
	if (S_ISREG(st.st_mode) && st.st_uid == sp->uid &&
	    parse_name(name, &ent.epoch, team, id, &tmp)) {
		ent.kind = tmp ? HV_SPOOL_TEMP : HV_SPOOL_FILE;
		ent.team = team;
		ent.gmail_id = id;
	} else {
		ent.kind = HV_SPOOL_FOREIGN;
		ent.epoch = -1;
	}
	return fn(&ent, arg);
}

int
hv_spool_scan(struct hv_spool *sp,
    int (*fn)(const struct hv_spool_entry *ent, void *arg), void *arg, struct hv_err *e)
{
	struct dirent *d;
	DIR *dir;
	int r = 0;

	if ((dir = opendir(sp->root)) == NULL)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", sp->root);
	while (r == 0 && (d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
		    strcmp(d->d_name, "keys") == 0)
			continue;
		r = scan_one(sp, dirfd(dir), d->d_name, fn, arg);
	}
	closedir(dir);
	return r;
}

struct each_arg {
	int (*fn)(const struct hv_spool_entry *ent, void *arg);
	void *arg;
	size_t foreign;
};

static int
each_filter(const struct hv_spool_entry *ent, void *arg)
{
	struct each_arg *a = arg;

	if (ent->kind == HV_SPOOL_FOREIGN)
		a->foreign++;
	if (ent->kind != HV_SPOOL_FILE)
		return 0;
	return a->fn(ent, a->arg);
}

int
hv_spool_each(struct hv_spool *sp,
    int (*fn)(const struct hv_spool_entry *ent, void *arg), void *arg,
    size_t *foreign, struct hv_err *e)
{
	struct each_arg a = { fn, arg, 0 };
	int r = hv_spool_scan(sp, each_filter, &a, e);

	if (foreign != NULL)
		*foreign = a.foreign;
	return r;
}
