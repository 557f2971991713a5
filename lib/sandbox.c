#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "file.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "banned.h"

/*
 * Landlock's UAPI, vendored: the C library's headers may predate the
 * network rules (Debian 12's do), and the kernel, not the headers, says
 * what is there.  Values from linux/landlock.h.
 */
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1
#define LL_RULE_NET_PORT		2
#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_REMOVE_DIR	(1ULL << 4)
#define LL_FS_REMOVE_FILE	(1ULL << 5)
#define LL_FS_MAKE_DIR		(1ULL << 7)
#define LL_FS_MAKE_REG		(1ULL << 8)
#define LL_FS_REFER		(1ULL << 13)
#define LL_FS_TRUNCATE		(1ULL << 14)
#define LL_NET_BIND_TCP		(1ULL << 0)
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)
#define LL_SCOPE_SIGNAL		(1ULL << 1)

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* Rights a file may carry in a rule: the kernel refuses directory rights there. */
#define LL_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE)
#define LL_READ (LL_FS_READ_FILE | LL_FS_READ_DIR)
#define LL_WRITE (LL_READ | LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | \
	LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_REFER | LL_FS_TRUNCATE)

#if defined(__x86_64__)
#define SB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Sanitizer runtimes read /proc and stop the world with ptrace for leak
 * checks: only their builds get those. */
#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SB_SANITIZED 1
#endif
#endif
#ifndef SB_SANITIZED
#define SB_SANITIZED 0
#endif

static char status_line[160] = "none";

void
hv_sandbox_init(struct hv_sandbox *sb, enum hv_sandbox_mode mode, const char *tool)
{
	memset(sb, 0, sizeof *sb);
	sb->mode = mode;
	sb->tool = tool;
}

void
hv_sandbox_release(struct hv_sandbox *sb)
{
	size_t i;

	for (i = 0; i < sb->nread; i++)
		free(sb->read[i]);
	for (i = 0; i < sb->nwrite; i++)
		free(sb->write[i]);
	sb->nread = sb->nwrite = sb->nconnect = 0;
}

int
hv_sandbox_mode_parse(const char *s, enum hv_sandbox_mode *mode)
{
	if (s == NULL || strcmp(s, "auto") == 0)
		*mode = HV_SANDBOX_AUTO;
	else if (strcmp(s, "required") == 0)
		*mode = HV_SANDBOX_REQUIRED;
	else if (strcmp(s, "off") == 0)
		*mode = HV_SANDBOX_OFF;
	else
		return HV_ECONFIG;
	return 0;
}

