/*
 * hv-purge: destroy expired epoch keys and spool files, show the spool's
 * residency, erase an account.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "msg.h"
#include "purge.h"
#include "sandbox.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-purge [-n | --dry-run] [-t ttl | --ttl ttl]\n"
    "       hv-purge stats [-j]\n"
    "       hv-purge erase account\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

struct opts {
	const char *config;
	long ttl;
	int dry_run, json;
};

static void
set_num(struct hv_json *j, const char *key, long long v)
{
	struct hv_json *null;

	if (v >= 0) {
		hv_json_set_int(j, key, v);
		return;
	}
	if (hv_json_parse("null", 4, &null, NULL) == 0) {
		hv_json_set(j, key, null);
		hv_json_free(null);
	}
}

static void
print_json(struct hv_json *j)
{
	struct hv_buf line = HV_BUF_INIT(1 << 16);

	if (hv_json_dump(j, &line) == 0)
		puts(line.data);
	hv_buf_release(&line);
	hv_json_free(j);
}

static void
note(enum hv_purge_note kind, long long epoch, const char *path, void *arg)
{
	struct hv_json *j;

	(void)arg;
	if (kind == HV_PURGE_FOREIGN) {
		hv_warnx("'%s': not a spool file: left alone", path);
		return;
	}
	if (kind == HV_PURGE_UNSAFE_KEY) {
		hv_warnx("'%s': epoch key others could read: destroyed", path);
		return;
	}
	j = hv_json_object();
	hv_json_set_str(j, "would", path == NULL ? "destroy key" : "remove");
	set_num(j, "epoch", epoch);
	if (path != NULL)
		hv_json_set_str(j, "path", path);
	print_json(j);
}

static int
cmd_purge(const struct hv_config *c, const struct opts *o, struct hv_err *e)
{
	struct hv_purge_opts po = { o->ttl, o->dry_run, hv_now(), note, NULL };
	struct hv_purge_report rep;
	struct hv_json *j;
	int r;

	r = hv_purge_run(c, &po, &rep, e);
	if (rep.on_disk)
		hv_warnx("warning: spool '%s' is on persistent storage (allow_disk = yes): "
		    "removed files may be recovered from the disk until their epoch keys "
		    "are gone", c->paths.spool);
	if (r < 0)
		return r;
	j = hv_json_object();
	hv_json_set_int(j, "keys", (long long)rep.keys);
	hv_json_set_int(j, "expired", (long long)rep.expired);
	hv_json_set_int(j, "done", (long long)rep.done);
	hv_json_set_int(j, "temp", (long long)rep.temp);
	hv_json_set_int(j, "foreign", (long long)rep.foreign);
	hv_json_set_int(j, "kept", (long long)rep.kept);
	hv_json_set_int(j, "bytes", rep.bytes);
	set_num(j, "oldest", rep.oldest);
	hv_json_set_bool(j, "dry_run", rep.dry_run);
	print_json(j);
	hv_info(1, "destroyed %zu epoch keys, removed %zu expired and %zu done files; "
	    "%zu kept", rep.keys, rep.expired, rep.done, rep.kept);
	return 0;
}

static void
age(char *out, size_t size, long long v)
{
	if (v < 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%llds", v);
}

static void
stat_line(const char *set, const struct hv_purge_stat *st, int json)
{
	char bytes[32], p50[32], p99[32], max[32];
	struct hv_json *j;

	if (json) {
		j = hv_json_object();
		hv_json_set_str(j, "set", set);
		hv_json_set_int(j, "count", (long long)st->count);
		set_num(j, "bytes", st->bytes);
		set_num(j, "p50", st->p50);
		set_num(j, "p99", st->p99);
		set_num(j, "max", st->max);
		print_json(j);
		return;
	}
	if (st->bytes < 0)
		snprintf(bytes, sizeof bytes, "-");
	else
		snprintf(bytes, sizeof bytes, "%lld", st->bytes);
	age(p50, sizeof p50, st->p50);
	age(p99, sizeof p99, st->p99);
	age(max, sizeof max, st->max);
	printf("%-10s %8zu %12s %7s %7s %7s\n", set, st->count, bytes, p50, p99, max);
}

static int
cmd_stats(const struct hv_config *c, const struct opts *o, struct hv_err *e)
{
	struct hv_purge_stat spool, purged;
	int r, json = o->json || !isatty(STDOUT_FILENO);

	if ((r = hv_purge_stats(c, hv_now(), &spool, &purged, e)) < 0)
		return r;
	if (!json)
		printf("%-10s %8s %12s %7s %7s %7s\n", "SET", "COUNT", "BYTES", "P50", "P99",
		    "MAX");
	stat_line("spool", &spool, json);
	stat_line("purged_1h", &purged, json);
	return 0;
}

static int
cmd_erase(const struct hv_config *c, const char *account, struct hv_err *e)
{
	struct hv_erase_report rep;
	struct hv_json *j;
	int r;

	if ((r = hv_purge_erase(c, account, &rep, e)) < 0 && r != HV_ENO)
		return r;
	j = hv_json_object();
	hv_json_set_str(j, "account_hmac", rep.account_hmac);
	hv_json_set_int(j, "rows", rep.rows);
	hv_json_set_int(j, "spool_files", (long long)rep.spool_files);
	print_json(j);
	if (r == HV_ENO) {
		hv_warnx("%s", e->msg);
		return r;
	}
	hv_info(0, "%s: erased (%lld rows); the audit trail names it as %s", account,
	    rep.rows, rep.account_hmac);
	return 0;
}

static int
run(int argc, char **argv, const struct opts *o, struct hv_err *e)
{
	struct hv_config c;
	static const char *const cmds[] = { "stats", "erase", NULL };
	const char *cmd = argc > 0 ? argv[0] : NULL;
	int r;

	if (hv_cli_command(cmds, cmd, HV_CLI_BARE, e) < 0 && cmd != NULL)
		return HV_EUSAGE;
	if (cmd != NULL && (o->dry_run || o->ttl))
		return hv_err_set(e, HV_EUSAGE, "--dry-run and --ttl are for purging only");
	if (cmd != NULL && argc != (strcmp(cmd, "erase") == 0 ? 2 : 1))
		return hv_err_set(e, HV_EUSAGE, "%s takes %s", cmd,
		    strcmp(cmd, "erase") == 0 ? "one account" : "no operand");
	if (cmd != NULL && strcmp(cmd, "erase") == 0 && argv[1][0] == '\0')
		return hv_err_set(e, HV_EUSAGE, "erase: the account is empty");
	if ((r = hv_config_load(&c, o->config, e)) < 0)
		return r;
	if ((r = hv_sandbox_apply(&c, "hv-purge", cmd, NULL, e)) < 0)
		;
	else if (cmd == NULL)
		r = cmd_purge(&c, o, e);
	else if (strcmp(cmd, "stats") == 0)
		r = cmd_stats(&c, o, e);
	else
		r = cmd_erase(&c, argv[1], e);
	hv_config_free(&c);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct hv_err e = { 0 };
	int c, r;

	hv_init(argv[0]);
	/* Permuting: options before or after the command (cli.h). */
	while ((c = getopt_long(argc, argv, "c:hjnqt:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'j': o.json = 1; break;
		case 'n': o.dry_run = 1; break;
		case 'q': hv_verbosity--; break;
		case 't':
			if (hv_parse_duration(optarg, &o.ttl) < 0 || o.ttl <= 0)
				return hv_usage_error(usage_text, "bad ttl '%s': want a "
				    "duration such as 10m", optarg);
			break;
		case 'v': hv_verbosity++; break;
		case 'V': return puts("hv-purge " HV_VERSION), 0;
		default: return hv_usage(usage_text, 64);
		}
	}
	r = run(argc - optind, argv + optind, &o, &e);
	if (r == HV_EUSAGE)
		return hv_usage_error(usage_text, "%s", e.msg);
	return hv_stdout_close(hv_report(r, &e));
}
