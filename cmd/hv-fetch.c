/*
 * hv-fetch: new mail of a team's shared mailbox into the spool, a JSON line each.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "fetch.h"
#include "follow.h"
#include "lock.h"
#include "msg.h"
#include "sandbox.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-fetch -t team [-w seconds] [--full] [--max n] [--query q] [--label id]\n"
    "       hv-fetch -t team [-w seconds] --follow\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

static int
emit(const char *line, void *arg)
{
	(void)arg;
	if (puts(line) == EOF)
		return -1;
	/* The next stage of the pipe works while we fetch. */
	return fflush(stdout) == EOF ? -1 : 0;
}

/* Progress only at a terminal (msg.h); the rest always. */
static void
note(int progress, const char *msg, void *arg)
{
	(void)arg;
	if (progress)
		hv_progress("%s", msg);
	else
		hv_warnx("%s", msg);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "full", no_argument, NULL, 'F' },
		{ "max", required_argument, NULL, 'm' },
		{ "query", required_argument, NULL, 'Q' },
		{ "label", required_argument, NULL, 'L' },
		{ "wait", required_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct hv_fetch_opts o = { 0 };
	struct hv_fetch_stats st;
	struct hv_config c;
	struct hv_team_lock *lock;
	struct hv_err e = { 0 };
	const char *config = NULL;
	long wait = 0;
	int ch, r, follow = 0;
	struct hv_fetch_io io = { emit, note, NULL };
	char *end;

	hv_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "c:hqt:vVw:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'F': o.full = 1; break;
		case 'f': follow = 1; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'L': o.label = optarg; break;
		case 'm':
			o.max = strtol(optarg, &end, 10);
			if (*end != '\0' || o.max <= 0)
				return hv_usage_error(usage_text, "bad --max '%s': want a "
				    "count", optarg);
			break;
		case 'Q': o.query = optarg; break;
		case 'q': hv_verbosity--; break;
		case 't': o.team = optarg; break;
		case 'v': hv_verbosity++; break;
		case 'V': puts("hv-fetch " HV_VERSION); return 0;
		case 'w':
			if (hv_lock_parse_wait(optarg, &wait, &e) < 0)
				return hv_usage_error(usage_text, "%s", e.msg);
			break;
		default: return hv_usage(usage_text, 64);
		}
	}
	if (optind != argc)
		return hv_usage_error(usage_text, "takes no operands ('%s')", argv[optind]);
	if (o.team == NULL)
		return hv_usage_error(usage_text, "needs -t team");
	if (follow && (o.full || o.max || o.query || o.label))
		return hv_usage_error(usage_text, "--follow takes none of --full, --max, "
		    "--query, --label");
	if ((r = hv_config_load(&c, config, &e)) < 0)
		return hv_report(r, &e);
	if ((r = hv_sandbox_apply(&c, "hv-fetch", NULL, NULL, &e)) < 0 ||
	    (r = hv_team_lock(&c, o.team, HV_LOCK_FETCH, wait, &lock, &e)) < 0) {
		hv_config_free(&c);
		return hv_report(r, &e);
	}
	memset(&st, 0, sizeof st);
	r = follow ? hv_follow(&c, o.team, &io, &e) : hv_fetch_run(&c, &o, &io, &st, &e);
	hv_team_unlock(lock);
	hv_progress_end();
	/* A follower says what each of its runs did as it goes. */
	if (!follow && hv_verbosity >= 0 && (st.fetched || st.refetched || st.again || st.failed ||
	    hv_verbosity > 0))
		hv_warnx("%s: fetched %ld, refetched %ld, still spooled %ld, skipped %ld, "
		    "failed %ld; %ld calls, %.0f units%s", o.team, st.fetched, st.refetched,
		    st.again, st.skipped, st.failed, st.calls, st.units,
		    st.cut ? "; more to come" : "");
	hv_config_free(&c);
	return hv_stdout_close(hv_report(r, &e));
}