/* A relative path is the working directory's, as the tool will open it. */
static int
add_path(char **list, size_t *n, const char *path)
{
	char cwd[4096], *abs;
	size_t len;

	if (path == NULL || *path == '\0')
		return 0;
	if (*n == HV_SANDBOX_PATHS)
		return HV_EINTERNAL;
	if (*path == '/') {
		list[(*n)++] = hv_xstrdup(path);
		return 0;
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		return 0;
	len = strlen(cwd) + strlen(path) + 2;
	abs = hv_xmalloc(len);
	snprintf(abs, len, "%s/%s", cwd, path);
	list[(*n)++] = abs;
	return 0;
}

int
hv_sandbox_read(struct hv_sandbox *sb, const char *path)
{
	return add_path(sb->read, &sb->nread, path);
}

int
hv_sandbox_write(struct hv_sandbox *sb, const char *path)
{
	return add_path(sb->write, &sb->nwrite, path);
}

int
hv_sandbox_write_dir(struct hv_sandbox *sb, const char *dir)
{
	if (dir == NULL || *dir == '\0')
		return 0;
	/* A directory it cannot make the tool cannot make either: it says why. */
	(void)hv_mkdirs(dir, NULL);
	return hv_sandbox_write(sb, dir);
}

int
hv_sandbox_write_parent(struct hv_sandbox *sb, const char *file)
{
	char *dir, *slash;
	int r;

	if (file == NULL || *file == '\0')
		return 0;
	dir = hv_xstrdup(file);
	if ((slash = strrchr(dir, '/')) == NULL)
		return free(dir), hv_sandbox_write_dir(sb, ".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	r = hv_sandbox_write_dir(sb, dir);
	free(dir);
	return r;
}

static int
add_port(struct hv_sandbox *sb, unsigned port)
{
	size_t i;

	for (i = 0; i < sb->nconnect; i++)
		if (sb->connect[i] == port)
			return 0;
	if (sb->nconnect == HV_SANDBOX_PORTS)
		return HV_EINTERNAL;
	sb->connect[sb->nconnect++] = (unsigned short)port;
	return 0;
}

int
hv_sandbox_connect_url(struct hv_sandbox *sb, const char *url)
{
	const char *h, *end, *colon = NULL;
	unsigned long port;
	char *p, host[256];
	size_t n;
	int r;

	if (url == NULL || (h = strstr(url, "://")) == NULL)
		return 0;
	sb->flags |= HV_SANDBOX_NET;
	port = strncmp(url, "https", 5) == 0 || strncmp(url, "s3", 2) == 0 ? 443 : 80;
	h += 3;
	end = h + strcspn(h, "/?#");
	/* A userinfo is refused by the URL check; here only the port counts. */
	for (const char *s = h; s < end; s++)
		if (*s == '@')
			h = s + 1;
	if (*h == '[')
		colon = memchr(h, ']', (size_t)(end - h));
	colon = memchr(colon ? colon : h, ':', (size_t)(end - (colon ? colon : h)));
	if (colon != NULL && colon + 1 < end) {
		port = strtoul(colon + 1, &p, 10);
		if (p != end || port == 0 || port > 65535)
			return 0;
	}
	n = (size_t)((colon ? colon : end) - h);
	if (n >= sizeof host)
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if ((r = add_port(sb, (unsigned)port)) < 0)
		return r;
	/* A name is resolved; a truncated UDP answer is asked again over TCP. */
	if (host[0] != '[' && strspn(host, "0123456789.") != n)
		return add_port(sb, 53);
	return 0;
}

/* ---- Landlock ---- */

static int
landlock_abi(void)
{
	long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

static uint64_t
fs_handled(int abi)
{
	uint64_t fs = (1ULL << 13) - 1;	/* ABI 1: execute to make_sym */

	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= 1ULL << 15;	/* IOCTL_DEV: no device ioctl but on fds held */
	return fs;
}

static int
ll_path(int ruleset, const char *path, uint64_t want, uint64_t handled, struct hv_err *e)
{
	struct ll_path_beneath_attr pb;
	struct stat st;
	int fd, r = 0;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return 0;	/* not there: nothing to allow */
	pb.allowed_access = want & handled;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LL_FILE_RIGHTS;
	pb.parent_fd = fd;
	if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
		r = hv_err_errno(e, HV_EINTERNAL, errno, "sandbox: landlock rule for '%s'",
		    path);
	close(fd);
	return r;
}

static int
ll_port(int ruleset, uint64_t access, unsigned port, struct hv_err *e)
{
	struct ll_net_port_attr np = { access, port };

	if (syscall(__NR_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &np, 0) < 0)
		return hv_err_errno(e, HV_EINTERNAL, errno, "sandbox: landlock rule for "
		    "port %u", port);
	return 0;
}

static int
ll_rules(int ruleset, const struct hv_sandbox *sb, int abi, uint64_t fs, struct hv_err *e)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < sb->nread; i++)
		r = ll_path(ruleset, sb->read[i], LL_READ, fs, e);
	for (i = 0; r == 0 && i < sb->nwrite; i++)
		r = ll_path(ruleset, sb->write[i], LL_WRITE, fs, e);
	if (r == 0 && SB_SANITIZED)
		r = ll_path(ruleset, "/proc", LL_READ, fs, e);
	if (abi < 4)
		return r;
	for (i = 0; r == 0 && i < sb->nconnect; i++)
		r = ll_port(ruleset, LL_NET_CONNECT_TCP, sb->connect[i], e);
	/* Port 0: the ephemeral port the kernel picks for the login listener. */
	if (r == 0 && (sb->flags & HV_SANDBOX_BIND))
		r = ll_port(ruleset, LL_NET_BIND_TCP, 0, e);
	return r;
}

static int
landlock_enter(const struct hv_sandbox *sb, int abi, struct hv_err *e)
{
	struct ll_ruleset_attr attr = { 0, 0, 0 };
	int ruleset, r;

	attr.handled_access_fs = fs_handled(abi);
	if (abi >= 4)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0)
		return hv_err_errno(e, HV_EUNAVAIL, errno, "sandbox: landlock ruleset");
	r = ll_rules(ruleset, sb, abi, attr.handled_access_fs, e);
	if (r == 0 && syscall(__NR_landlock_restrict_self, ruleset, 0) < 0)
		r = hv_err_errno(e, HV_EUNAVAIL, errno, "sandbox: landlock_restrict_self");
	close(ruleset);
	return r;
}

