/*
 * cli: the command line every tool reads the same way.
 *
 * Tools parse options with getopt_long(3) in its permuting mode, so the
 * common options (-c, -v, -q, -h, -V) and a command's own may come before
 * or after the command; the command is then the first operand.  These
 * calls name it, refuse an unknown one with a reason and a suggestion, and
 * print the usage.  They print to stderr or stdout like msg.h's, and never
 * exit.
 */
#ifndef HV_CLI_H
#define HV_CLI_H

#include "err.h"

enum hv_cli_flags {
	HV_CLI_BARE = 1 << 0,	/* the tool does something without a command */
	HV_CLI_FILES = 1 << 1,	/* ...and that takes files as operands */
};

/*
 * The usage text: to stdout when status is 0 (-h), returning 0; else to
 * stderr, returning 64.
 */
int hv_usage(const char *text, int status);

/* A usage error: "prog: why" and the usage on stderr; returns 64. */
int hv_usage_error(const char *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Which of cmds (NULL-terminated) arg, the first operand or NULL, names:
 * its index, or -1 for a run without a command (HV_CLI_BARE: arg is NULL,
 * or, with HV_CLI_FILES, an operand of that run).  HV_EUSAGE with e saying
 * "unknown command 'verfy' (did you mean 'verify'?)" or "no command" when
 * arg names none.  With HV_CLI_FILES an operand counts as a mistyped
 * command only when no such file exists and it is close to a command.
 */
int hv_cli_command(const char *const *cmds, const char *arg, int flags, struct hv_err *e);

#endif
