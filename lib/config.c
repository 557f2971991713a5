#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "mem.h"
#include "syslabel.h"
#include "url.h"
#include "banned.h"

enum kind { K_STR, K_PATH, K_KEYSRC, K_DURATION, K_BOOL, K_LIST, K_COUNT, K_LABEL, K_SIZE };

/* Where a key lands: in struct hv_config, or in the current hv_team. */
struct key {
	const char *section;	/* "team" keys apply to [team "name"] */
	const char *name;
	enum kind kind;
	size_t off;
	size_t count_off;	/* K_LIST: where the count goes */
};

#define C(f) offsetof(struct hv_config, f)
#define T(f) offsetof(struct hv_team, f)

static const struct key keys[] = {
	{ "paths", "state", K_PATH, C(paths.state), 0 },
	{ "paths", "spool", K_PATH, C(paths.spool), 0 },
	{ "paths", "audit", K_PATH, C(paths.audit), 0 },
	{ "keys", "master", K_KEYSRC, C(keys.master), 0 },
	{ "google", "api", K_STR, C(google.api), 0 },
	{ "google", "oauth", K_STR, C(google.oauth), 0 },
	{ "google", "accounts", K_STR, C(google.accounts), 0 },
	{ "google", "directory", K_STR, C(google.directory), 0 },
	{ "google", "ca_file", K_PATH, C(google.ca_file), 0 },
	{ "google", "client", K_PATH, C(google.client), 0 },
	{ "google", "quota", K_STR, C(google.quota), 0 },
	{ "google", "inflight", K_COUNT, C(google.inflight), 0 },
	{ "google", "resumable_above", K_SIZE, C(google.resumable_above), 0 },
	{ "google", "pubsub", K_STR, C(google.pubsub), 0 },
	{ "google", "poll", K_DURATION, C(google.poll), 0 },
	{ "spool", "ttl", K_DURATION, C(spool.ttl), 0 },
	{ "spool", "epoch", K_DURATION, C(spool.epoch), 0 },
	{ "spool", "allow_disk", K_BOOL, C(spool.allow_disk), 0 },
	{ "spool", "keys", K_STR, C(spool.keys), 0 },
	{ "sandbox", "mode", K_STR, C(sandbox.mode), 0 },
	{ "team", "source", K_STR, T(source), 0 },
	{ "team", "members", K_LIST, T(members), T(nmembers) },
	{ "team", "group", K_STR, T(group), 0 },
	{ "team", "label", K_LABEL, T(label), 0 },
	{ "team", "query", K_STR, T(query), 0 },
	{ "team", "import", K_BOOL, T(import), 0 },
	{ "team", "sync_labels", K_BOOL, T(sync_labels), 0 },
	{ "team", "states", K_LIST, T(states), T(nstates) },
	{ "team", "topic", K_STR, T(topic), 0 },
	{ "team", "subscription", K_STR, T(subscription), 0 },
	{ "team", "poll", K_DURATION, T(poll), 0 },
	{ "backup", "to", K_LIST, C(backup.to), C(backup.nto) },
	{ "backup", "endpoint", K_STR, C(backup.endpoint), 0 },
	{ "backup", "region", K_STR, C(backup.region), 0 },
	{ "backup", "recipient", K_STR, C(backup.recipient), 0 },
	{ "backup", "credentials", K_PATH, C(backup.credentials), 0 },
	{ "backup", "ca_file", K_PATH, C(backup.ca_file), 0 },
	{ "backup", "every", K_DURATION, C(backup.every), 0 },
	{ "backup", "keep", K_COUNT, C(backup.keep), 0 },
	{ "audit", "checkpoint_events", K_COUNT, C(audit.checkpoint_events), 0 },
	{ "audit", "checkpoint_interval", K_DURATION, C(audit.checkpoint_interval), 0 },
};

struct parser {
	struct hv_config *c;
	const char *name;
	int line;
	const char *section;	/* a keys[].section, or NULL before any */
	struct hv_team *team;	/* the [team "x"] being read */
	unsigned char seen[sizeof keys / sizeof keys[0]];
	struct hv_err *e;
};

static int bad(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct parser *p, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return hv_err_set(p->e, HV_ECONFIG, "%s:%d: %s", p->name, p->line, what);
}

static long
duration_unit(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	}
	return 0;
}

