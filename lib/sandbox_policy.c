/*
 * What each tool and command may touch (hv(7) SECURITY).  The table is
 * the manual page's, line for line: change both together.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_curl.h"
#include "keys.h"
#include "mem.h"
#include "sandbox.h"
#include "banned.h"

enum need {
	N_KEYS = 1 << 0,	/* the master key (file read, or command run now) */
	N_STATE = 1 << 1,	/* the state DB's and audit trail's directories, written */
	N_SPOOL = 1 << 2,	/* the spool, written */
	N_GOOGLE = 1 << 3,	/* Google's endpoints, the client file, CA files */
	N_BACKUP = 1 << 4,	/* the backup targets, written, and S3's endpoint */
	N_SCRATCH = 1 << 5,	/* tmpfs for a plaintext snapshot */
	N_BIND = 1 << 6,	/* the login listener */
	N_MASTER_DIR = 1 << 7,	/* the master key file's directory, written */
	N_AUDIT_READ = 1 << 8,	/* the audit trail's directory, read only */
	N_NONE = 1 << 9,	/* nothing of the configuration */
	N_UNSANDBOXED = 1 << 10,	/* runs commands: see hv(7) */
	N_SPOOL_LOOK = 1 << 11,	/* the spool, or its parent while it is missing */
};

static const struct {
	const char *tool, *cmd;		/* "*": any other command, and a bare run */
	unsigned need;
} table[] = {
	{ "hv-auth", "init", N_KEYS | N_STATE | N_MASTER_DIR },
	{ "hv-auth", "login", N_KEYS | N_STATE | N_GOOGLE | N_BIND },
	{ "hv-auth", "rotate-key", N_KEYS | N_STATE | N_MASTER_DIR },
	{ "hv-auth", "list", N_KEYS | N_STATE },
	{ "hv-auth", "*", N_KEYS | N_STATE | N_GOOGLE },
	{ "hv-fetch", "*", N_KEYS | N_STATE | N_SPOOL | N_GOOGLE },
	{ "hv-sync", "status", N_KEYS | N_STATE | N_SPOOL },
	{ "hv-sync", "*", N_KEYS | N_STATE | N_SPOOL | N_GOOGLE },
	{ "hv-purge", "erase", N_KEYS | N_STATE | N_SPOOL | N_SCRATCH },
	{ "hv-purge", "*", N_KEYS | N_STATE | N_SPOOL },
	{ "hv-audit", "query", N_AUDIT_READ },
	{ "hv-audit", "tail", N_AUDIT_READ },
	{ "hv-audit", "watch", N_UNSANDBOXED },
	{ "hv-audit", "*", N_KEYS | N_STATE },
	{ "hv-backup", "*", N_KEYS | N_STATE | N_BACKUP | N_SCRATCH },
	{ "hv-doctor", "config", N_NONE },
	{ "hv-doctor", "*", N_KEYS | N_STATE | N_SPOOL_LOOK | N_GOOGLE | N_BACKUP },
	{ "hv-seal", "*", N_NONE },
};

/* What every tool reads: time zones, and the libraries glibc loads late
 * (NSS modules for the resolver, gconv): no secrets live there. */
static void
system_paths(struct hv_sandbox *sb)
{
	static const char *const read[] = { "/etc/localtime", "/usr/share/zoneinfo",
		"/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/dev/urandom" };
	size_t i;

	for (i = 0; i < sizeof read / sizeof read[0]; i++)
		hv_sandbox_read(sb, read[i]);
	hv_sandbox_write(sb, "/dev/null");
}

/* TLS trust and name resolution: the CA stores libcurl and OpenSSL look in
 * (Debian's, Fedora's), and what getaddrinfo reads. */
static void
network_paths(struct hv_sandbox *sb)
{
	static const char *const read[] = { "/etc/ssl", "/usr/share/ca-certificates",
		"/etc/ca-certificates", "/etc/pki", "/usr/local/share/ca-certificates",
		"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
		"/etc/host.conf", "/etc/services" };
	size_t i;

	for (i = 0; i < sizeof read / sizeof read[0]; i++)
		hv_sandbox_read(sb, read[i]);
}