/* ---- seccomp ---- */

#define PROG_MAX 1024

struct prog {
	struct sock_filter f[PROG_MAX];
	unsigned short n;
	uint32_t deny;		/* what a call off the list gets */
};

static void
emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n < PROG_MAX)
		p->f[p->n] = (struct sock_filter){ code, jt, jf, k };
	p->n++;
}

static void
allow(struct prog *p, long nr)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

static void
refuse(struct prog *p, long nr, int err)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (uint32_t)err, 0, 0);
}

/*
 * nr is allowed when its argument arg (the low 32 bits: every value
 * checked here is an int) is one of vals; other values get err.  All
 * paths of the block return, so the accumulator needs no reloading.
 */
static void
allow_arg(struct prog *p, long nr, int arg, const uint32_t *vals, size_t n, int err)
{
	size_t i;

	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, (uint8_t)(2 * n + 2));
	emit(p, BPF_LD | BPF_W | BPF_ABS,
	    (uint32_t)offsetof(struct seccomp_data, args[arg]), 0, 0);
	for (i = 0; i < n; i++) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, vals[i], 0, 1);
		emit(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	}
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (uint32_t)err, 0, 0);
}

/* What every tool does: files, memory, time, signals, processes it forks
 * (the keyring probe), the kernel keyring.  No execve: nothing a tool runs
 * is started once the filter is in. */
static const long base_calls[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64,
	SYS_lseek, SYS_close, SYS_openat, SYS_fstat, SYS_newfstatat, SYS_statx,
	SYS_statfs, SYS_fstatfs, SYS_faccessat, SYS_readlinkat, SYS_getdents64,
	SYS_getcwd, SYS_fcntl, SYS_flock, SYS_fsync, SYS_fdatasync, SYS_ftruncate,
	SYS_fallocate, SYS_renameat, SYS_renameat2, SYS_linkat, SYS_unlinkat,
	SYS_mkdirat, SYS_fchmod, SYS_fchmodat, SYS_fchown, SYS_umask, SYS_utimensat,
	SYS_fadvise64, SYS_msync,
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_brk,
	SYS_mlock, SYS_munlock, SYS_mlockall, SYS_munlockall, SYS_mincore,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack,
	SYS_rt_sigtimedwait, SYS_restart_syscall,
	SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime, SYS_clock_getres,
	SYS_gettimeofday, SYS_setitimer, SYS_getitimer,
	SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid, SYS_getgid,
	SYS_getegid, SYS_getgroups, SYS_getrlimit, SYS_prlimit64, SYS_getrusage,
	SYS_uname, SYS_sysinfo, SYS_sched_getaffinity, SYS_sched_yield, SYS_getcpu,
	SYS_futex, SYS_set_robust_list, SYS_get_robust_list, SYS_rseq,
	SYS_set_tid_address, SYS_exit, SYS_exit_group, SYS_wait4, SYS_waitid,
	SYS_kill, SYS_tgkill, SYS_tkill, SYS_clone, SYS_getrandom, SYS_membarrier,
	SYS_pipe2, SYS_dup, SYS_dup3, SYS_ppoll, SYS_pselect6, SYS_epoll_create1,
	SYS_epoll_ctl, SYS_epoll_pwait, SYS_eventfd2,
	SYS_keyctl, SYS_add_key, SYS_request_key, SYS_memfd_create,
#ifdef SYS_open	/* the calls aarch64 never had */
	SYS_open, SYS_stat, SYS_lstat, SYS_access, SYS_readlink, SYS_rename,
	SYS_link, SYS_unlink, SYS_mkdir, SYS_rmdir, SYS_chmod, SYS_pipe, SYS_dup2,
	SYS_poll, SYS_select, SYS_epoll_wait, SYS_time, SYS_alarm, SYS_getpgrp, SYS_getdents,
#endif
#ifdef SYS_faccessat2
	SYS_faccessat2,
#endif
#ifdef SYS_close_range
	SYS_close_range,
#endif
};

/* Sockets once made: the network tools' (curl, glibc's resolver). */
static const long net_calls[] = {
	SYS_connect, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg,
	SYS_recvmmsg, SYS_getsockname, SYS_getpeername, SYS_setsockopt, SYS_getsockopt,
	SYS_shutdown, SYS_socketpair,
};