static long
size_unit(char c)
{
	switch (c) {
	case 'k': case 'K': return 1L << 10;
	case 'm': case 'M': return 1L << 20;
	case 'g': case 'G': return 1L << 30;
	}
	return 0;
}

/* Digits and at most one letter that unit() knows (0: none it knows). */
static int
parse_scaled(const char *s, long (*unit)(char c), long *out)
{
	char *end;
	long v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return HV_EDATA;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return HV_EDATA;
	if (*end != '\0' && (end[1] != '\0' || (mul = unit(*end)) == 0))
		return HV_EDATA;
	if (v > LONG_MAX / mul)
		return HV_EDATA;
	*out = v * mul;
	return 0;
}

int
hv_parse_duration(const char *s, long *out)
{
	return parse_scaled(s, duration_unit, out);
}

int
hv_parse_size(const char *s, long *out)
{
	return parse_scaled(s, size_unit, out);
}

static int
parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return HV_EDATA;
}

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h == '/')
		return h;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : "/";
}

/* $XDG_* fall back as the XDG base directory spec says, so cron works. */
static int
env_value(struct hv_buf *out, const char *var)
{
	const char *v = getenv(var);

	if (v != NULL && *v != '\0')
		return hv_buf_adds(out, v);
	if (strcmp(var, "HOME") == 0)
		return hv_buf_adds(out, home_dir());
	if (strcmp(var, "XDG_RUNTIME_DIR") == 0)
		return hv_buf_addf(out, "/run/user/%u", (unsigned)getuid());
	if (strcmp(var, "XDG_CONFIG_HOME") == 0)
		return hv_buf_addf(out, "%s/.config", home_dir());
	if (strcmp(var, "XDG_STATE_HOME") == 0)
		return hv_buf_addf(out, "%s/.local/state", home_dir());
	return HV_ENOINPUT;
}

/* Expand ~ and $VAR; on failure *unset names the variable. */
static int
expand_path(const char *s, char **out, char *unset, size_t unsetlen)
{
	struct hv_buf b = HV_BUF_INIT(PATH_MAX);
	char var[64];
	size_t n;
	int r = 0;

	if (s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
		r = hv_buf_adds(&b, home_dir());
		s++;
	}
	while (r == 0 && *s) {
		if (*s != '$') {
			r = hv_buf_add(&b, s++, 1);
			continue;
		}
		int brace = s[1] == '{';
		s += 1 + brace;
		for (n = 0; (isalnum((unsigned char)s[n]) || s[n] == '_') && n < sizeof var - 1; n++)
			var[n] = s[n];
		var[n] = '\0';
		s += n;
		if (n == 0 || (brace && *s++ != '}')) {
			r = HV_EDATA;
			break;
		}
		if ((r = env_value(&b, var)) == HV_ENOINPUT)
			snprintf(unset, unsetlen, "%s", var);
	}
	if (r < 0 || b.len == 0) {
		hv_buf_release(&b);
		return r < 0 ? r : HV_EDATA;
	}
	*out = hv_buf_detach(&b, NULL);
	return 0;
}

static int
split_list(struct parser *p, const char *key, const char *v, char ***list,
    size_t *count)
{
	char **l = NULL;
	size_t n = 0, len;

	while (*v) {
		while (isspace((unsigned char)*v) || *v == ',')
			v++;
		if (*v == '\0')
			break;
		for (len = 0; v[len] && !isspace((unsigned char)v[len]) && v[len] != ','; len++)
			;
		l = hv_xrealloc(l, (n + 2) * sizeof *l);
		l[n] = hv_xmalloc(len + 1);
		memcpy(l[n], v, len);
		l[n][len] = '\0';
		l[++n] = NULL;
		v += len;
	}
	if (n == 0) {
		free(l);
		return bad(p, "empty list for '%s'", key);
	}
	*list = l;
	*count = n;
	return 0;
}

static void
free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/*
 * Why a label name cannot be a team's label, or NULL when it can: Gmail
 * refuses a user label named like a system label (compared without
 * regard to case, and after trimming, as Gmail does), and taking the
 * system label instead would send every team message to its Inbox or
 * Spam.  Levels are split by '/', as Gmail nests them.
 */
