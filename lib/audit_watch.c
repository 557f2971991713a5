/*
 * audit_watch: hv-audit watch's loop: follow the trail and run the command
 * of each rule an event makes due, the event on its standard input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_query.h"
#include "audit_rules.h"
#include "audit_watch.h"
#include "banned.h"

struct watch {
	struct hv_audit_rules *rules;
	long long from;
	void (*warn)(void *arg, const char *msg);
	void *arg;
	const struct hv_audit_line *line;	/* the event being matched */
};

static void
say(const struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(const struct watch *w, const char *fmt, ...)
{
	char msg[HV_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	w->warn(w->arg, msg);
}

/* A rule is due: a command that fails is said, and the watch goes on. */
static void
run_command(const char *command, const char *line, size_t len, void *arg)
{
	const struct watch *w = arg;
	FILE *p;
	int st;

	/* What was written before must not reach the command's output late. */
	fflush(stdout);
	if ((p = popen(command, "w")) == NULL) {
		say(w, "cannot run '%s': %s", command, strerror(errno));
		return;
	}
	fwrite(line, 1, len, p);
	fputc('\n', p);
	if ((st = pclose(p)) != 0)
		say(w, "'%s' failed (status %d)", command, st);
}

static void
rule_failed(const char *filter, const char *why, void *arg)
{
	const struct watch *w = arg;

	say(w, "rule '%s': seq %llu: %s", filter, (unsigned long long)w->line->seq, why);
}

static int
watch_one(void *arg, const char *line, size_t len, struct hv_err *e)
{
	struct watch *w = arg;
	struct hv_audit_line l;
	struct hv_err le;

	(void)e;
	if (hv_audit_parse(&l, line, len, &le) < 0) {
		say(w, "%s: %.60s", le.msg, line);
		return 0;
	}
	if ((long long)l.seq < w->from)
		return 0;
	w->line = &l;
	hv_audit_rules_match(w->rules, line, len, time(NULL), run_command, rule_failed, w);
	return 0;
}

int
hv_audit_watch(const char *log, struct hv_audit_rules *rules, long long from,
    volatile sig_atomic_t *stop, void (*idle)(void *arg),
    void (*warn)(void *arg, const char *msg), void *arg, struct hv_err *e)
{
	struct watch w = { rules, from, warn, arg, NULL };

	return hv_audit_follow(log, from >= 0 ? 0 : -1, 1, stop, watch_one, &w, idle, warn, e);
}
