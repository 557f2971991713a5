#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "msg.h"
#include "banned.h"

#define NAME_MAX_ 32	/* longer than any command: no suggestion */

int
hv_usage(const char *text, int status)
{
	fputs(text, status == 0 ? stdout : stderr);
	return status == 0 ? 0 : 64;
}

int
hv_usage_error(const char *text, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", hv_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return hv_usage(text, 64);
}

/*
 * Edits from a to b, a swap of neighbours counting as one (optimal string
 * alignment), as typos are; NAME_MAX_ + 1 when either is too long.
 */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, v;
	size_t d[NAME_MAX_ + 1][NAME_MAX_ + 1];

	if (la > NAME_MAX_ || lb > NAME_MAX_)
		return NAME_MAX_ + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* The command arg most likely meant: a close spelling or a unique prefix. */
static const char *
suggest(const char *const *cmds, const char *arg)
{
	const char *best = NULL, *prefix = NULL;
	size_t d, best_d = 3, i, n = strlen(arg), prefixes = 0;

	for (i = 0; cmds[i] != NULL; i++) {
		if (n >= 2 && strncmp(cmds[i], arg, n) == 0) {
			prefix = cmds[i];
			prefixes++;
		}
		/* Two edits, but never more than half of what was typed. */
		if ((d = distance(arg, cmds[i])) < best_d && 2 * d <= n) {
			best = cmds[i];
			best_d = d;
		}
	}
	return best != NULL ? best : prefixes == 1 ? prefix : NULL;
}

int
hv_cli_command(const char *const *cmds, const char *arg, int flags, struct hv_err *e)
{
	const char *near;
	int i;

	if (arg == NULL)
		return flags & HV_CLI_BARE ? -1 : hv_err_set(e, HV_EUSAGE, "no command");
	for (i = 0; cmds[i] != NULL; i++)
		if (strcmp(cmds[i], arg) == 0)
			return i;
	near = suggest(cmds, arg);
	if ((flags & HV_CLI_FILES) && (near == NULL || access(arg, F_OK) == 0))
		return -1;
	if (near != NULL)
		return hv_err_set(e, HV_EUSAGE, "unknown command '%s' (did you mean '%s'?)",
		    arg, near);
	return hv_err_set(e, HV_EUSAGE, "unknown command '%s'", arg);
}
