/*
 * hv-audit: append to, verify, read, export and watch the audit trail of
 * hv-audit(5).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_optout.h"
#include "audit_query.h"
#include "audit_rules.h"
#include "audit_watch.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "json_jq.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-audit log [--outcome ok|fail|refused] [--error text] action [key=value ...]\n"
    "       hv-audit verify [-k key0] [-p pubkey] [--max-age time] [file ...]\n"
    "       hv-audit query [--since time] [--until time] [filter]\n"
    "       hv-audit tail [-f] [-n count]\n"
    "       hv-audit export [--redact filter] [--since time] [--until time]\n"
    "       hv-audit optout add | remove | list [user]\n"
    "       hv-audit watch [--from seq] rules\n"
    "       hv-audit repair [-y]\n"
    "       hv-audit init | checkpoint | rotate | pubkey\n"
    "       hv-audit msgid message-id\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

struct opts {
	const char *config;
	const char *outcome, *error;
	const char *key0, *pubkey;
	const char *since, *until, *redact;
	long max_age;
	long count;
	long long from;
	int follow, json, yes;
};

/* Set by SIGINT and SIGTERM: tail -f and watch end. */
static volatile sig_atomic_t stop;

/* ---- shared pieces ---- */

static int
write_stdout(void *arg, const char *data, size_t len)
{
	(void)arg;
	return fwrite(data, 1, len, stdout) == len ? 0 : HV_EIO;
}

static void
warn_line(void *arg, const char *msg)
{
	(void)arg;
	hv_warnx("%s", msg);
}

static const struct hv_audit_sink to_stdout = { write_stdout, warn_line, NULL };

static int
load_config(struct hv_config *c, const struct opts *o, struct hv_err *e)
{
	return hv_config_load(c, o->config, e);
}

static int
purpose_key(const struct hv_config *c, const char *purpose, uint8_t key[HV_KEY_LEN],
    struct hv_err *e)
{
	uint8_t *master = hv_secure_alloc(HV_KEY_LEN);
	int r;

	if ((r = hv_master_load(c->keys.master, master, e)) == 0)
		r = hv_key_derive(key, master, purpose, e);
	hv_secure_free(master, HV_KEY_LEN);
	return r;
}

/* ---- log ---- */

static int
cmd_log(const struct hv_config *c, const struct opts *o, int argc, char **argv,
    struct hv_err *e)
{
	if (argc < 1)
		return hv_err_set(e, HV_EUSAGE, "log takes an action and at most %d "
		    "key=value pairs", HV_AUDIT_FIELDS_MAX);
	return hv_audit_log_words(c, argv[0], argv + 1, (size_t)argc - 1, o->outcome,
	    o->error, e);
}

/* ---- verify ---- */

/* Say what a verify with these keys does not check, for a person. */
static void
verify_advice(const struct hv_audit_verify_keys *k)
{
	/* Advice, not errors: -q (a cron job) silences them. */
	if (k->beside != NULL)
		hv_info(0, "the first key '%s' is still on this host: move it off "
		    "(and use -k), or forward integrity does not hold", k->beside);
	if (k->key0 == NULL)
		hv_info(0, "no first key (-k): line MACs not checked");
	if (!k->have_pub)
		hv_info(0, "no checkpoint key (-p): signatures not checked");
}

/* A large trail takes a while: say how far, at a terminal. */
static void
verify_progress(void *arg, const char *file, uint64_t lines)
{
	(void)arg;
	hv_progress("'%s': %llu lines verified", file, (unsigned long long)lines);
}

/* Each gap a repair accounted for, every time: a loss is never forgotten. */
static void
report_gaps(const struct hv_audit_verify *v)
{
	struct hv_audit_repair_info g;
	uint64_t seq;
	size_t i;

	for (i = 0; hv_audit_verify_gap(v, i, &g, &seq); i++)
		hv_info(0, "seq %llu..%llu lost in a torn write, repaired at %.19sZ by %s "
		    "(audit.repair seq %llu)", (unsigned long long)g.first_lost,
		    (unsigned long long)g.last_lost, g.time, g.user, (unsigned long long)seq);
}

