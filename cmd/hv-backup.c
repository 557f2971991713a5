/*
 * hv-backup: encrypted backups of hv's state, to a directory or S3.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "msg.h"
#include "sandbox.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-backup create\n"
    "       hv-backup list [-j]\n"
    "       hv-backup verify -i identity [-p pubkey] [name]\n"
    "       hv-backup restore -i identity [-p pubkey] [--to path] [--force] name\n"
    "       hv-backup prune\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

struct opts {
	const char *config, *identity, *to, *pubkey;
	int force, json;
};

struct out {
	int json;	/* JSON Lines, else a table */
	int header;	/* the table's header is out */
	const char *cmd;
	char said[HV_ERR_MSG];	/* the first failure printed, not to print again */
};

static void
utc(char out[21], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 21, "?");
}

static void
print_json(const struct hv_backup_entry *b, const char *cmd)
{
	struct hv_buf line = HV_BUF_INIT(8192);
	struct hv_json *j = hv_json_object();
	char when[21];

	hv_json_set_str(j, "name", b->name);
	hv_json_set_str(j, "target", b->target);
	utc(when, b->time);
	hv_json_set_str(j, "time", when);
	if (b->size >= 0)
		hv_json_set_int(j, "size", b->size);
	if (b->sha256 != NULL)
		hv_json_set_str(j, "sha256", b->sha256);
	if (b->schema > 0)
		hv_json_set_int(j, "schema", b->schema);
	if (b->action != NULL)
		hv_json_set_str(j, "action", b->action);
	if (strcmp(cmd, "verify") == 0)
		hv_json_set_bool(j, "ok", 1);
	hv_json_dump(j, &line);
	hv_json_free(j);
	puts(line.data);
	hv_buf_release(&line);
}

static int
on_entry(const struct hv_backup_entry *b, void *arg)
{
	struct out *o = arg;

	if (b->step != NULL) {
		hv_progress("%s%s%s: %s", b->name, b->target ? " on " : "",
		    b->target ? b->target : "", b->step);
		return 0;
	}
	hv_progress_end();
	if (b->status < 0) {
		hv_warnx("%s", b->error ? b->error : b->target);
		if (o->said[0] == '\0')
			snprintf(o->said, sizeof o->said, "%s", b->error ? b->error : b->target);
		return 0;
	}
	if (o->json || b->name == NULL) {
		if (b->name != NULL)
			print_json(b, o->cmd);
		return 0;
	}
	if (!o->header++)
		printf("%-30s  %12s  %s\n", "NAME", "SIZE", "TARGET");
	printf("%-30s  %12lld  %s\n", b->name, b->size, b->target);
	return 0;
}

static int
run(const char *cmd, int argc, char **argv, const struct opts *o, struct out *out,
    struct hv_err *e)
{
	struct hv_config c;
	int r;

	if ((r = hv_config_load(&c, o->config, e)) < 0)
		return r;
	if (strcmp(cmd, "list") == 0)
		out->json = o->json || !isatty(STDOUT_FILENO);
	if ((r = hv_sandbox_backup(&c, cmd, o->identity, o->pubkey, o->to, e)) < 0)
		;
	else if (strcmp(cmd, "create") == 0)
		r = hv_backup_create(&c, on_entry, out, e);
	else if (strcmp(cmd, "list") == 0)
		r = hv_backup_list(&c, on_entry, out, e);
	else if (strcmp(cmd, "verify") == 0)
		r = hv_backup_verify(&c, argc > 0 ? argv[0] : NULL, o->identity, o->pubkey,
		    on_entry, out, e);
	else if (strcmp(cmd, "restore") == 0)
		r = hv_backup_restore(&c, argv[0], o->identity, o->pubkey, o->to, o->force,
		    on_entry, out, e);
	else
		r = hv_backup_prune(&c, on_entry, out, e);
	hv_config_free(&c);
	return r;
}

/* Why the options and operands do not fit the command, or NULL. */
static const char *
args_bad(const char *cmd, int argc, const struct opts *o)
{
	int restore = strcmp(cmd, "restore") == 0, verify = strcmp(cmd, "verify") == 0;

	if ((o->to || o->force) && !restore)
		return "--to and --force are for restore only";
	if (o->identity != NULL && !restore && !verify)
		return "-i is for verify and restore only";
	if (o->pubkey != NULL && !restore && !verify)
		return "-p is for verify and restore only";
	if (o->json && strcmp(cmd, "list") != 0)
		return "-j is for list only";
	if (restore)
		return argc == 1 ? NULL : "restore takes one backup name";
	if (verify)
		return argc <= 1 ? NULL : "verify takes at most one backup name";
	return argc == 0 ? NULL : "create, list and prune take no operands";
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct out out = { 1, 0, NULL, "" };
	static const char *const cmds[] = { "create", "list", "verify", "restore", "prune",
		NULL };
	struct hv_err e = { 0 };
	const char *cmd, *why;
	int c, r;

	hv_init(argv[0]);
	/* Permuting: options before or after the command (cli.h). */
	while ((c = getopt_long(argc, argv, "c:fhi:jp:qt:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'f': o.force = 1; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'i': o.identity = optarg; break;
		case 'j': o.json = 1; break;
		case 'p': o.pubkey = optarg; break;
		case 'q': hv_verbosity--; break;
		case 't': o.to = optarg; break;
		case 'v': hv_verbosity++; break;
		case 'V': puts("hv-backup " HV_VERSION); return 0;
		default: return hv_usage(usage_text, 64);
		}
	}
	argc -= optind;
	argv += optind;
	if (hv_cli_command(cmds, argc > 0 ? argv[0] : NULL, 0, &e) < 0)
		return hv_usage_error(usage_text, "%s", e.msg);
	cmd = argv[0];
	if ((why = args_bad(cmd, argc - 1, &o)) != NULL)
		return hv_usage_error(usage_text, "%s", why);
	if ((strcmp(cmd, "verify") == 0 || strcmp(cmd, "restore") == 0) && o.identity == NULL)
		return hv_usage_error(usage_text, "%s needs -i IDENTITY: the backups are "
		    "sealed to a key this host does not hold", cmd);
	out.cmd = cmd;
	r = run(cmd, argc - 1, argv + 1, &o, &out, &e);
	if (r == HV_EUSAGE) {
		hv_report(r, &e);
		return 64;
	}
	/* A failure on a target was printed as it came: one line per error. */
	if (r < 0 && strcmp(e.msg, out.said) == 0)
		return hv_stdout_close(hv_exit_code(r));
	return hv_stdout_close(hv_report(r, &e));
}
