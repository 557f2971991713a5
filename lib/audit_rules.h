/*
 * audit_rules: the rules of hv-audit watch, read from a file, and which of
 * them an event makes due.
 *
 * A rule is "match JQ-FILTER", optionally "count N within TIME", then "run
 * COMMAND"; blank lines and # comments are skipped.  A rule is due on the
 * count-th event it matches within its time (each match, without count).
 */
#ifndef HV_AUDIT_RULES_H
#define HV_AUDIT_RULES_H

#include <stddef.h>
#include <time.h>

#include "err.h"

struct hv_audit_rules;

/* Read and compile the rules of file: HV_EDATA naming file:line for what
 * is not a rule, a filter jq refuses, or a file of no rules. */
int hv_audit_rules_load(struct hv_audit_rules **w, const char *file, struct hv_err *e);
void hv_audit_rules_free(struct hv_audit_rules *w);

/*
 * An event (one trail line) at time now: fire gets the command of each
 * rule it makes due, failed the filter of each rule jq could not run on
 * it and why.  Neither may be NULL.
 */
void hv_audit_rules_match(struct hv_audit_rules *w, const char *line, size_t len, time_t now,
    void (*fire)(const char *command, const char *line, size_t len, void *arg),
    void (*failed)(const char *filter, const char *why, void *arg), void *arg);

#endif