static void
record_tamper(const struct hv_config *c, const char *why)
{
	struct hv_audit_field f[] = { { "file", c->paths.audit }, };
	struct hv_err le = { 0 };

	if (hv_audit_log(c, HV_AUDIT_TAMPER, f, 1, HV_AUDIT_FAIL, why, &le) < 0)
		hv_warnx("cannot record the tampering: %s", le.msg);
}

static int
cmd_verify(const struct hv_config *c, const struct opts *o, int argc, char **argv,
    struct hv_err *e)
{
	struct hv_audit_verify_keys k = { 0 };
	struct hv_audit_verify_status s;
	struct hv_audit_verify *v = NULL;
	char **files = NULL;
	int own = argc == 0, r;

	if (own)
		r = hv_audit_files(c->paths.audit, &files, e);
	else
		r = 0;
	if (r == 0 && (r = hv_audit_verify_keys_load(c, o->key0, o->pubkey, own, &k, e)) == 0)
		verify_advice(&k);
	if (r < 0)
		goto out;
	v = hv_audit_verify_new(k.key0, k.have_pub ? k.pub : NULL, own);
	r = hv_audit_verify_files(v, own ? files : argv, verify_progress, NULL, e);
	hv_progress_end();
	if (r == 0 && (r = hv_audit_verify_end(v, e)) < 0)
		hv_err_wrap(e, "'%s'", own ? c->paths.audit : argv[argc - 1]);
	hv_audit_verify_status(v, &s);
	report_gaps(v);
	if (r == 0 && s.lines == 0)
		r = hv_err_set(e, HV_EDATA, "no lines to verify");
	if (r == 0 && own)
		r = hv_audit_verify_state(v, c->paths.audit, e);
	if (r == 0 && o->max_age > 0)
		r = hv_audit_verify_fresh(&s, o->max_age, time(NULL), e);
	if (r == 0)
		hv_info(1, "intact: %llu lines, seq %llu to %llu, %llu signatures checked%s",
		    (unsigned long long)s.lines, (unsigned long long)s.first_seq,
		    (unsigned long long)s.last_seq, (unsigned long long)s.signatures,
		    k.key0 ? ", MACs checked" : "");
	/* Keys found on this host prove nothing against whoever holds it: a
	 * trail deleted and made again verifies with its own.  Said even
	 * with -q, and still exit 0 (see hv-audit(1)). */
	if (r == 0 && !k.anchored)
		hv_warnx("no off-host anchor: pass -k and -p with copies kept off this host");
	if (r == HV_EDATA && own)
		record_tamper(c, e->msg);
out:
	hv_audit_verify_free(v);
	hv_audit_verify_keys_release(&k);
	hv_audit_files_free(files);
	return r;
}

/* ---- query ---- */

static int
cmd_query(const struct hv_config *c, const struct opts *o, int argc, char **argv,
    struct hv_err *e)
{
	char since[28], until[28];
	int r;

	if (argc > 1)
		return hv_err_set(e, HV_EUSAGE, "query takes one filter");
	if ((r = hv_audit_time_bound(o->since, time(NULL), since, e)) < 0 ||
	    (r = hv_audit_time_bound(o->until, time(NULL), until, e)) < 0)
		return r;
	return hv_audit_query(c->paths.audit, argc ? argv[0] : ".", since, until, &to_stdout, e);
}

/* ---- tail and following ---- */

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Followed output reaches a pipe as it comes, not when a buffer fills. */
static void
flush_stdout(void *arg)
{
	(void)arg;
	fflush(stdout);
}

static int
print_line(void *arg, const char *line, size_t len, struct hv_err *e)
{
	(void)arg;
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF)
		return hv_err_errno(e, HV_EIO, errno, "cannot write to stdout");
	return 0;
}

