/*
 * hv-auth: sign-in, sealed tokens, service accounts, revocation, rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "directory.h"
#include "err.h"
#include "json.h"
#include "msg.h"
#include "sandbox.h"
#include "store.h"
#include "banned.h"

extern char **environ;

static const char usage_text[] =
    "usage: hv-auth init\n"
    "       hv-auth login [--no-browser] [-s scopes] [-t seconds] account\n"
    "       hv-auth service-account [-D domain] keyfile.json\n"
    "       hv-auth token account\n"
    "       hv-auth list [-j]\n"
    "       hv-auth revoke account\n"
    "       hv-auth directory [--as account] --domain domain | --group group\n"
    "       hv-auth rotate-key\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

struct opts {
	const char *config, *scopes, *domain, *group, *as;
	int no_browser, json, timeout;
};

/* Open a browser where there is a desktop; the URL is printed either way. */
static void
try_browser(const char *url)
{
	char *argv[] = { (char *)"xdg-open", (char *)url, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) == 0)
		waitpid(pid, NULL, 0);
	posix_spawn_file_actions_destroy(&fa);
}

struct show {
	const char *account;
	int no_browser;
};

static void
show_url(const char *url, void *arg)
{
	const struct show *s = arg;

	fprintf(stderr, "%s: sign in as %s at:\n\n%s\n\n", hv_progname, s->account, url);
	if (s->no_browser)
		fprintf(stderr, "%s: then paste here the address the browser ends on "
		    "(http://127.0.0.1:...):\n", hv_progname);
	else
		try_browser(url);
	fflush(stderr);
}

static int
cmd_login(struct hv_auth *a, const struct opts *o,
    const char *account, struct hv_err *e)
{
	struct hv_buf scopes = HV_BUF_INIT(4096);
	struct show s = { account, o->no_browser };
	int r;

	if ((r = hv_auth_scopes(a, account, o->scopes, &scopes, e)) == 0)
		r = hv_auth_login(a, account, scopes.data, show_url, &s,
		    o->no_browser ? STDIN_FILENO : -1, o->timeout, e);
	if (r == 0)
		hv_info(0, "%s: signed in with %s", account, scopes.data);
	hv_buf_release(&scopes);
	return r;
}

static int
cmd_token(struct hv_auth *a, const char *account, struct hv_err *e)
{
	struct hv_buf token;
	int r;

	hv_buf_init_secret(&token, 8192);
	/*
	 * Not an audit event of its own: every cron job asks, and what the
	 * token is then used for is on the record (fetch, import, refresh).
	 */
	r = hv_auth_token(a, account, &token, e);
	if (r == 0)
		printf("%s\n", token.data);
	fflush(stdout);
	hv_buf_release(&token);
	return r;
}

struct lister {
	struct hv_store *store;
	int json;
};

static int
list_one(const struct hv_account *acct, void *arg)
{
	const struct lister *l = arg;
	struct hv_buf blob = HV_BUF_INIT(64 * 1024), line = HV_BUF_INIT(4096);
	struct hv_json *j;
	long long expires = 0;
	const char *kind = acct->kind == HV_ACCOUNT_SERVICE ? "delegated" : "user";

	/* The expiry is not secret; the sealed blob is not opened. */
	(void)hv_store_secret_get(l->store, acct->email, "access_token", &blob, &expires, NULL);
	if (l->json) {
		j = hv_json_object();
		hv_json_set_str(j, "account", acct->email);
		hv_json_set_str(j, "kind", kind);
		hv_json_set_str(j, "scopes", acct->scopes);
		hv_json_set_bool(j, "revoked", acct->revoked);
		hv_json_set_int(j, "token_expires", expires);
		hv_json_dump(j, &line);
		hv_json_free(j);
		puts(line.data);
	} else {
		printf("%-32s %-9s %-8s %-8s %s\n", acct->email, kind,
		    acct->revoked ? "revoked" : "active",
		    expires > hv_now() ? "cached" : "-", acct->scopes);
	}
	hv_buf_release(&blob);
	hv_buf_release(&line);
	return 0;
}

/* A service account: the domain it reaches by delegation, never its key. */
static int
list_service(const char *domain, const char *client_email, void *arg)
{
	const struct lister *l = arg;
	struct hv_buf line = HV_BUF_INIT(4096);
	struct hv_json *j;

	if (!l->json) {
		printf("%-32s %-9s %-8s %-8s domain %s\n", client_email, "service", "active",
		    "-", domain);
		return 0;
	}
	j = hv_json_object();
	hv_json_set_str(j, "account", client_email);
	hv_json_set_str(j, "kind", "service");
	hv_json_set_str(j, "domain", domain);
	hv_json_dump(j, &line);
	hv_json_free(j);
	puts(line.data);
	hv_buf_release(&line);
	return 0;
}

static int
cmd_list(struct hv_auth *a, const struct opts *o, struct hv_err *e)
{
	struct lister l = { hv_auth_store(a), o->json || !isatty(STDOUT_FILENO) };
	int r;

	if (!l.json)
		printf("%-32s %-9s %-8s %-8s %s\n", "ACCOUNT", "KIND", "STATE", "TOKEN",
		    "SCOPES OR DOMAIN");
	if ((r = hv_store_domain_each(hv_auth_store(a), list_service, &l, e)) < 0)
		return r;
	return hv_store_account_each(hv_auth_store(a), list_one, &l, e);
}

static int
cmd_service_account(struct hv_auth *a, const struct opts *o, const char *key,
    struct hv_err *e)
{
	struct hv_buf who = HV_BUF_INIT(1024);
	const char *domain = NULL;
	int r;

	if ((r = hv_auth_service_account(a, key, o->domain, &domain, &who, e)) == 0)
		hv_info(0, "service account %s for %s stored", who.data, domain);
	hv_buf_release(&who);
	return r;
}

