#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit_rules.h"
#include "config.h"
#include "file.h"
#include "json_jq.h"
#include "mem.h"
#include "banned.h"

struct rule {
	struct hv_jq *q;
	char *filter, *command;
	long count, within;	/* fire on the count-th match within seconds */
	time_t *hits;		/* times of the last count matches, a ring */
	long nhits;
};

struct hv_audit_rules {
	struct rule *rules;
	size_t n;
};

void
hv_audit_rules_free(struct hv_audit_rules *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		hv_jq_free(w->rules[i].q);
		free(w->rules[i].filter);
		free(w->rules[i].command);
		free(w->rules[i].hits);
	}
	free(w->rules);
	free(w);
}

static int
rule_line(struct hv_audit_rules *w, struct rule *cur, const char *file, int ln, char *s,
    struct hv_err *e)
{
	char *arg = s + strcspn(s, " \t"), *end;
	long d;

	if (*arg != '\0')
		*arg++ = '\0';
	arg += strspn(arg, " \t");
	if (strcmp(s, "match") == 0 && *arg) {
		free(cur->filter);
		cur->filter = hv_xstrdup(arg);
		return 0;
	}
	if (strcmp(s, "count") == 0 && cur->filter != NULL) {
		errno = 0;
		cur->count = strtol(arg, &end, 10);
		if (errno || cur->count < 1 || cur->count > 100000 ||
		    strncmp(end, " within ", 8) != 0 || hv_parse_duration(end + 8, &d) < 0)
			return hv_err_set(e, HV_EDATA, "%s:%d: say 'count N within 10m'", file, ln);
		cur->within = d;
		return 0;
	}
	if (strcmp(s, "run") == 0 && *arg && cur->filter != NULL) {
		if (hv_jq_compile(&cur->q, cur->filter, e) < 0) {
			hv_err_wrap(e, "%s:%d", file, ln);
			return e->code = HV_EDATA;
		}
		cur->command = hv_xstrdup(arg);
		if (cur->count == 0)
			cur->count = 1;
		cur->hits = hv_xcalloc((size_t)cur->count, sizeof *cur->hits);
		w->rules = hv_xrealloc(w->rules, (w->n + 1) * sizeof *w->rules);
		w->rules[w->n++] = *cur;
		memset(cur, 0, sizeof *cur);
		return 0;
	}
	return hv_err_set(e, HV_EDATA, "%s:%d: expected 'match FILTER', 'count N within "
	    "TIME' or 'run COMMAND'", file, ln);
}

int
hv_audit_rules_load(struct hv_audit_rules **out, const char *file, struct hv_err *e)
{
	struct hv_audit_rules *w = hv_xcalloc(1, sizeof *w);
	struct hv_buf b = HV_BUF_INIT(1024 * 1024);
	struct rule cur = { 0 };
	char *line, *next, *end;
	int ln = 0, r;

	*out = NULL;
	if ((r = hv_file_read(file, &b, e)) < 0) {
		free(w);
		return r;
	}
	for (line = b.data; r == 0 && line != NULL && *line; line = next) {
		ln++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		for (end = line + strlen(line); end > line && (end[-1] == ' ' ||
		    end[-1] == '\t' || end[-1] == '\r'); )
			*--end = '\0';
		if (*line != '\0' && *line != '#')
			r = rule_line(w, &cur, file, ln, line, e);
	}
	if (r == 0 && cur.filter != NULL)
		r = hv_err_set(e, HV_EDATA, "%s: a 'match' without its 'run'", file);
	if (r == 0 && w->n == 0)
		r = hv_err_set(e, HV_EDATA, "%s: no rules", file);
	free(cur.filter);
	hv_buf_release(&b);
	if (r < 0)
		hv_audit_rules_free(w);
	else
		*out = w;
	return r;
}

/* The rule matched now: is it the count-th time within its window? */
static int
due(struct rule *u, time_t now)
{
	long i;

	u->hits[u->nhits++ % u->count] = now;
	if (u->nhits < u->count)
		return 0;
	for (i = 0; i < u->count; i++)
		if (now - u->hits[i] > u->within && u->count > 1)
			return 0;
	u->nhits = 0;
	return 1;
}

void
hv_audit_rules_match(struct hv_audit_rules *w, const char *line, size_t len, time_t now,
    void (*fire)(const char *command, const char *line, size_t len, void *arg),
    void (*failed)(const char *filter, const char *why, void *arg), void *arg)
{
	struct hv_err le;
	size_t i, hits;

	for (i = 0; i < w->n; i++) {
		if (hv_jq_run(w->rules[i].q, line, len, NULL, NULL, &hits, &le) < 0)
			failed(w->rules[i].filter, le.msg, arg);
		else if (hits > 0 && due(&w->rules[i], now))
			fire(w->rules[i].command, line, len, arg);
	}
}