static const char *
label_refused(const char *name, char *why, size_t max)
{
	const char *sys = hv_syslabel_of(name);
	size_t i, n = strlen(name), chars = 0;

	if (sys != NULL) {
		snprintf(why, max, "is Gmail's system label %s; name a label of your own", sys);
		return why;
	}
	if (n == 0 || isspace((unsigned char)name[0]) || isspace((unsigned char)name[n - 1]))
		return "begins or ends with a space, which Gmail drops";
	if (name[0] == '/' || name[n - 1] == '/' || strstr(name, "//") != NULL)
		return "has an empty level (a '/' at an end or two together)";
	for (i = 0; i < n; i++) {
		if ((unsigned char)name[i] < ' ' || name[i] == 0x7f)
			return "holds a control character";
		chars += ((unsigned char)name[i] & 0xc0) != 0x80;
	}
	if (chars > HV_CONFIG_LABEL_MAX) {
		snprintf(why, max, "is longer than Gmail takes (%d characters)",
		    HV_CONFIG_LABEL_MAX);
		return why;
	}
	return NULL;
}

static int
set_value(struct parser *p, const struct key *k, const char *v)
{
	char *base = strcmp(k->section, "team") == 0 ? (char *)p->team : (char *)p->c;
	void *field = base + k->off;
	char unset[64] = "";
	int r;

	switch (k->kind) {
	case K_LABEL: {
		char why[128];
		const char *no = label_refused(v, why, sizeof why);

		if (no != NULL)
			return bad(p, "label '%.100s' %s", v, no);
	}
		/* FALLTHROUGH */
	case K_STR:
		if (*v == '\0')
			return bad(p, "empty value for '%s'", k->name);
		free(*(char **)field);
		*(char **)field = hv_xstrdup(v);
		return 0;
	case K_KEYSRC:
		/* A key source is a path unless it names the keyring or a command. */
		if (*v == '\0')
			return bad(p, "empty value for '%s'", k->name);
		if (strncmp(v, "keyring:", 8) == 0 || strncmp(v, "command:", 8) == 0) {
			if (v[8] == '\0')
				return bad(p, "empty value for '%s'", k->name);
			free(*(char **)field);
			*(char **)field = hv_xstrdup(v);
			return 0;
		}
		/* FALLTHROUGH */
	case K_PATH:
		free(*(char **)field);
		*(char **)field = NULL;
		r = expand_path(v, (char **)field, unset, sizeof unset);
		if (r == HV_ENOINPUT)
			return bad(p, "$%s is not set", unset);
		if (r < 0)
			return bad(p, "bad path '%s'", v);
		return 0;
	case K_DURATION:
		if (hv_parse_duration(v, (long *)field) < 0 || *(long *)field <= 0)
			return bad(p, "bad duration '%s' (say 90s, 10m, 4h or 7d)", v);
		return 0;
	case K_COUNT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || end == v || n <= 0 || n > 1000000)
			return bad(p, "bad count '%s'", v);
		*(long *)field = n;
		return 0;
	}
	case K_SIZE:
		/* 0 stands for unset (the default then), so "off" is -1. */
		if (strcasecmp(v, "off") == 0) {
			*(long *)field = -1;
			return 0;
		}
		if (hv_parse_size(v, (long *)field) < 0 || *(long *)field <= 0)
			return bad(p, "bad size '%s' (say 5M, 512K, 6291456 or off)", v);
		return 0;
	case K_BOOL:
		if (parse_bool(v, (int *)field) < 0)
			return bad(p, "bad boolean '%s' (say yes or no)", v);
		return 0;
	case K_LIST:
		free_list(*(char ***)field);
		*(char ***)field = NULL;
		return split_list(p, k->name, v, (char ***)field, (size_t *)(base + k->count_off));
	}
	return HV_EINTERNAL;
}

/* Unquote a value in place: "..." with \" and \\, else trimmed up to a comment. */
static int
unquote(struct parser *p, char *v)
{
	char *w = v, *r = v;

	if (*r != '"') {
		r += strcspn(r, "#;");
		while (r > v && isspace((unsigned char)r[-1]))
			r--;
		*r = '\0';
		return 0;
	}
	for (r++; *r && *r != '"'; r++) {
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\')
				return bad(p, "bad escape in quoted value");
		}
		*w++ = *r;
	}
	if (*r != '"')
		return bad(p, "unterminated quoted value");
	for (r++; isspace((unsigned char)*r); r++)
		;
	if (*r && *r != '#' && *r != ';')
		return bad(p, "text after the quoted value");
	*w = '\0';
	return 0;
}