static int
is_file_source(const char *s)
{
	return s != NULL && strncmp(s, "keyring:", 8) != 0 && strncmp(s, "command:", 8) != 0;
}

static void
google(struct hv_sandbox *sb, const struct hv_config *c)
{
	hv_sandbox_connect_url(sb, c->google.api);
	hv_sandbox_connect_url(sb, c->google.oauth);
	hv_sandbox_connect_url(sb, c->google.accounts);
	hv_sandbox_connect_url(sb, c->google.directory);
	hv_sandbox_read(sb, c->google.ca_file);
	hv_sandbox_read(sb, c->google.client);
	hv_sandbox_read(sb, c->google.quota);	/* a path, when not a table's name */
}

static void
backup(struct hv_sandbox *sb, const struct hv_config *c)
{
	size_t i;

	for (i = 0; i < c->backup.nto; i++) {
		if (strncmp(c->backup.to[i], "s3://", 5) != 0) {
			hv_sandbox_write_dir(sb, c->backup.to[i]);
			continue;
		}
		hv_sandbox_connect_url(sb, c->backup.endpoint ? c->backup.endpoint :
		    "https://s3.amazonaws.com");
		hv_sandbox_read(sb, c->backup.credentials);
		hv_sandbox_read(sb, c->backup.ca_file);
	}
}

/* Where backup.c may put a plaintext snapshot: the spool's parent,
 * $XDG_RUNTIME_DIR, /dev/shm, and with allow_disk $TMPDIR or /tmp. */
static void
scratch(struct hv_sandbox *sb, const struct hv_config *c)
{
	const char *tmp = getenv("TMPDIR");

	hv_sandbox_write_parent(sb, c->paths.spool);
	hv_sandbox_write(sb, getenv("XDG_RUNTIME_DIR"));
	hv_sandbox_write(sb, "/dev/shm");
	if (c->spool.allow_disk)
		hv_sandbox_write(sb, tmp != NULL && *tmp == '/' ? tmp : "/tmp");
}

static void read_abs(struct hv_sandbox *sb, const char *path);

static void
spool_parent(struct hv_sandbox *sb, const char *spool)
{
	char *dir = hv_xstrdup(spool), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		hv_sandbox_write(sb, dir);
	}
	free(dir);
}

static unsigned
needs(const char *tool, const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].tool, tool) == 0 && (strcmp(table[i].cmd, "*") == 0 ||
		    (cmd != NULL && strcmp(table[i].cmd, cmd) == 0)))
			return table[i].need;
	return N_NONE;
}

static void
from_config(struct hv_sandbox *sb, const struct hv_config *c, unsigned need)
{
	if ((need & N_KEYS) && is_file_source(c->keys.master))
		hv_sandbox_read(sb, c->keys.master);
	if (need & N_KEYS)
		(void)hv_master_preload(c->keys.master, NULL);	/* said when loaded */
	if (need & N_MASTER_DIR && is_file_source(c->keys.master))
		hv_sandbox_write_parent(sb, c->keys.master);
	if (need & N_STATE) {
		hv_sandbox_write_parent(sb, c->paths.state);
		hv_sandbox_write_parent(sb, c->paths.audit);
	}
	if (need & N_AUDIT_READ) {
		char *dir = hv_xstrdup(c->paths.audit), *slash = strrchr(dir, '/');

		if (slash != NULL && slash != dir)
			*slash = '\0';
		hv_sandbox_read(sb, dir);
		free(dir);
	}
	if (need & N_SPOOL)
		hv_sandbox_write_dir(sb, c->paths.spool);
	/* hv-doctor makes a missing spool only where it may be (tmpfs), and
	 * decides that itself: nothing is made for it here. */
	if ((need & N_SPOOL_LOOK) && access(c->paths.spool, F_OK) == 0)
		hv_sandbox_write(sb, c->paths.spool);
	else if (need & N_SPOOL_LOOK)
		spool_parent(sb, c->paths.spool);
	if (need & N_GOOGLE)
		google(sb, c);
	if (need & N_BACKUP)
		backup(sb, c);
	if (need & N_SCRATCH)
		scratch(sb, c);
	if (need & N_BIND)
		sb->flags |= HV_SANDBOX_BIND | HV_SANDBOX_NET;
}

