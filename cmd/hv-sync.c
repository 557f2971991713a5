/*
 * hv-sync: fetched mail into every member's mailbox; and did it get there?
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "index.h"
#include "json.h"
#include "keys.h"
#include "labels.h"
#include "lock.h"
#include "mime.h"
#include "msg.h"
#include "sandbox.h"
#include "sync.h"
#include "team.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-sync -t team [-w seconds] [file]\n"
    "       hv-sync labels -t team [-w seconds]\n"
    "       hv-sync set -t team [-w seconds] message-id status=state | assign=[member]\n"
    "       hv-sync status [-t team] [message-id]\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

static int
emit(const char *line, void *arg)
{
	(void)arg;
	return puts(line) == EOF || fflush(stdout) == EOF ? -1 : 0;
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

/* Lines come from a pipe or a file on stdin; a terminal or /dev/null
 * (cron) means the spool. */
static int
stdin_has_lines(void)
{
	struct stat st;

	if (isatty(STDIN_FILENO) || fstat(STDIN_FILENO, &st) < 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
	    (S_ISREG(st.st_mode) && st.st_size > 0);
}

struct status {
	const struct hv_config *cfg;
	int copies;
	int json;
};

static int
print_copy(const struct hv_index_copy *c, void *arg)
{
	struct status *s = arg;
	struct hv_json *j;
	struct hv_buf line = HV_BUF_INIT(4096);

	s->copies++;
	if (!s->json) {
		printf("%-16s %-32s %s\n", c->team, c->member, c->gmail_id);
		return 0;
	}
	j = hv_json_object();
	hv_json_set_str(j, "team", c->team);
	hv_json_set_str(j, "member", c->member);
	hv_json_set_str(j, "id", c->gmail_id);
	hv_json_set_int(j, "imported", c->imported);
	hv_json_dump(j, &line);
	puts(line.data);
	hv_json_free(j);
	hv_buf_release(&line);
	return 0;
}

/* The team's state of the message, when the team shares labels. */
static int
print_state(struct status *s, struct hv_auth *a, const struct hv_team *t, const uint8_t *mid,
    struct hv_err *e)
{
	struct hv_json *j;
	struct hv_buf line = HV_BUF_INIT(4096);
	const char *state, *who;
	char audit_id[HV_AUDIT_MSGID_LEN + 1];
	int r;

	if (!t->sync_labels ||
	    (r = hv_labels_state(a, t, mid, &state, &who, audit_id, e)) < 0)
		return t->sync_labels ? r : 0;
	/* A message no one gave a state is in the first one. */
	if (*state == '\0')
		state = t->states[0];
	if (!s->json) {
		printf("%-16s state %s, assigned to %s, audit msgid %s\n", t->name, state,
		    *who ? who : "no one", audit_id);
		return 0;
	}
	j = hv_json_object();
	hv_json_set_str(j, "team", t->name);
	hv_json_set_str(j, "state", state);
	hv_json_set_str(j, "assignee", who);
	hv_json_set_str(j, "msgid", audit_id);
	hv_json_dump(j, &line);
	puts(line.data);
	hv_json_free(j);
	hv_buf_release(&line);
	return 0;
}

struct lack {
	struct hv_store *store;
	const struct hv_team *t;
	const uint8_t *mid;
	int lack;
};

static int
lack_one(const char *account, void *arg)
{
	struct lack *l = arg;
	char id[HV_INDEX_ID_SIZE];

	/* A copy without an id was tried, not confirmed. */
	if (hv_index_copy_get(l->store, l->t->name, l->mid, account, id, NULL) != 0 ||
	    id[0] == '\0') {
		hv_warnx("%s: %s does not have it yet", l->t->name, account);
		l->lack = 1;
	}
	return 0;
}

/* Does every member of the team have the message?  1 when one lacks it. */
static int
missing(struct hv_auth *a, const struct hv_team *t, const uint8_t *mid, struct hv_err *e)
{
	struct lack l = { hv_auth_store(a), t, mid, 0 };
	int r;

	if ((r = hv_team_members_each(l.store, t, lack_one, &l, e)) < 0)
		return r;
	return l.lack;
}

static int
print_skip(const struct hv_index_skip *k, void *arg)
{
	struct status *s = arg;
	struct hv_json *j;
	struct hv_buf line = HV_BUF_INIT(4096);

	s->copies++;
	if (!s->json) {
		printf("%-16s %-32s %-8s %s\n", k->team, k->member, k->kind, k->why);
		return 0;
	}
	j = hv_json_object();
	hv_json_set_str(j, "team", k->team);
	hv_json_set_str(j, "skipped", k->member);
	hv_json_set_str(j, "type", k->kind);
	hv_json_set_str(j, "why", k->why);
	hv_json_set_int(j, "seen", k->seen);
	hv_json_dump(j, &line);
	puts(line.data);
	hv_json_free(j);
	hv_buf_release(&line);
	return 0;
}

/* A member the team does not sync to does not lack the message. */
static int
warn_skip(const struct hv_index_skip *k, void *arg)
{
	(void)arg;
	hv_warnx("%s: skipping %s: %s", k->team, k->member, k->why);
	return 0;
}

/* hv-sync status without a message: the members each team skips, and why. */
static int
cmd_skipped(const struct hv_config *c, const char *team, struct hv_err *e)
{
	struct hv_auth *a = NULL;
	struct status s = { c, 0, !isatty(STDOUT_FILENO) };
	int r;

	if (team != NULL && hv_config_team(c, team) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", team,
		    c->file ? c->file : "the configuration");
	if ((r = hv_auth_open_tokens(&a, c, e)) < 0)
		return r;
	if (!s.json)
		printf("%-16s %-32s %-8s %s\n", "TEAM", "SKIPPED", "TYPE", "WHY");
	r = hv_index_skipped(hv_auth_store(a), team, print_skip, &s, e);
	hv_auth_close(a);
	return r;
}

static int
cmd_status(const struct hv_config *c, const char *message_id, struct hv_err *e)
{
	struct hv_auth *a = NULL;
	struct status s = { c, 0, !isatty(STDOUT_FILENO) };
	uint8_t mid[HV_INDEX_MID_LEN];
	size_t i;
	int r, lack = 0, known = 0;

	if ((r = hv_auth_open(&a, c, e)) < 0)
		return r;
	hv_hmac_sha256(mid, hv_auth_key(a, HV_AUTH_KEY_INDEX), HV_KEY_LEN, message_id,
	    strlen(message_id));
	if ((r = hv_index_copies(hv_auth_store(a), mid, print_copy, &s, e)) == 0) {
		for (i = 0; i < c->nteams; i++) {
			if (hv_index_message_get(hv_auth_store(a), c->teams[i].name, mid, NULL,
			    NULL) != 0)
				continue;
			known = 1;
			if ((r = missing(a, &c->teams[i], mid, e)) < 0)
				break;
			lack |= r;
			if ((r = hv_index_skipped(hv_auth_store(a), c->teams[i].name, warn_skip,
			    NULL, e)) < 0 || (r = print_state(&s, a, &c->teams[i], mid, e)) < 0)
				break;
		}
		if (r == 0 && !known) {
			hv_warnx("%s: not in the index", message_id);
			r = HV_ENO;
		} else if (r == 0 && lack) {
			r = HV_ENO;
		}
	}
	hv_auth_close(a);
	return r;
}

/* hv-sync labels, and hv-sync set (set: message-id and what). */
static int
cmd_labels(const struct hv_config *c, const char *team, char **set, long wait,
    struct hv_err *e)
{
	struct hv_labels_io io = { emit, note, NULL };
	struct hv_labels_stats st;
	struct hv_team_lock *lock;
	int r;

	if ((r = hv_team_lock(c, team, HV_LOCK_LABELS, wait, &lock, e)) < 0)
		return r;
	r = set == NULL ? hv_labels_run(c, team, &io, &st, e) :
	    hv_labels_set(c, team, set[0], set[1], &io, &st, e);
	hv_team_unlock(lock);
	hv_progress_end();
	if (hv_verbosity >= 0 && (st.changes || st.applied || st.deleted || hv_verbosity > 0))
		hv_warnx("%s: labels: %ld changes, %ld copies updated, %ld deleted by their "
		    "member, %ld left for the next run, %ld resyncs; %ld calls, %.0f units", team,
		    st.changes, st.applied, st.deleted, st.failed, st.resyncs, st.calls, st.units);
	return r;
}

/* What the run needs to take the team's lock when it is ready. */
struct locking {
	const struct hv_config *c;
	const char *team;
	long wait;
	struct hv_team_lock *lock;
};

/*
 * hv_sync_run calls this, reading a pipe, once hv-fetch has said something
 * (a line, or the end).  Were we to hold the lock while our hv-fetch waits
 * (-w) for another pipeline's, whose hv-sync waits for ours, each pipeline
 * would hold what the other needs until a wait ran out.
 */
static int
take_lock(void *arg, struct hv_err *e)
{
	struct locking *l = arg;

	return hv_team_lock(l->c, l->team, HV_LOCK_SYNC, l->wait, &l->lock, e);
}

static int
cmd_sync(const struct hv_config *c, struct hv_sync_opts *o, const char *file, long wait,
    struct hv_err *e)
{
	struct locking l = { c, o->team, wait, NULL };
	struct hv_sync_io io = { emit, note, take_lock, &l };
	struct hv_sync_stats st;
	int r;

	o->input = file != NULL ? file : stdin_has_lines() ? "-" : NULL;
	r = hv_sync_run(c, o, &io, &st, e);
	hv_team_unlock(l.lock);
	hv_progress_end();
	if (hv_verbosity >= 0 && (st.messages || hv_verbosity > 0))
		hv_warnx("%s: %ld messages: imported %ld, had %ld, done %ld, pending %ld, "
		    "gone %ld, failed %ld; %ld calls, %.0f units", o->team, st.messages,
		    st.imported, st.skipped, st.done, st.pending, st.gone, st.failed,
		    st.calls, st.units);
	return r;
}

/* Why the operands and options do not fit the command, or NULL. */
static const char *
args_bad(const char *cmd, int argc, const struct hv_sync_opts *o, long wait)
{
	if (cmd == NULL)
		return argc > 1 ? "sync takes at most one file" :
		    o->team == NULL ? "sync needs -t team" : NULL;
	if (strcmp(cmd, "status") == 0)
		return argc > 1 ? "status takes at most one Message-ID" :
		    argc == 1 && o->team != NULL ? "status takes -t or a Message-ID, not both" :
		    wait >= 0 ? "status takes no -w" : NULL;
	if (strcmp(cmd, "labels") == 0)
		return argc != 0 ? "labels takes no operands" :
		    o->team == NULL ? "labels needs -t team" : NULL;
	return argc != 2 ? "set takes a Message-ID and what to set" :
	    o->team == NULL ? "set needs -t team" : NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct hv_sync_opts o = { 0 };
	struct hv_config c;
	struct hv_err e = { 0 };
	static const char *const cmds[] = { "status", "labels", "set", NULL };
	const char *config = NULL, *cmd = NULL, *why;
	char mid[HV_MIME_ID_MAX + 1];
	long wait = -1;
	int ch, r;

	hv_init(argv[0]);
	/* Permuting: options before or after the command (cli.h). */
	while ((ch = getopt_long(argc, argv, "c:hqt:vVw:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'q': hv_verbosity--; break;
		case 't': o.team = optarg; break;
		case 'v': hv_verbosity++; break;
		case 'V': puts("hv-sync " HV_VERSION); return 0;
		case 'w':
			if (hv_lock_parse_wait(optarg, &wait, &e) < 0)
				return hv_usage_error(usage_text, "%s", e.msg);
			break;
		default: return hv_usage(usage_text, 64);
		}
	}
	argc -= optind;
	argv += optind;
	/* A bare run's operand is a file of hv-fetch lines, unless mistyped. */
	if ((r = hv_cli_command(cmds, argc > 0 ? argv[0] : NULL, HV_CLI_BARE | HV_CLI_FILES,
	    &e)) == HV_EUSAGE)
		return hv_usage_error(usage_text, "%s", e.msg);
	if (r >= 0) {
		cmd = argv[0];
		argc--;
		argv++;
	}
	if ((why = args_bad(cmd, argc, &o, wait)) != NULL)
		return hv_usage_error(usage_text, "%s", why);
	/* status and set: the Message-ID with or without its brackets. */
	if (cmd != NULL && strcmp(cmd, "labels") != 0 && argc > 0) {
		if (hv_mime_id_canon(mid, argv[0], &e) < 0)
			return hv_usage_error(usage_text, "%s", e.msg);
		argv[0] = mid;
	}
	if (wait < 0)
		wait = 0;
	if ((r = hv_config_load(&c, config, &e)) < 0)
		return hv_report(r, &e);
	if ((r = hv_sandbox_apply(&c, "hv-sync", cmd, cmd == NULL ? (const char *const *)argv :
	    NULL, &e)) < 0)
		;
	else if (cmd != NULL && strcmp(cmd, "status") == 0 && argc == 0)
		r = cmd_skipped(&c, o.team, &e);
	else if (cmd != NULL && strcmp(cmd, "status") == 0)
		r = cmd_status(&c, argv[0], &e);
	else if (cmd != NULL)
		r = cmd_labels(&c, o.team, argc == 2 ? argv : NULL, wait, &e);
	else
		r = cmd_sync(&c, &o, argc == 1 ? argv[0] : NULL, wait, &e);
	hv_config_free(&c);
	return hv_stdout_close(hv_report(r, &e));
}