static int
start_team(struct parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->c->nteams; i++)
		if (strcmp(p->c->teams[i].name, name) == 0)
			return bad(p, "team '%s' defined twice", name);
	p->c->teams = hv_xrealloc(p->c->teams, (p->c->nteams + 1) * sizeof *p->c->teams);
	p->team = &p->c->teams[p->c->nteams++];
	memset(p->team, 0, sizeof *p->team);
	p->team->name = hv_xstrdup(name);
	p->team->import = 1;
	p->team->line = p->line;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, "team") == 0)
			p->seen[i] = 0;
	return 0;
}

static int
parse_section(struct parser *p, char *s)
{
	char *end = strchr(s, ']'), *sub = NULL, *q;
	size_t i;

	if (end == NULL)
		return bad(p, "unterminated section header");
	for (q = end + 1; isspace((unsigned char)*q); q++)
		;
	if (*q && *q != '#' && *q != ';')
		return bad(p, "text after the section header");
	*end = '\0';
	if ((q = strchr(s, ' ')) != NULL) {
		*q++ = '\0';
		if (*q != '"' || end - q < 2 || end[-1] != '"')
			return bad(p, "bad subsection in [%s ...]", s);
		end[-1] = '\0';
		sub = q + 1;
		if (*sub == '\0' || strpbrk(sub, "\"\\/ \t") != NULL)
			return bad(p, "bad name '%s'", sub);
	}
	p->section = NULL;
	p->team = NULL;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, s) == 0)
			p->section = keys[i].section;
	if (p->section == NULL)
		return bad(p, "unknown section [%s]", s);
	if (strcmp(s, "team") == 0) {
		if (sub == NULL)
			return bad(p, "[team] needs a name: [team \"%s\"]", "support");
		return start_team(p, sub);
	}
	if (sub != NULL)
		return bad(p, "[%s] takes no name", s);
	return 0;
}

/* Remember the line that set key i, for hv-doctor config. */
static void
note_origin(struct parser *p, size_t i)
{
	struct hv_config *c = p->c;
	struct hv_config_origin *o;

	c->origins = hv_xrealloc(c->origins, (c->norigins + 1) * sizeof *c->origins);
	o = &c->origins[c->norigins++];
	o->key = (int)i;
	o->team = p->team != NULL ? p->team - c->teams : -1;
	o->line = p->line;
}

static int
parse_assignment(struct parser *p, char *s)
{
	char *eq = strchr(s, '='), *k_end, *v;
	size_t i;

	if (p->section == NULL)
		return bad(p, "key outside any section");
	if (eq == NULL)
		return bad(p, "expected 'key = value'");
	for (k_end = eq; k_end > s && isspace((unsigned char)k_end[-1]); k_end--)
		;
	*k_end = '\0';
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, p->section) == 0 && strcmp(keys[i].name, s) == 0)
			break;
	if (i == sizeof keys / sizeof keys[0])
		return bad(p, "unknown key '%s'", s);
	if (p->seen[i])
		return bad(p, "'%s' set twice", s);
	p->seen[i] = 1;
	if (unquote(p, v) < 0)
		return HV_ECONFIG;
	note_origin(p, i);
	return set_value(p, &keys[i], v);
}

static void
set_default(char **field, const char *value)
{
	char unset[64];

	if (*field == NULL && value != NULL)
		(void)expand_path(value, field, unset, sizeof unset);
}

static void
config_defaults(struct hv_config *c)
{
	set_default(&c->paths.state, "$XDG_STATE_HOME/hv/hv.db");
	set_default(&c->paths.spool, "$XDG_RUNTIME_DIR/hv/spool");
	set_default(&c->paths.audit, "$XDG_STATE_HOME/hv/audit.log");
	set_default(&c->keys.master, "$XDG_CONFIG_HOME/hv/master.key");
	set_default(&c->google.api, "https://gmail.googleapis.com");
	set_default(&c->google.oauth, "https://oauth2.googleapis.com");
	set_default(&c->google.accounts, "https://accounts.google.com");
	set_default(&c->google.directory, "https://admin.googleapis.com");
	set_default(&c->google.client, "$XDG_CONFIG_HOME/hv/client_secret.json");
	set_default(&c->google.quota, "2026");
	set_default(&c->spool.keys, "keyring");
	set_default(&c->google.pubsub, "https://pubsub.googleapis.com");
	/* Five minutes: a dropped notification costs at most that. */
	if (c->google.poll == 0)
		c->google.poll = 300;
	set_default(&c->sandbox.mode, "auto");
	if (c->spool.ttl == 0)
		c->spool.ttl = 600;
	if (c->spool.epoch == 0)
		c->spool.epoch = 60;
	if (c->backup.every == 0)
		c->backup.every = 4 * 3600;
	if (c->backup.keep == 0)
		c->backup.keep = 42;
	if (c->google.inflight == 0)
		c->google.inflight = HV_CONFIG_INFLIGHT;
	if (c->google.resumable_above == 0)
		c->google.resumable_above = HV_CONFIG_RESUMABLE_ABOVE;
	if (c->audit.checkpoint_events == 0)
		c->audit.checkpoint_events = 1000;
	if (c->audit.checkpoint_interval == 0)
		c->audit.checkpoint_interval = 900;
}