static int
print_entry(const struct hv_directory_entry *m, void *arg)
{
	struct hv_buf line = HV_BUF_INIT(1024);
	struct hv_json *j = hv_json_object();

	(void)arg;
	if (m->email != NULL)
		hv_json_set_str(j, "email", m->email);
	else
		hv_json_set_str(j, "id", m->id);
	hv_json_set_str(j, "type", m->type);
	if (*m->status)
		hv_json_set_str(j, "status", m->status);
	hv_json_dump(j, &line);
	puts(line.data);
	hv_json_free(j);
	hv_buf_release(&line);
	return 0;
}

static int
cmd_directory(struct hv_auth *a, const struct hv_config *c, const struct opts *o,
    struct hv_err *e)
{
	struct hv_buf token;
	struct hv_http *h = NULL;
	int r;

	if ((o->domain == NULL) == (o->group == NULL) || o->as == NULL)
		return hv_err_set(e, HV_EUSAGE, "directory needs --as and one of --domain, "
		    "--group");
	hv_buf_init_secret(&token, 8192);
	r = hv_auth_token_scoped(a, o->as, HV_SCOPE_DIRECTORY, &token, e);
	if (r == HV_ENOINPUT)
		r = hv_auth_token(a, o->as, &token, e);
	if (r == 0)
		r = hv_http_new(&h, c->google.ca_file, 60, e);
	if (r == 0)
		r = hv_directory_list(h, c->google.directory, token.data, o->domain, o->group,
		    print_entry, NULL, e);
	hv_http_free(h);
	hv_buf_release(&token);
	return r;
}

static int
run(const char *cmd, int argc, char **argv, const struct opts *o, struct hv_err *e)
{
	struct hv_config c;
	struct hv_auth *a = NULL;
	int r, created = 0, count = 0;
	int want = strcmp(cmd, "init") == 0 || strcmp(cmd, "list") == 0 ||
	    strcmp(cmd, "rotate-key") == 0 || strcmp(cmd, "directory") == 0 ? 0 : 1;

	if (argc != want)
		return hv_err_set(e, HV_EUSAGE, "%s takes %s", cmd, want ? "one operand" :
		    "no operand");
	if ((r = hv_config_load(&c, o->config, e)) < 0)
		return r;
	if ((r = hv_sandbox_apply(&c, "hv-auth", cmd, strcmp(cmd, "service-account") == 0 ?
	    (const char *const *)argv : NULL, e)) < 0)
		goto out;
	if (strcmp(cmd, "init") == 0) {
		if ((r = hv_auth_init(&c, &created, e)) == 0)
			hv_info(0, "%s master key '%s'; state database '%s' ready",
			    created ? "created" : "using", c.keys.master, c.paths.state);
		goto out;
	}
	if ((r = hv_auth_open_tokens(&a, &c, e)) < 0)
		goto out;
	if (strcmp(cmd, "login") == 0)
		r = cmd_login(a, o, argv[0], e);
	else if (strcmp(cmd, "service-account") == 0)
		r = cmd_service_account(a, o, argv[0], e);
	else if (strcmp(cmd, "token") == 0)
		r = cmd_token(a, argv[0], e);
	else if (strcmp(cmd, "list") == 0)
		r = cmd_list(a, o, e);
	else if (strcmp(cmd, "revoke") == 0 && (r = hv_auth_revoke(a, argv[0], e)) == 0)
		hv_info(0, "%s: revoked at Google, local secrets erased", argv[0]);
	else if (strcmp(cmd, "directory") == 0)
		r = cmd_directory(a, &c, o, e);
	else if (strcmp(cmd, "rotate-key") == 0 && (r = hv_auth_rotate_key(a, &count, e)) == 0)
		hv_info(0, "re-sealed %d secrets under a new master key in '%s'", count,
		    c.keys.master);
out:
	hv_auth_close(a);
	hv_config_free(&c);
	return r;
}

int
main(int argc, char **argv)
{
	static const char *const cmds[] = { "init", "login", "service-account", "token",
		"list", "revoke", "directory", "rotate-key", NULL };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-browser", no_argument, NULL, 'n' },
		{ "domain", required_argument, NULL, 'D' },
		{ "group", required_argument, NULL, 'G' },
		{ "as", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct hv_err e = { 0 };
	const char *cmd = NULL;
	char *end;
	int c, r;

	hv_init(argv[0]);
	o.timeout = 300;
	/* Permuting: options before or after the command (cli.h). */
	while ((c = getopt_long(argc, argv, "c:D:hjqs:t:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'A': o.as = optarg; break;
		case 'c': o.config = optarg; break;
		case 'D': o.domain = optarg; break;
		case 'G': o.group = optarg; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'j': o.json = 1; break;
		case 'n': o.no_browser = 1; break;
		case 'q': hv_verbosity--; break;
		case 's': o.scopes = optarg; break;
		case 't':
			o.timeout = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o.timeout <= 0)
				return hv_usage_error(usage_text, "bad timeout '%s': want "
				    "seconds", optarg);
			break;
		case 'v': hv_verbosity++; break;
		case 'V': return puts("hv-auth " HV_VERSION), 0;
		default: return hv_usage(usage_text, 64);
		}
	}
	if (hv_cli_command(cmds, optind < argc ? argv[optind] : NULL, 0, &e) < 0)
		return hv_usage_error(usage_text, "%s", e.msg);
	cmd = argv[optind++];
	r = run(cmd, argc - optind, argv + optind, &o, &e);
	if (r == HV_EUSAGE)
		return hv_usage_error(usage_text, "%s", e.msg);
	return hv_stdout_close(hv_report(r, &e));
}