static const long bind_calls[] = { SYS_bind, SYS_listen, SYS_accept, SYS_accept4 };

#if SB_SANITIZED
static const long sanitizer_calls[] = { SYS_ptrace, SYS_prctl, SYS_sched_getparam,
	SYS_sched_getscheduler, SYS_process_vm_readv };
#endif

static void
allow_list(struct prog *p, const long *calls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		allow(p, calls[i]);
}

static void
seccomp_calls(struct prog *p, unsigned flags)
{
	static const uint32_t ioctls[] = { TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO,
		FIOCLEX, FIONCLEX };
	static const uint32_t prctls[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE,
		0x53564d41 /* PR_SET_VMA: glibc names its mappings */ };
	static const uint32_t families[] = { AF_INET, AF_INET6 };

	allow_list(p, base_calls, sizeof base_calls / sizeof base_calls[0]);
#if SB_SANITIZED
	allow_list(p, sanitizer_calls, sizeof sanitizer_calls / sizeof sanitizer_calls[0]);
#endif
	/* Terminal questions only: no TIOCSTI into the shell that ran us. */
	allow_arg(p, SYS_ioctl, 1, ioctls, sizeof ioctls / sizeof ioctls[0], ENOTTY);
	allow_arg(p, SYS_prctl, 0, prctls, sizeof prctls / sizeof prctls[0], EPERM);
	/* glibc >= 2.34 tries clone3 first and falls back to clone on ENOSYS;
	 * clone3 passes its flags in memory the filter cannot read. */
	refuse(p, SYS_clone3, ENOSYS);
#ifdef SYS_fork
	/* glibc forks with clone; fork(2) itself is the sanitizers' way to
	 * start llvm-symbolizer, which could not run here anyway: they fall
	 * back to their own symbolizer. */
	refuse(p, SYS_fork, ENOSYS);
#endif
	if (flags & HV_SANDBOX_NET) {
		/* IP only: no UNIX sockets to local daemons, no netlink (root could
		 * change routes with it); glibc copes with both refused. */
		allow_arg(p, SYS_socket, 0, families, 2, EACCES);
		allow_list(p, net_calls, sizeof net_calls / sizeof net_calls[0]);
	} else {
		refuse(p, SYS_socket, EACCES);
	}
	if (flags & HV_SANDBOX_BIND)
		allow_list(p, bind_calls, sizeof bind_calls / sizeof bind_calls[0]);
}

/* HV_SANDBOX_TRAP=1: name the call on stderr, make it fail with ENOSYS,
 * go on; HV_SANDBOX_TRAP=/PATH: append the line to that file instead, to
 * collect what a whole test suite misses. */
static int trap_fd = STDERR_FILENO;

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof msg, "%s: sandbox: system call %d refused\n",
	    hv_progname ? hv_progname : "hv", si->si_syscall);
	if (n > 0)
		(void)!write(trap_fd, msg, (size_t)n);
#if defined(__x86_64__)
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#else
	(void)uc;
	_exit(70);
#endif
}

static int
seccomp_enter(const struct hv_sandbox *sb, struct hv_err *e)
{
#ifdef SB_AUDIT_ARCH
	static struct prog p;
	struct sock_fprog fp;
	struct sigaction sa;
	const char *trap = getenv("HV_SANDBOX_TRAP");

	memset(&p, 0, sizeof p);
	p.deny = SECCOMP_RET_KILL_PROCESS;
	if (trap != NULL && (strcmp(trap, "1") == 0 || trap[0] == '/')) {
		p.deny = SECCOMP_RET_TRAP;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
	}
	/* Another architecture's numbers mean other calls: kill. */
	emit(&p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, SB_AUDIT_ARCH, 1, 0);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
#if defined(__x86_64__)
	/* The x32 ABI shares the architecture value: its calls are killed. */
	emit(&p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
	emit(&p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
#endif
	seccomp_calls(&p, sb->flags);
	emit(&p, BPF_RET | BPF_K, p.deny, 0, 0);
	if (p.n > PROG_MAX)
		return hv_err_set(e, HV_EINTERNAL, "sandbox: seccomp filter too long");
	fp.len = p.n;
	fp.filter = p.f;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp) != 0)
		return hv_err_errno(e, HV_EUNAVAIL, errno, "sandbox: seccomp filter");
	return 0;
#else
	(void)sb;
	return hv_err_set(e, HV_EUNAVAIL, "sandbox: no seccomp filter for this architecture");
#endif
}