/* Shared-label states: open pending closed unless named; each a single
 * label level, once. */
static int
check_states(struct hv_team *t, const char *name, struct hv_err *e)
{
	static const char *const def[] = { "open", "pending", "closed" };
	size_t i, k;

	if (t->nstates == 0) {
		free(t->states);
		t->states = hv_xcalloc(4, sizeof *t->states);
		for (i = 0; i < 3; i++)
			t->states[i] = hv_xstrdup(def[i]);
		t->nstates = 3;
	}
	for (i = 0; i < t->nstates; i++) {
		if (strchr(t->states[i], '/') != NULL || strlen(t->states[i]) > 100)
			return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s': bad state '%s'",
			    name, t->line, t->name, t->states[i]);
		for (k = 0; k < i; k++)
			if (strcasecmp(t->states[k], t->states[i]) == 0)
				return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s': state "
				    "'%s' named twice", name, t->line, t->name, t->states[i]);
	}
	return 0;
}

static int
is_lower_digit_hyphen(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A project id, n bytes: "my-project-123", or "example.com:my-project". */
static int
project_ok(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t i, start = 0;

	if (colon != NULL) {
		/* A domain-scoped project: the domain is letters, digits, '.', '-'. */
		for (i = 0; p + i < colon; i++)
			if (!is_lower_digit_hyphen(p[i]) && p[i] != '.')
				return 0;
		start = (size_t)(colon - p) + 1;
		if (start == 1)
			return 0;
	}
	if (n - start < 6 || n - start > 30 || !(p[start] >= 'a' && p[start] <= 'z') ||
	    p[n - 1] == '-')
		return 0;
	for (i = start; i < n; i++)
		if (!is_lower_digit_hyphen(p[i]))
			return 0;
	return 1;
}

static int
resource_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > 255 || !is_alpha(s[0]) || strncmp(s, "goog", 4) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9') && !strchr("-_.~+%", s[i]))
			return 0;
	return 1;
}

int
hv_config_pubsub_name(const char *name, enum hv_config_pubsub kind, const char **why)
{
	const char *want = kind == HV_CONFIG_TOPIC ? "/topics/" : "/subscriptions/";
	const char *p, *slash;

	*why = kind == HV_CONFIG_TOPIC ? "is not projects/PROJECT/topics/TOPIC" :
	    "is not projects/PROJECT/subscriptions/SUBSCRIPTION";
	if (strncmp(name, "projects/", 9) != 0)
		return HV_ECONFIG;
	p = name + 9;
	if ((slash = strchr(p, '/')) == NULL || strncmp(slash, want, strlen(want)) != 0)
		return HV_ECONFIG;
	if (!project_ok(p, (size_t)(slash - p))) {
		*why = "has a bad project id (6 to 30 of a-z, 0-9 and '-', a letter first)";
		return HV_ECONFIG;
	}
	if (!resource_ok(slash + strlen(want))) {
		*why = "has a bad name (3 to 255 of A-Z a-z 0-9 - _ . ~ + %, a letter first, "
		    "not goog...)";
		return HV_ECONFIG;
	}
	return 0;
}