static int
cmd_tail(const struct hv_config *c, const struct opts *o, int argc, struct hv_err *e)
{
	if (argc > 0)
		return hv_err_set(e, HV_EUSAGE, "tail takes no operands");
	return hv_audit_follow(c->paths.audit, o->count > 0 ? o->count : 10, o->follow,
	    &stop, print_line, NULL, flush_stdout, warn_line, e);
}

/* ---- opt-out ---- */

static int
cmd_optout(const struct hv_config *c, const struct opts *o, int argc, char **argv,
    struct hv_err *e)
{
	struct hv_buf list = HV_BUF_INIT(16 * 1024 * 1024), q = HV_BUF_INIT(4096);
	char *path;
	const char *p;
	size_t n;
	int r, json = o->json || !isatty(STDOUT_FILENO);

	if (argc == 2 && strcmp(argv[0], "add") == 0)
		return hv_audit_optout_change(c, argv[1], 1, e);
	if (argc == 2 && strcmp(argv[0], "remove") == 0)
		return hv_audit_optout_change(c, argv[1], 0, e);
	if (argc != 1 || strcmp(argv[0], "list") != 0)
		return hv_err_set(e, HV_EUSAGE, "optout add USER, optout remove USER or "
		    "optout list");
	path = hv_audit_optout_path(c);
	r = hv_audit_optout_read(path, &list, &n, e);
	for (p = list.data; r == 0 && p != NULL && p < list.data + list.len; p += strlen(p) + 1) {
		if (!json) {
			puts(p);
			continue;
		}
		hv_buf_reset(&q);
		hv_jq_quote(&q, p, strlen(p));
		printf("{\"id\":%s}\n", q.data);
	}
	hv_buf_release(&list);
	hv_buf_release(&q);
	free(path);
	return r;
}

/* ---- export ---- */

static int
cmd_export(const struct hv_config *c, const struct opts *o, int argc, struct hv_err *e)
{
	char since[28], until[28], count[24], *path = hv_audit_optout_path(c);
	struct hv_audit_field f[] = { { "events", count } };
	uint8_t *key = hv_secure_alloc(32);
	unsigned long events = 0;
	struct hv_err le;
	int r;

	if (argc > 0)
		r = hv_err_set(e, HV_EUSAGE, "export takes no operands");
	else if ((r = hv_audit_time_bound(o->since, time(NULL), since, e)) == 0 &&
	    (r = hv_audit_time_bound(o->until, time(NULL), until, e)) == 0 &&
	    (r = purpose_key(c, "audit-pseudonym", key, e)) == 0)
		r = hv_audit_export(c->paths.audit, path, key, o->redact, since, until,
		    &to_stdout, &events, e);
	/* An export that ran is recorded, even when some lines were bad. */
	snprintf(count, sizeof count, "%lu", events);
	if ((r == 0 || r == HV_EDATA) &&
	    hv_audit_log(c, HV_AUDIT_EXPORT, f, 1, HV_AUDIT_OK, NULL, &le) < 0)
		r = hv_err_set(e, le.code, "%s", le.msg);
	hv_secure_free(key, 32);
	free(path);
	return r;
}

/* ---- watch ---- */

static int
cmd_watch(const struct hv_config *c, const struct opts *o, int argc, char **argv,
    struct hv_err *e)
{
	struct hv_audit_rules *rules = NULL;
	struct sigaction sa;
	int r;

	if (argc != 1)
		return hv_err_set(e, HV_EUSAGE, "watch takes one rules file");
	if ((r = hv_audit_rules_load(&rules, argv[0], e)) == 0) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		r = hv_audit_watch(c->paths.audit, rules, o->from, &stop, flush_stdout, warn_line,
		    NULL, e);
	}
	hv_audit_rules_free(rules);
	return r;
}

/* ---- repair ---- */