static int
seccomp_works(void)
{
#ifdef SB_AUDIT_ARCH
	uint32_t action = SECCOMP_RET_KILL_PROCESS;

	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
#else
	return 0;
#endif
}

/* Asked once: inside the sandbox the filter refuses the questions. */
void
hv_sandbox_probe(int *landlock, int *seccomp)
{
	static int asked, abi, sec;

	if (!asked) {
		abi = landlock_abi();
		sec = seccomp_works();
		asked = 1;
	}
	*landlock = abi;
	*seccomp = sec;
}

const char *
hv_sandbox_status(void)
{
	return status_line;
}

/* ---- the test hook ---- */

static const char *
probe_connect(const char *where)
{
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strrchr(where, ':');
	int fd, r;

	if (colon == NULL || (size_t)(colon - where) >= sizeof host)
		return "bad probe";
	memcpy(host, where, (size_t)(colon - where));
	host[colon - where] = '\0';
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return "bad probe";
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return strerror(errno);
	r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return r == 0 ? "allowed" : strerror(errno);
}

static void
probe(int sandboxed)
{
	const char *p = getenv("HV_TEST_SANDBOX_PROBE"), *what = NULL;
	int fd;

	if (p == NULL)
		return;
	if (strncmp(p, "open:", 5) == 0) {
		fd = open(p + 5, O_RDONLY | O_CLOEXEC);
		what = fd >= 0 ? "allowed" : strerror(errno);
		if (fd >= 0)
			close(fd);
	} else if (strncmp(p, "write:", 6) == 0) {
		fd = open(p + 6, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		what = fd >= 0 ? "allowed" : strerror(errno);
		if (fd >= 0)
			close(fd);
	} else if (strncmp(p, "connect:", 8) == 0) {
		what = probe_connect(p + 8);
	} else if (strncmp(p, "exec:", 5) == 0 && !sandboxed) {
		what = "not tried outside the sandbox";
	} else if (strncmp(p, "exec:", 5) == 0) {
		execl(p + 5, p + 5, (char *)NULL);
		what = strerror(errno);
	}
	hv_warnx("sandbox probe %s: %s", p, what ? what : "unknown probe");
}

/* ---- entering ---- */

static int
required_missing(int abi, int sec, struct hv_err *e)
{
	if (abi < 4)
		return hv_err_set(e, HV_EUNAVAIL, "sandbox required, but this kernel has %s "
		    "(Landlock ABI 4, Linux 6.7, is needed for its TCP rules): set [sandbox] "
		    "mode = auto to run without", abi ? "an older Landlock" : "no Landlock");
	if (!sec)
		return hv_err_set(e, HV_EUNAVAIL, "sandbox required, but this kernel loads no "
		    "seccomp filter: set [sandbox] mode = auto to run without");
	return 0;
}

int
hv_sandbox_enter(const struct hv_sandbox *sb, struct hv_err *e)
{
	const char *trap;
	int abi, sec, r, n;

	if (sb->mode == HV_SANDBOX_OFF) {
		probe(0);	/* the tests' baseline */
		return 0;
	}
	hv_sandbox_probe(&abi, &sec);
	if (sb->mode == HV_SANDBOX_REQUIRED && (r = required_missing(abi, sec, e)) < 0)
		return r;
	/* Both need it, and it keeps a set-uid program from undoing them. */
	trap = getenv("HV_SANDBOX_TRAP");
	if (trap != NULL && trap[0] == '/' && trap_fd == STDERR_FILENO)
		trap_fd = open(trap, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return hv_err_errno(e, HV_EUNAVAIL, errno, "sandbox: no_new_privs");
	if (abi > 0 && (r = landlock_enter(sb, abi, e)) < 0)
		return r;
	if (sec && (r = seccomp_enter(sb, e)) < 0)
		return r;
	n = 0;
	if (abi > 0)
		n = snprintf(status_line, sizeof status_line, "landlock abi %d (files%s), ",
		    abi, abi >= 4 ? ", tcp" : "");
	snprintf(status_line + n, sizeof status_line - (size_t)n, "%sno_new_privs",
	    sec ? "seccomp, " : "");
	probe(1);
	return 0;
}