/* A followed team names both ends of Gmail's push, each in Google's shape. */
static int
check_follow(const struct hv_team *t, const char *name, struct hv_err *e)
{
	const char *why;

	if ((t->topic == NULL) != (t->subscription == NULL))
		return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s' has %s but no %s: "
		    "following needs both", name, t->line, t->name,
		    t->topic ? "a topic" : "a subscription", t->topic ? "subscription" : "topic");
	if (t->topic != NULL && hv_config_pubsub_name(t->topic, HV_CONFIG_TOPIC, &why) < 0)
		return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s': topic '%.300s' %s", name,
		    t->line, t->name, t->topic, why);
	if (t->subscription != NULL &&
	    hv_config_pubsub_name(t->subscription, HV_CONFIG_SUBSCRIPTION, &why) < 0)
		return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s': subscription '%.300s' %s",
		    name, t->line, t->name, t->subscription, why);
	return 0;
}

/* What a team needs, and the label default, once its section is read. */
static int
check_teams(struct hv_config *c, const char *name, struct hv_err *e)
{
	struct hv_team *t;
	const char *no;
	char why[128];
	size_t i;
	int r;

	for (i = 0; i < c->nteams; i++) {
		t = &c->teams[i];
		if (t->source == NULL)
			return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s' has no source",
			    name, t->line, t->name);
		if (t->nmembers == 0 && t->group == NULL)
			return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s' has neither "
			    "members nor group", name, t->line, t->name);
		if (t->label == NULL && (no = label_refused(t->name, why, sizeof why)) != NULL)
			return hv_err_set(e, HV_ECONFIG, "%s:%d: team '%s' has no 'label =', and its "
			    "name, as a label, %s", name, t->line, t->name, no);
		if (t->label == NULL)
			t->label = hv_xstrdup(t->name);
		if ((r = check_states(t, name, e)) < 0 || (r = check_follow(t, name, e)) < 0)
			return r;
		if (t->poll == 0)
			t->poll = c->google.poll;
	}
	if (c->spool.epoch > c->spool.ttl)
		return hv_err_set(e, HV_ECONFIG, "%s: spool epoch (%lds) is longer than "
		    "its ttl (%lds)", name, c->spool.epoch, c->spool.ttl);
	if (strcmp(c->sandbox.mode, "auto") != 0 && strcmp(c->sandbox.mode, "required") != 0 &&
	    strcmp(c->sandbox.mode, "off") != 0)
		return hv_err_set(e, HV_ECONFIG, "%s: bad sandbox mode '%s' (auto, required "
		    "or off)", name, c->sandbox.mode);
	if (c->google.inflight > 100)
		return hv_err_set(e, HV_ECONFIG, "%s: inflight %ld is more than Google allows "
		    "a mailbox (at most 100)", name, c->google.inflight);
	if (c->google.quota != NULL && strcmp(c->google.quota, "legacy") != 0 &&
	    strcmp(c->google.quota, "2026") != 0 && strcmp(c->google.quota, "off") != 0 &&
	    c->google.quota[0] != '/')
		return hv_err_set(e, HV_ECONFIG, "%s: bad quota '%s' (legacy, 2026, off "
		    "or an absolute path)", name, c->google.quota);
	if (c->spool.keys != NULL && strcmp(c->spool.keys, "keyring") != 0 &&
	    strcmp(c->spool.keys, "files") != 0)
		return hv_err_set(e, HV_ECONFIG, "%s: bad spool keys '%s' (keyring or files)",
		    name, c->spool.keys);
	return 0;
}

/*
 * Every URL hv sends requests to, by the one policy (lib/url.c), when the
 * file is read: an http:// typo or a user@ in a URL fails every run at
 * once with 78, rather than at its first request, or after it.
 */
static int
check_urls(const struct hv_config *c, const char *name, struct hv_err *e)
{
	const struct { const char *key, *url; unsigned flags; } u[] = {
		{ "[google] api", c->google.api, HV_URL_BASE },
		{ "[google] oauth", c->google.oauth, HV_URL_BASE },
		{ "[google] accounts", c->google.accounts, HV_URL_BASE },
		{ "[google] directory", c->google.directory, HV_URL_BASE },
		{ "[google] pubsub", c->google.pubsub, HV_URL_BASE },
		{ "[backup] endpoint", c->backup.endpoint, HV_URL_ORIGIN },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		if (u[i].url != NULL && hv_url_check(u[i].url, u[i].flags, &why) < 0)
			return hv_err_set(e, HV_ECONFIG, "%s: %s '%.200s' %s", name,
			    u[i].key, u[i].url, why);
	return 0;
}

int
hv_config_parse(struct hv_config *c, const char *name, const char *text,
    size_t len, struct hv_err *e)
{
	struct parser p;
	char *copy, *line, *next, *s;
	int r = 0;

	memset(c, 0, sizeof *c);
	memset(&p, 0, sizeof p);
	p.c = c;
	p.name = name;
	p.e = e;
	if (memchr(text, '\0', len) != NULL)
		return hv_err_set(e, HV_ECONFIG, "%s: contains a NUL byte", name);
	copy = hv_xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; r == 0 && line != NULL; line = next) {
		p.line++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (s = line; isspace((unsigned char)*s); s++)
			;
		for (char *t = s + strlen(s); t > s && isspace((unsigned char)t[-1]); )
			*--t = '\0';
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		r = *s == '[' ? parse_section(&p, s + 1) : parse_assignment(&p, s);
	}
	free(copy);
	if (r == 0) {
		/* Checks judge the values in force, defaults included. */
		config_defaults(c);
		if ((r = check_teams(c, name, e)) == 0)
			r = check_urls(c, name, e);
	}
	if (r < 0)
		hv_config_free(c);
	return r;
}