/* Show the loss; go on with -y, or when a person at the terminal says so. */
static int
repair_confirm(void *arg, const struct hv_audit_tail *t, const char *torn_file)
{
	const struct opts *o = arg;
	char answer[16];

	hv_info(0, "seq %llu to %llu lost (%llu line%s): %llu bytes its state counted are "
	    "gone", (unsigned long long)t->first_lost, (unsigned long long)t->last_lost,
	    (unsigned long long)(t->last_lost - t->first_lost + 1),
	    t->last_lost > t->first_lost ? "s" : "",
	    (unsigned long long)t->lost_bytes);
	if (torn_file != NULL)
		hv_info(0, "%llu torn bytes after seq %llu are cut off and kept in '%s'",
		    (unsigned long long)t->cut_bytes, (unsigned long long)t->first_lost - 1,
		    torn_file);
	if (o->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return HV_EUSAGE;
	fputs("record the loss in the trail and go on from seq ", stderr);
	fprintf(stderr, "%llu? [y/N] ", (unsigned long long)t->first_lost - 1);
	if (fgets(answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
		return HV_ENO;
	return 0;
}

static int
cmd_repair(const struct hv_config *c, const struct opts *o, int argc, struct hv_err *e)
{
	struct hv_audit_repair_result res;
	int r;

	if (argc > 0)
		return hv_err_set(e, HV_EUSAGE, "repair takes no operands");
	r = hv_audit_repair(c, repair_confirm, (void *)o, &res, e);
	if (r == HV_EUSAGE)
		hv_err_set(e, r, "not repaired: no terminal to ask at; pass -y to repair");
	else if (r == HV_ENO)
		hv_info(0, "not repaired");
	else if (r == 0 && res.tail.kind == HV_AUDIT_TAIL_OK)
		hv_info(0, "'%s' has no torn tail: nothing to repair", c->paths.audit);
	else if (r == 0)
		hv_info(0, "repaired: audit.repair at seq %llu records the loss, a checkpoint "
		    "at seq %llu signs it", (unsigned long long)res.repair_seq,
		    (unsigned long long)res.repair_seq + 1);
	hv_audit_repair_result_free(&res);
	return r;
}

/* ---- the small ones ---- */

static int
cmd_simple(const char *cmd, const struct hv_config *c, int argc, char **argv,
    struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(256);
	struct hv_auth *a = NULL;
	char out[HV_AUDIT_MSGID_LEN + 1], *rotated = NULL;
	int r;

	if (strcmp(cmd, "msgid") == 0) {
		if (argc != 1)
			return hv_err_set(e, HV_EUSAGE, "msgid takes one Message-ID");
		/* The key the tools use: random, kept sealed in the state database. */
		if ((r = hv_auth_open(&a, c, e)) == 0) {
			hv_audit_msgid(out, hv_auth_key(a, HV_AUTH_KEY_AUDIT), argv[0],
			    strlen(argv[0]));
			puts(out);
		}
		hv_auth_close(a);
		return r;
	}
	if (argc != 0)
		return hv_err_set(e, HV_EUSAGE, "%s takes no operands", cmd);
	if (strcmp(cmd, "checkpoint") == 0)
		return hv_audit_checkpoint(c, e);
	if (strcmp(cmd, "rotate") == 0) {
		if ((r = hv_audit_rotate(c, &rotated, e)) == 0)
			hv_info(0, "rotated to '%s'", rotated);
		free(rotated);
		return r;
	}
	if (strcmp(cmd, "init") == 0 && (r = hv_audit_init(c, e)) < 0)
		return r;
	if (strcmp(cmd, "init") == 0)
		hv_info(0, "created '%s'; its first key is in '%s.key0': move it off this "
		    "host, verify takes it back with -k", c->paths.audit, c->paths.audit);
	if ((r = hv_audit_pubkey(c, &b, e)) == 0)
		puts(b.data);
	hv_buf_release(&b);
	return r;
}

static const char *const commands[] = {
	"log", "verify", "query", "tail", "export", "optout", "watch", "init",
	"checkpoint", "rotate", "pubkey", "msgid", "repair", NULL,
};

static int
run(const char *cmd, const struct opts *o, int argc, char **argv, struct hv_err *e)
{
	struct hv_config c;
	int r;

	if ((r = load_config(&c, o, e)) < 0)
		return r;
	if ((r = hv_sandbox_audit(&c, cmd, argv, o->key0, o->pubkey, e)) < 0)
		;
	else if (strcmp(cmd, "log") == 0)
		r = cmd_log(&c, o, argc, argv, e);
	else if (strcmp(cmd, "verify") == 0)
		r = cmd_verify(&c, o, argc, argv, e);
	else if (strcmp(cmd, "query") == 0)
		r = cmd_query(&c, o, argc, argv, e);
	else if (strcmp(cmd, "tail") == 0)
		r = cmd_tail(&c, o, argc, e);
	else if (strcmp(cmd, "export") == 0)
		r = cmd_export(&c, o, argc, e);
	else if (strcmp(cmd, "optout") == 0)
		r = cmd_optout(&c, o, argc, argv, e);
	else if (strcmp(cmd, "watch") == 0)
		r = cmd_watch(&c, o, argc, argv, e);
	else if (strcmp(cmd, "repair") == 0)
		r = cmd_repair(&c, o, argc, e);
	else
		r = cmd_simple(cmd, &c, argc, argv, e);
	hv_config_free(&c);
	return r;
}

enum { O_SINCE = 256, O_UNTIL, O_MAXAGE, O_REDACT, O_OUTCOME, O_ERROR, O_FROM };

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "max-age", required_argument, NULL, O_MAXAGE },
		{ "redact", required_argument, NULL, O_REDACT },
		{ "outcome", required_argument, NULL, O_OUTCOME },
		{ "error", required_argument, NULL, O_ERROR },
		{ "from", required_argument, NULL, O_FROM },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct hv_err e = { 0 };
	const char *cmd = NULL;
	char *end;
	int c, r;

	hv_init(argv[0]);
	o.from = -1;
	/* Permuting: options before or after the command (cli.h). */
	while ((c = getopt_long(argc, argv, "c:fhjk:n:p:qvVy", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'f': o.follow = 1; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'j': o.json = 1; break;
		case 'k': o.key0 = optarg; break;
		case 'n':
			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (errno || *end || o.count < 1)
				return hv_usage_error(usage_text, "bad count '%s'", optarg);
			break;
		case 'p': o.pubkey = optarg; break;
		case 'q': hv_verbosity--; break;
		case 'v': hv_verbosity++; break;
		case 'V': puts("hv-audit " HV_VERSION); return 0;
		case 'y': o.yes = 1; break;
		case O_SINCE: o.since = optarg; break;
		case O_UNTIL: o.until = optarg; break;
		case O_MAXAGE:
			if (hv_parse_duration(optarg, &o.max_age) < 0 || o.max_age <= 0)
				return hv_usage_error(usage_text, "bad --max-age '%s': want a "
				    "duration such as 2h", optarg);
			break;
		case O_REDACT: o.redact = optarg; break;
		case O_OUTCOME: o.outcome = optarg; break;
		case O_ERROR: o.error = optarg; break;
		case O_FROM:
			errno = 0;
			o.from = strtoll(optarg, &end, 10);
			if (errno || *end || o.from < 0)
				return hv_usage_error(usage_text, "bad --from '%s': want a seq",
				    optarg);
			break;
		default: return hv_usage(usage_text, 64);
		}
	}
	if (hv_cli_command(commands, optind < argc ? argv[optind] : NULL, 0, &e) < 0)
		return hv_usage_error(usage_text, "%s", e.msg);
	cmd = argv[optind++];
	r = run(cmd, &o, argc - optind, argv + optind, &e);
	if (r == HV_EUSAGE) {
		hv_report(r, &e);
		return 64;
	}
	return hv_stdout_close(hv_report(r, &e));
}
