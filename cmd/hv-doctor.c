/*
 * hv-doctor: is everything healthy?  Every check, one line each, and the
 * configuration as resolved, with where each value came from.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "doctor.h"
#include "err.h"
#include "json.h"
#include "msg.h"
#include "sandbox.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-doctor [-c config] [-n] [-j] [-q | -v]\n"
    "       hv-doctor [-c config] [-j] config\n"
    "common options: [-h] [-V]\n";

struct opts {
	const char *config;
	int offline, json;
};

/* What the checks found, for the exit status. */
struct tally {
	const struct opts *o;
	int worst;		/* exit status so far */
};

static const char *const status_names[] = { "ok", "warn", "FAIL" };

static int
usage(int status)
{
	fputs(usage_text, status == 0 ? stdout : stderr);
	return status == 0 ? 0 : 64;
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

static int
print_result(const struct hv_doctor_result *r, void *arg)
{
	struct tally *t = arg;
	struct hv_json *j;

	if (r->status == HV_DOCTOR_FAIL)
		t->worst = hv_exit_worst(t->worst, hv_exit_code(r->code));
	if (r->status == HV_DOCTOR_OK && hv_verbosity < 0)
		return 0;
	if (!t->o->json) {
		printf("%-4s %s: %s%s%s\n", status_names[r->status], r->check, r->what,
		    r->fix ? "; fix: " : "", r->fix ? r->fix : "");
		return 0;
	}
	j = hv_json_object();
	hv_json_set_str(j, "check", r->check);
	hv_json_set_str(j, "status", status_names[r->status]);
	hv_json_set_str(j, "what", r->what);
	if (r->fix != NULL)
		hv_json_set_str(j, "fix", r->fix);
	print_json(j);
	return 0;
}

/* What print_item needs besides the item. */
struct show {
	const struct hv_config *c;
	const struct opts *o;
};

static int
print_item(const struct hv_config_item *it, void *arg)
{
	const struct show *sh = arg;
	const struct hv_config *c = sh->c;
	const struct opts *o = sh->o;
	struct hv_buf key = HV_BUF_INIT(4096), origin = HV_BUF_INIT(8192);
	struct hv_json *j;
	int r;

	r = hv_buf_addf(&key, "%s.%s%s%s", it->section, it->team ? it->team : "",
	    it->team ? "." : "", it->key);
	if (r == 0)
		r = it->line > 0 ? hv_buf_addf(&origin, "%s:%d", c->file, it->line) :
		    hv_buf_adds(&origin, "default");
	if (r == 0 && o->json) {
		j = hv_json_object();
		hv_json_set_str(j, "key", key.data);
		hv_json_set_str(j, "value", it->value);
		hv_json_set_str(j, "origin", origin.data);
		print_json(j);
	} else if (r == 0) {
		printf("%s\t%s=%s\n", origin.data, key.data, it->value);
	}
	hv_buf_release(&key);
	hv_buf_release(&origin);
	return r;
}

static int
cmd_config(const struct opts *o, struct hv_err *e)
{
	struct hv_config c;
	struct show sh = { &c, o };
	int r;

	if ((r = hv_config_load(&c, o->config, e)) < 0)
		return r;
	if ((r = hv_sandbox_apply(&c, "hv-doctor", "config", NULL, e)) < 0)
		;
	else if ((r = hv_config_each(&c, print_item, &sh)) < 0)
		r = hv_err_set(e, HV_EINTERNAL, "a configuration value too long to show");
	hv_config_free(&c);
	return r;
}

static int
cmd_checks(const struct opts *o, int *status, struct hv_err *e)
{
	struct hv_doctor_opts d = { o->config, o->offline, hv_now() };
	struct tally t = { o, 0 };
	struct hv_config c;
	int r;

	/* A configuration that does not load is the doctor's first finding. */
	if (hv_config_load(&c, o->config, NULL) == 0) {
		r = hv_sandbox_apply(&c, "hv-doctor", NULL, NULL, e);
		hv_config_free(&c);
		if (r < 0)
			return r;
	}
	r = hv_doctor_run(&d, print_result, &t, e);
	*status = t.worst;
	return r;
}

static int
run(int argc, char **argv, const struct opts *o, int *status, struct hv_err *e)
{
	*status = 0;
	if (argc > 0 && strcmp(argv[0], "config") != 0)
		return hv_err_set(e, HV_EUSAGE, "unknown command '%s'", argv[0]);
	if (argc > 1)
		return hv_err_set(e, HV_EUSAGE, "config takes no operand");
	if (argc > 0 && o->offline)
		return hv_err_set(e, HV_EUSAGE, "-n is for the checks only");
	return argc > 0 ? cmd_config(o, e) : cmd_checks(o, status, e);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct hv_err e = { 0 };
	int c, r, status;

	hv_init(argv[0]);
	while ((c = getopt_long(argc, argv, "c:hjnqvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'h': return usage(0);
		case 'j': o.json = 1; break;
		case 'n': o.offline = 1; break;
		case 'q': hv_verbosity--; break;
		case 'v': hv_verbosity++; break;
		case 'V': return puts("hv-doctor " HV_VERSION), 0;
		default: return usage(64);
		}
	}
	r = run(argc - optind, argv + optind, &o, &status, &e);
	if (r == HV_EUSAGE) {
		hv_report(r, &e);
		return usage(64);
	}
	r = hv_report(r < 0 ? r : 0, &e);
	return hv_stdout_close(hv_exit_worst(r, status));
}