void
hv_sandbox_policy(struct hv_sandbox *sb, const struct hv_config *c, const char *tool,
    const char *cmd)
{
	enum hv_sandbox_mode mode = HV_SANDBOX_AUTO;
	unsigned need = needs(tool, cmd);

	if (c != NULL)
		(void)hv_sandbox_mode_parse(c->sandbox.mode, &mode);	/* checked when read */
	if (need & N_UNSANDBOXED)
		mode = HV_SANDBOX_OFF;
	hv_sandbox_init(sb, mode, tool);
	system_paths(sb);
	if (c != NULL && c->file != NULL)
		hv_sandbox_read(sb, c->file);
	if (c != NULL && !(need & N_NONE))
		from_config(sb, c, need);
	if (sb->flags & HV_SANDBOX_NET) {
		network_paths(sb);
		/* libcurl, and OpenSSL under it, are loaded now: their files are
		 * not readable later, and OpenSSL reads its configuration once. */
		(void)hv_curl_load(NULL);
	}
}

int
hv_sandbox_apply(const struct hv_config *c, const char *tool, const char *cmd,
    const char *const *files, struct hv_err *e)
{
	struct hv_sandbox sb;
	int r;

	hv_sandbox_policy(&sb, c, tool, cmd);
	/* Relative names are made absolute; "-" is stdin, already open. */
	for (; files != NULL && *files != NULL; files++)
		read_abs(&sb, *files);
	r = hv_sandbox_enter(&sb, e);
	hv_sandbox_release(&sb);
	return r;
}

int
hv_sandbox_backup(const struct hv_config *c, const char *cmd, const char *identity,
    const char *pubkey, const char *to, struct hv_err *e)
{
	struct hv_sandbox sb;
	char *abs;
	int r;

	hv_sandbox_policy(&sb, c, "hv-backup", cmd);
	read_abs(&sb, identity);
	read_abs(&sb, pubkey);
	if (to != NULL) {
		abs = to[0] == '/' ? hv_xstrdup(to) : realpath(".", NULL);
		/* A relative --to is written from the working directory. */
		if (abs != NULL && to[0] != '/')
			hv_sandbox_write(&sb, abs);
		else
			hv_sandbox_write_parent(&sb, abs);
		free(abs);
	}
	r = hv_sandbox_enter(&sb, e);
	hv_sandbox_release(&sb);
	return r;
}

static void
read_abs(struct hv_sandbox *sb, const char *path)
{
	char *abs;

	if (path != NULL && (abs = realpath(path, NULL)) != NULL) {
		hv_sandbox_read(sb, abs);
		free(abs);
	}
}

int
hv_sandbox_audit(const struct hv_config *c, const char *cmd, char *const *argv,
    const char *key0, const char *pubkey, struct hv_err *e)
{
	struct hv_sandbox sb;
	int r;

	hv_sandbox_policy(&sb, c, "hv-audit", cmd);
	for (; strcmp(cmd, "verify") == 0 && argv != NULL && *argv != NULL; argv++)
		read_abs(&sb, *argv);
	read_abs(&sb, key0);
	read_abs(&sb, pubkey);
	r = hv_sandbox_enter(&sb, e);
	hv_sandbox_release(&sb);
	return r;
}

int
hv_sandbox_seal(const char *in, const char *out, struct hv_err *e)
{
	struct hv_sandbox sb;
	struct stat st;
	char *abs, *dir;
	int r;

	hv_sandbox_policy(&sb, NULL, "hv-seal", NULL);
	if (in != NULL && strcmp(in, "-") != 0)
		read_abs(&sb, in);
	if (out != NULL && strcmp(out, "-") != 0) {
		if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
			abs = realpath(out, NULL);
			hv_sandbox_write(&sb, abs);
		} else {
			dir = hv_xstrdup(out);
			abs = realpath(strrchr(dir, '/') ? dirname(dir) : ".", NULL);
			free(dir);
			hv_sandbox_write(&sb, abs);
		}
		free(abs);
	}
	r = hv_sandbox_enter(&sb, e);
	hv_sandbox_release(&sb);
	return r;
}
