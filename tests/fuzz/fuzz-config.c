/*
 * fuzz-config: hv.conf(5) text, as the file named "fuzz".
 *
 * Invariants: a failure is HV_ECONFIG with one line naming the file, and
 * the line when there is one ("fuzz:N: ", N within the text; "fuzz: " for
 * what concerns the whole file), and leaves nothing allocated behind; a
 * success has every default filled in and every team complete.
 */
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "banned.h"

static size_t
count_lines(const uint8_t *data, size_t size)
{
	size_t i, n = 1;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void
check_failure(const struct hv_config *c, const struct hv_err *e,
    const uint8_t *data, size_t size)
{
	static const struct hv_config zero;
	const char *p = e->msg + strlen("fuzz:");
	size_t line = 0;

	CHECK(e->code == HV_ECONFIG && one_line(e->msg));
	CHECK(strncmp(e->msg, "fuzz:", 5) == 0);
	if (*p != ' ') {
		for (; *p >= '0' && *p <= '9' && line < size + 2; p++)
			line = line * 10 + (size_t)(*p - '0');
		CHECK(line >= 1 && line <= count_lines(data, size));
		CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
	}
	CHECK(memcmp(c, &zero, sizeof zero) == 0);
}

static void
check_list(char **l, size_t n)
{
	size_t i;

	CHECK(l == NULL ? n == 0 : l[n] == NULL);
	for (i = 0; i < n; i++)
		CHECK(l[i] != NULL && l[i][0] != '\0' && strpbrk(l[i], " \t,") == NULL);
}

static void
check_success(const struct hv_config *c)
{
	size_t i;

	CHECK(c->paths.state && c->paths.spool && c->paths.audit && c->keys.master);
	CHECK(c->google.api && c->google.oauth && c->google.accounts &&
	    c->google.directory && c->google.client && c->google.quota);
	CHECK(c->spool.ttl > 0 && c->spool.epoch > 0 && c->spool.epoch <= c->spool.ttl);
	CHECK(c->backup.every > 0 && c->backup.keep > 0);
	check_list(c->backup.to, c->backup.nto);
	for (i = 0; i < c->nteams; i++) {
		const struct hv_team *t = &c->teams[i];

		CHECK(t->name && t->source && t->label);
		CHECK(t->nmembers > 0 || t->group != NULL);
		check_list(t->members, t->nmembers);
		CHECK(hv_config_team(c, t->name) == t);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_config c;
	struct hv_err e = { 0 };
	int r;

	r = hv_config_parse(&c, "fuzz", (const char *)data, size, &e);
	if (r < 0)
		check_failure(&c, &e, data, size);
	else
		check_success(&c);
	hv_config_free(&c);
	return 0;
}
