/*
 * quota: a client-side token bucket per mailbox, charged each method's
 * unit cost, so hv spends Gmail's per-user quota at the rate Google
 * refills it instead of discovering the limit through 429s.
 *
 * Two tables are in force at Google: "legacy" (250 units a second;
 * messages.get 5) and "2026" (6,000 units a minute; messages.get 20);
 * "off" charges nothing.
 */
#ifndef HV_QUOTA_H
#define HV_QUOTA_H

#include "err.h"

struct hv_quota {
	double rate;		/* units per second */
	double burst;		/* the bucket's size */
	double level;		/* units available now */
	double reserve;		/* units never spent, for Google's jitter */
	double last;		/* when level was computed (seconds) */
	int get_cost;		/* messages.get: 5 or 20 */
	int off;
	double spent;		/* units charged so far */
};

/* Set up q for table ("legacy", "2026" or "off"): HV_ECONFIG otherwise. */
int hv_quota_init(struct hv_quota *q, const char *table, struct hv_err *e);

/* The unit cost of a method ("messages.get", "history.list", ...). */
int hv_quota_cost(const struct hv_quota *q, const char *method);

/*
 * Charge cost units at time now (seconds): returns how many seconds the
 * caller must wait before sending (0 when it may go at once), so that the
 * bucket keeps a reserve of a fifth of a second's refill.  The units are
 * taken either way, so callers queue fairly.
 */
double hv_quota_take(struct hv_quota *q, int cost, double now);

#endif
