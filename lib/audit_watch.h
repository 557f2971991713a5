/*
 * audit_watch: hv-audit watch: the trail followed, each rule's command run
 * when an event makes it due (lib/audit_rules.h says when).
 */
#ifndef HV_AUDIT_WATCH_H
#define HV_AUDIT_WATCH_H

#include <signal.h>

#include "audit_rules.h"
#include "err.h"

/*
 * Follow log from seq from (from its end when from is negative) until
 * *stop, running the command of each rule an event makes due with the
 * event and a newline on its standard input.  A command that cannot run
 * or fails, a rule jq cannot run and a line that does not parse are said
 * through warn, and the watch goes on.  idle is called whenever the
 * trail has nothing new.  Returns as hv_audit_follow.
 */
int hv_audit_watch(const char *log, struct hv_audit_rules *rules, long long from,
    volatile sig_atomic_t *stop, void (*idle)(void *arg),
    void (*warn)(void *arg, const char *msg), void *arg, struct hv_err *e);

#endif