/* A CA bundle decides whom hv believes to be Google: as trusted as the
 * config that names it.  A missing one is for libcurl to report, when a
 * tool that talks to anyone loads it. */
static int
check_trusted(const struct hv_config *c, struct hv_err *e)
{
	const char *ca[] = { c->google.ca_file, c->backup.ca_file };
	const char *key[] = { "[google] ca_file", "[backup] ca_file" };
	size_t i;

	for (i = 0; i < 2; i++)
		if (ca[i] != NULL && access(ca[i], F_OK) == 0 && hv_path_trusted(ca[i], e) < 0)
			return hv_err_wrap(e, "%s", key[i]);
	return 0;
}

static int
config_read(struct hv_config *c, const char *path, struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(HV_CONFIG_MAX);
	int r;

	if ((r = hv_file_read(path, &b, e)) < 0) {
		hv_buf_release(&b);
		if (r == HV_EDATA)
			r = hv_err_set(e, HV_ECONFIG, "'%s' is larger than %d bytes",
			    path, HV_CONFIG_MAX);
		return r;
	}
	/* A config names commands (master = command:...) and keys: no one
	 * else may have written it, or a directory above it. */
	if ((r = hv_path_trusted(path, e)) < 0) {
		hv_buf_release(&b);
		return hv_err_wrap(e, "hv.conf");
	}
	r = hv_config_parse(c, path, b.data ? b.data : "", b.len, e);
	hv_buf_release(&b);
	if (r == 0 && (r = check_trusted(c, e)) < 0)
		hv_config_free(c);
	if (r == 0)
		c->file = hv_xstrdup(path);
	return r;
}

int
hv_config_load(struct hv_config *c, const char *path, struct hv_err *e)
{
	char *user = NULL, unset[64];
	const char *env = getenv("HV_CONFIG");
	int r;

	if (path == NULL && env != NULL && *env != '\0')
		path = env;
	if (path != NULL)
		return config_read(c, path, e);
	if (expand_path("$XDG_CONFIG_HOME/hv/hv.conf", &user, unset, sizeof unset) == 0 &&
	    access(user, F_OK) == 0) {
		r = config_read(c, user, e);
		free(user);
		return r;
	}
	free(user);
	if (access("/etc/hv/hv.conf", F_OK) == 0)
		return config_read(c, "/etc/hv/hv.conf", e);
	return hv_config_parse(c, "(defaults)", "", 0, e);
}

const struct hv_team *
hv_config_team(const struct hv_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nteams; i++)
		if (strcmp(c->teams[i].name, name) == 0)
			return &c->teams[i];
	return NULL;
}

void
hv_config_free(struct hv_config *c)
{
	size_t i;

	free(c->file);
	free(c->origins);
	free(c->paths.state);
	free(c->paths.spool);
	free(c->paths.audit);
	free(c->keys.master);
	free(c->google.api);
	free(c->google.oauth);
	free(c->google.accounts);
	free(c->google.directory);
	free(c->google.ca_file);
	free(c->google.client);
	free(c->google.quota);
	free(c->spool.keys);
	free(c->google.pubsub);
	free(c->sandbox.mode);
	for (i = 0; i < c->nteams; i++) {
		free(c->teams[i].name);
		free(c->teams[i].source);
		free_list(c->teams[i].members);
		free(c->teams[i].group);
		free(c->teams[i].label);
		free(c->teams[i].query);
		free(c->teams[i].topic);
		free(c->teams[i].subscription);
		free_list(c->teams[i].states);
	}
	free(c->teams);
	free_list(c->backup.to);
	free(c->backup.endpoint);
	free(c->backup.region);
	free(c->backup.recipient);
	free(c->backup.credentials);
	free(c->backup.ca_file);
	memset(c, 0, sizeof *c);
}

