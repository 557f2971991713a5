/* sandbox: modes, the ports of endpoint URLs, policies per tool and
 * command, and, in children, what the kernel then refuses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"
#include "tap.h"

static int
has_port(const struct hv_sandbox *sb, unsigned port)
{
	size_t i;

	for (i = 0; i < sb->nconnect; i++)
		if (sb->connect[i] == port)
			return 1;
	return 0;
}

static void
test_modes(void)
{
	enum hv_sandbox_mode m;

	is_int(hv_sandbox_mode_parse("auto", &m), 0, "auto parses");
	is_int(m, HV_SANDBOX_AUTO, "as auto");
	is_int(hv_sandbox_mode_parse("required", &m), 0, "required parses");
	is_int(m, HV_SANDBOX_REQUIRED, "as required");
	is_int(hv_sandbox_mode_parse("off", &m), 0, "off parses");
	is_int(m, HV_SANDBOX_OFF, "as off");
	is_int(hv_sandbox_mode_parse("Auto", &m), HV_ECONFIG, "nothing else");
}

static void
test_urls(void)
{
	struct hv_sandbox sb;

	hv_sandbox_init(&sb, HV_SANDBOX_AUTO, "t");
	hv_sandbox_connect_url(&sb, "https://gmail.googleapis.com");
	ok(has_port(&sb, 443) && has_port(&sb, 53) && sb.nconnect == 2,
	    "a name: 443, and 53 for the resolver's TCP retry");
	ok(sb.flags & HV_SANDBOX_NET, "and the network");
	hv_sandbox_init(&sb, HV_SANDBOX_AUTO, "t");
	hv_sandbox_connect_url(&sb, "https://127.0.0.1:8443/x");
	ok(has_port(&sb, 8443) && sb.nconnect == 1, "an address and a port: that port only");
	hv_sandbox_init(&sb, HV_SANDBOX_AUTO, "t");
	hv_sandbox_connect_url(&sb, "http://[::1]:9000");
	ok(has_port(&sb, 9000) && sb.nconnect == 1, "an IPv6 literal and its port");
	hv_sandbox_init(&sb, HV_SANDBOX_AUTO, "t");
	hv_sandbox_connect_url(&sb, "http://localhost:x@192.0.2.2:18282/");
	ok(has_port(&sb, 18282) && !has_port(&sb, 80),
	    "the port after a userinfo is the one curl would reach");
	hv_sandbox_connect_url(&sb, NULL);
	hv_sandbox_connect_url(&sb, "not a url");
	ok(sb.nconnect == 1, "no URL, nothing more");
}

static struct hv_config *
config(const char *dir)
{
	static struct hv_config c;
	static char text[2048];
	struct hv_err e = { 0 };

	snprintf(text, sizeof text, "[paths]\nstate = %s/state/hv.db\nspool = %s/spool\n"
	    "audit = %s/state/audit.log\n[keys]\nmaster = %s/master.key\n[google]\n"
	    "api = https://127.0.0.1:7443\noauth = https://127.0.0.1:7443\n"
	    "accounts = https://127.0.0.1:7443\ndirectory = https://127.0.0.1:7443\n"
	    "[sandbox]\nmode = required\n", dir, dir, dir, dir);
	if (hv_config_parse(&c, "t.conf", text, strlen(text), &e) < 0) {
		printf("# %s\n", e.msg);
		return NULL;
	}
	return &c;
}

static int
listed(char *const *list, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], path) == 0)
			return 1;
	return 0;
}

static void
test_policies(const char *dir)
{
	struct hv_config *c = config(dir);
	struct hv_sandbox sb;
	char state[512], spool[512], key[512];

	if (!ok(c != NULL, "a configuration"))
		return;
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(key, sizeof key, "%s/master.key", dir);
	hv_sandbox_policy(&sb, c, "hv-fetch", NULL);
	is_int(sb.mode, HV_SANDBOX_REQUIRED, "the mode of the configuration");
	ok(listed(sb.write, sb.nwrite, state) && listed(sb.write, sb.nwrite, spool),
	    "hv-fetch writes the state and the spool");
	ok(listed(sb.read, sb.nread, key), "reads the master key");
	ok(has_port(&sb, 7443) && sb.nconnect == 1 && !(sb.flags & HV_SANDBOX_BIND),
	    "connects to the endpoints' port, binds nothing");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-purge", NULL);
	ok(!(sb.flags & HV_SANDBOX_NET) && sb.nconnect == 0, "hv-purge: no network");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-auth", "login");
	ok((sb.flags & HV_SANDBOX_BIND) && has_port(&sb, 7443), "hv-auth login: binds too");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-auth", "list");
	ok(!(sb.flags & HV_SANDBOX_NET), "hv-auth list: no network");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-audit", "query");
	ok(sb.nwrite == 1 && !listed(sb.read, sb.nread, key) && listed(sb.read, sb.nread, state),
	    "hv-audit query: the trail read, no key, nothing written but /dev/null");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-audit", "watch");
	is_int(sb.mode, HV_SANDBOX_OFF, "hv-audit watch: none, its rules run commands");
	hv_sandbox_release(&sb);
	hv_sandbox_policy(&sb, c, "hv-doctor", "config");
	ok(sb.nconnect == 0 && !listed(sb.read, sb.nread, key), "hv-doctor config: the file only");
	hv_sandbox_release(&sb);
	hv_config_free(c);
}

/* In a child: enter sb, then open path; the child's exit says how it went. */
static int
child_open(const struct hv_sandbox *sb, const char *path)
{
	struct hv_err e = { 0 };
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		if (hv_sandbox_enter(sb, &e) < 0)
			_exit(2);
		fd = open(path, O_RDONLY);
		_exit(fd >= 0 ? 0 : errno == EACCES ? 1 : 3);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
child_socket(const struct hv_sandbox *sb, int family)
{
	struct hv_err e = { 0 };
	pid_t pid = fork();
	int st, fd;

	if (pid == 0) {
		if (hv_sandbox_enter(sb, &e) < 0)
			_exit(2);
		fd = socket(family, SOCK_STREAM, 0);
		_exit(fd >= 0 ? 0 : errno == EACCES ? 1 : 3);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
child_exec(const struct hv_sandbox *sb)
{
	struct hv_err e = { 0 };
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (hv_sandbox_enter(sb, &e) < 0)
			_exit(2);
		execl("/bin/true", "true", (char *)NULL);
		_exit(3);
	}
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) ? WTERMSIG(st) : -WEXITSTATUS(st);
}

static void
test_kernel(const char *dir)
{
	struct hv_sandbox sb;
	char indir[512], inside[600], outside[512];
	int abi, sec, fd;

	hv_sandbox_probe(&abi, &sec);
	if (abi < 4 || !sec) {
		ok(1, "# SKIP this kernel has no Landlock ABI 4 or no seccomp");
		return;
	}
	snprintf(indir, sizeof indir, "%s/in", dir);
	snprintf(inside, sizeof inside, "%s/f", indir);
	snprintf(outside, sizeof outside, "%s/out", dir);
	mkdir(indir, 0700);
	if ((fd = open(inside, O_CREAT | O_WRONLY, 0600)) >= 0)
		close(fd);
	if ((fd = open(outside, O_CREAT | O_WRONLY, 0600)) >= 0)
		close(fd);
	hv_sandbox_init(&sb, HV_SANDBOX_REQUIRED, "t");
	hv_sandbox_read(&sb, indir);
	is_int(child_open(&sb, inside), 0, "a file under a read path opens");
	is_int(child_open(&sb, outside), 1, "one outside is EACCES");
	is_int(child_open(&sb, "/etc/passwd"), 1, "so is /etc/passwd");
	is_int(child_socket(&sb, AF_INET), 1, "no network: socket is EACCES");
	sb.flags |= HV_SANDBOX_NET;
	is_int(child_socket(&sb, AF_INET), 0, "with it, an IPv4 socket");
	is_int(child_socket(&sb, AF_UNIX), 1, "but never a UNIX one");
	is_int(child_exec(&sb), SIGSYS, "exec kills with SIGSYS");
	hv_sandbox_release(&sb);
}

int
main(void)
{
	char dir[] = "/tmp/hv-sandbox-t.XXXXXX";
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_modes();
	test_urls();
	test_policies(dir);
	test_kernel(dir);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "cleaned up");
	return tap_done();
}
