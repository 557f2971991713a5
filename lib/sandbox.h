/*
 * sandbox: a tool confines itself once its configuration is read, before
 * it parses anything from outside, after signify's pledge and unveil and
 * OpenSSH's seccomp sandbox (hv(7) SECURITY).
 *
 *	Landlock	files: only the paths of the policy, read or written;
 *			TCP: connect only to the listed ports, bind only when
 *			the policy says (the login listener); signals only
 *			inside the sandbox
 *	seccomp-bpf	an allow-list of system calls, checked against the
 *			architecture; any other call kills the process
 *	no_new_privs	so neither can be shed by running a set-uid program
 *
 * Landlock and seccomp are inherited by every child and cannot be lifted.
 * A policy is built by sandbox_policy.c for a tool and its command, the
 * caller adds the files named on its command line, and enters it.
 */
#ifndef HV_SANDBOX_H
#define HV_SANDBOX_H

#include "config.h"
#include "err.h"

enum hv_sandbox_mode {
	HV_SANDBOX_OFF,		/* nothing: for a kernel that breaks it */
	HV_SANDBOX_AUTO,	/* the strongest the kernel offers (the default) */
	HV_SANDBOX_REQUIRED,	/* Landlock with TCP rules and seccomp, or refuse */
};

enum hv_sandbox_flags {
	HV_SANDBOX_NET = 1 << 0,	/* TCP and UDP sockets (connect: ports below) */
	HV_SANDBOX_BIND = 1 << 1,	/* bind and listen (an ephemeral port) */
};

#define HV_SANDBOX_PATHS 48
#define HV_SANDBOX_PORTS 16

struct hv_sandbox {
	enum hv_sandbox_mode mode;
	const char *tool;		/* borrowed: for messages */
	unsigned flags;			/* enum hv_sandbox_flags */
	char *read[HV_SANDBOX_PATHS];	/* owned: files or trees readable */
	size_t nread;
	char *write[HV_SANDBOX_PATHS];	/* owned: files or trees read and written */
	size_t nwrite;
	unsigned short connect[HV_SANDBOX_PORTS];	/* TCP ports connect may reach */
	size_t nconnect;
};

/* An empty policy (nothing readable, no network) in mode. */
void hv_sandbox_init(struct hv_sandbox *sb, enum hv_sandbox_mode mode, const char *tool);

/* "auto", "required", "off": 0 and *mode, or HV_ECONFIG for anything else. */
int hv_sandbox_mode_parse(const char *s, enum hv_sandbox_mode *mode);

/*
 * Let the sandbox read (hv_sandbox_read) or read and write (hv_sandbox_write)
 * path: a file, or a directory and all beneath it.  A path that does not
 * exist is left out: what is not there when the sandbox is made cannot be
 * opened in it, so a directory a tool will write is made first
 * (hv_sandbox_write_dir, 0700 as every hv directory).  The path is copied.
 * HV_EINTERNAL when the policy is full.
 */
int hv_sandbox_read(struct hv_sandbox *sb, const char *path);
int hv_sandbox_write(struct hv_sandbox *sb, const char *path);
int hv_sandbox_write_dir(struct hv_sandbox *sb, const char *dir);

/* The directory of a file path, for files replaced by rename (and SQLite's
 * journal beside its database): written, made when missing. */
int hv_sandbox_write_parent(struct hv_sandbox *sb, const char *file);

/*
 * Let the sandbox connect to the port of url (scheme://host[:port]/...,
 * 443 for https and 80 for http unless given), and to TCP port 53 when
 * the host is a name: glibc's resolver retries a truncated UDP answer
 * over TCP.  Sets HV_SANDBOX_NET.  NULL is ignored.
 */
int hv_sandbox_connect_url(struct hv_sandbox *sb, const char *url);

/*
 * Enter the sandbox: no_new_privs, the Landlock ruleset, then the seccomp
 * filter.  In auto mode what the kernel lacks is left out; in required
 * mode a kernel without Landlock (ABI 4, for TCP rules) or seccomp is
 * HV_EUNAVAIL (exit 69) and nothing is entered; off enters nothing.
 * Must be called while the process has one thread: Landlock binds the
 * calling thread (and the threads it starts).
 *
 * For tests: HV_SANDBOX_TRAP=1 turns the kill into a message naming the
 * system call ("sandbox: system call 59 refused") and ENOSYS, to grow the
 * allow-list; HV_TEST_SANDBOX_PROBE=open:PATH | write:PATH | connect:HOST:PORT |
 * exec:PATH tries that once inside and says on stderr what happened
 * ("sandbox probe open:/etc/passwd: Permission denied").
 */
int hv_sandbox_enter(const struct hv_sandbox *sb, struct hv_err *e);

/* Free what the policy owns; sb may then be initialised again. */
void hv_sandbox_release(struct hv_sandbox *sb);

/* What the kernel offers: its Landlock ABI (0: none) and whether seccomp
 * filters can be loaded. */
void hv_sandbox_probe(int *landlock_abi, int *seccomp);

/* What this process runs under, one line ("landlock abi 7 (files, tcp),
 * seccomp, no_new_privs", or "none"): static storage. */
const char *hv_sandbox_status(void);

/* ---- the policies, per tool and command (sandbox_policy.c) ---- */

/*
 * The policy of tool (the program name, "hv-fetch") running cmd (its
 * command, or NULL for a bare run) with configuration c (NULL: none, and
 * auto mode): the paths and ports of hv(7) SECURITY.  Also loads what the
 * sandbox would refuse later: libcurl for a tool that uses the network,
 * and the master key when it comes from a command (keys.h).
 */
void hv_sandbox_policy(struct hv_sandbox *sb, const struct hv_config *c, const char *tool,
    const char *cmd);

/* hv_sandbox_policy, files (NULL-terminated, or NULL: the files its
 * command line names, to be read) added, hv_sandbox_enter,
 * hv_sandbox_release. */
int hv_sandbox_apply(const struct hv_config *c, const char *tool, const char *cmd,
    const char *const *files, struct hv_err *e);

/* hv-backup's: hv_sandbox_apply with its identity and checkpoint key files
 * (-i, -p, or NULL) read and the restore target (--to, or NULL) written. */
int hv_sandbox_backup(const struct hv_config *c, const char *cmd, const char *identity,
    const char *pubkey, const char *to, struct hv_err *e);

/* hv-audit's: hv_sandbox_apply with verify's files (argv, NULL-terminated)
 * and the -k and -p files (or NULL) read. */
int hv_sandbox_audit(const struct hv_config *c, const char *cmd, char *const *argv,
    const char *key0, const char *pubkey, struct hv_err *e);

/* hv-seal's, in auto mode (it may run with no configuration): in read
 * (NULL or "-": stdin), out written (NULL or "-": stdout; a regular file
 * by way of a temporary name beside it), nothing else. */
int hv_sandbox_seal(const char *in, const char *out, struct hv_err *e);

#endif