/* ---- the values in force, with their origin (hv-doctor config) ---- */

static int
origin_line(const struct hv_config *c, size_t key, long team)
{
	size_t i;

	for (i = 0; i < c->norigins; i++)
		if (c->origins[i].key == (int)key && c->origins[i].team == team)
			return c->origins[i].line;
	return 0;
}

static void
format_duration(struct hv_buf *b, long v)
{
	if (v % 86400 == 0)
		hv_buf_addf(b, "%ldd", v / 86400);
	else if (v % 3600 == 0)
		hv_buf_addf(b, "%ldh", v / 3600);
	else if (v % 60 == 0)
		hv_buf_addf(b, "%ldm", v / 60);
	else
		hv_buf_addf(b, "%lds", v);
}

static void
format_size(struct hv_buf *b, long v)
{
	if (v < 0)
		hv_buf_adds(b, "off");
	else if (v > 0 && v % (1L << 30) == 0)
		hv_buf_addf(b, "%ldG", v >> 30);
	else if (v > 0 && v % (1L << 20) == 0)
		hv_buf_addf(b, "%ldM", v >> 20);
	else if (v > 0 && v % 1024 == 0)
		hv_buf_addf(b, "%ldK", v >> 10);
	else
		hv_buf_addf(b, "%ld", v);
}

/* The value of key k at base as text in b; 0 when it has none.  Nothing
 * is cut: b holds HV_CONFIG_MAX, more than any file could set. */
static int
format_value(struct hv_buf *b, const struct key *k, const char *base)
{
	const void *field = base + k->off;
	char *const *l;

	switch (k->kind) {
	case K_STR: case K_PATH: case K_KEYSRC: case K_LABEL:
		if (*(char *const *)field == NULL)
			return 0;
		hv_buf_adds(b, *(char *const *)field);
		return 1;
	case K_DURATION:
		format_duration(b, *(const long *)field);
		return 1;
	case K_COUNT:
		hv_buf_addf(b, "%ld", *(const long *)field);
		return 1;
	case K_SIZE:
		format_size(b, *(const long *)field);
		return 1;
	case K_BOOL:
		hv_buf_adds(b, *(const int *)field ? "yes" : "no");
		return 1;
	case K_LIST:
		if ((l = *(char **const *)field) == NULL)
			return 0;
		for (; *l != NULL; l++)
			hv_buf_addf(b, "%s%s", b->len ? " " : "", *l);
		return 1;
	}
	return 0;
}

static int
each_key(const struct hv_config *c, size_t i, long team,
    int (*fn)(const struct hv_config_item *it, void *arg), void *arg)
{
	const char *base = team < 0 ? (const char *)c : (const char *)&c->teams[team];
	struct hv_buf b = HV_BUF_INIT(HV_CONFIG_MAX);
	struct hv_config_item it;
	int r = 0;

	if (format_value(&b, &keys[i], base)) {
		it.section = keys[i].section;
		it.team = team < 0 ? NULL : c->teams[team].name;
		it.key = keys[i].name;
		it.value = b.data != NULL ? b.data : "";
		it.line = origin_line(c, i, team);
		r = fn(&it, arg);
	}
	hv_buf_release(&b);
	return r;
}

int
hv_config_each(const struct hv_config *c,
    int (*fn)(const struct hv_config_item *it, void *arg), void *arg)
{
	size_t i, k, t;
	int r = 0;

	for (i = 0; r == 0 && i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].section, "team") != 0) {
			r = each_key(c, i, -1, fn, arg);
			continue;
		}
		/* Each team's keys together, where the table has them. */
		if (i > 0 && strcmp(keys[i - 1].section, "team") == 0)
			continue;
		for (t = 0; r == 0 && t < c->nteams; t++)
			for (k = i; r == 0 && k < sizeof keys / sizeof keys[0] &&
			    strcmp(keys[k].section, "team") == 0; k++)
				r = each_key(c, k, (long)t, fn, arg);
	}
	return r;
}
