/*
 * syslabel: the labels Gmail itself owns.
 *
 * Google documents label ids as opaque: a user label's id is whatever
 * labels.create answered ("Label_12" today, anything tomorrow), so hv
 * never reads meaning into one.  The only ids with a meaning are the
 * system labels' (Gmail API, users.labels: "INBOX", "SPAM", ...), and
 * Gmail refuses a user label named like one ("Invalid label name").
 * Base layer: the configuration checks names against this table too.
 */
#ifndef HV_SYSLABEL_H
#define HV_SYSLABEL_H

#include <stddef.h>

/*
 * The system label that name names, compared without regard to case, by
 * its id ("inbox", "category_social") or by the name Gmail shows for it
 * ("Inbox", "Drafts", "Social"): its id, or NULL when name names none.
 */
const char *hv_syslabel_of(const char *name);

/* 1 when the n bytes at id are exactly a system label's id ("INBOX"). */
int hv_syslabel_id(const char *id, size_t n);

#endif
