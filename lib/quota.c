#include <string.h>

#include "quota.h"
#include "banned.h"

/*
 * Seconds of refill kept in reserve.  Google's bucket sees each call a
 * little after it is sent, and not every call equally late: when the
 * first of a burst arrives later than those after it, Google counts less
 * refill between them than we did, and a bucket run down to exactly zero
 * here is short there (a 429).  The reserve absorbs that much jitter; the
 * steady rate is unchanged.
 */
#define RESERVE 0.2

static const struct {
	const char *method;
	int cost;
} costs[] = {
	{ "getProfile", 1 }, { "history.list", 2 }, { "labels.list", 1 },
	{ "labels.get", 1 }, { "labels.create", 5 }, { "messages.list", 5 },
	{ "messages.get", 5 }, { "messages.modify", 5 }, { "messages.insert", 25 },
	{ "messages.import", 25 }, { "messages.batchModify", 50 },
};

int
hv_quota_init(struct hv_quota *q, const char *table, struct hv_err *e)
{
	memset(q, 0, sizeof *q);
	q->get_cost = 5;
	if (strcmp(table, "legacy") == 0) {
		q->rate = 250;
		q->burst = 250;
	} else if (strcmp(table, "2026") == 0) {
		q->rate = 6000.0 / 60;
		q->burst = 6000;
		q->get_cost = 20;
	} else if (strcmp(table, "off") == 0) {
		q->off = 1;
	} else {
		return hv_err_set(e, HV_ECONFIG, "quota table '%s' is not legacy, 2026 or off",
		    table);
	}
	/* Start with a tenth of the bucket: another run may have spent the rest. */
	q->level = q->burst / 10;
	q->reserve = q->rate * RESERVE;
	q->last = -1;
	return 0;
}

int
hv_quota_cost(const struct hv_quota *q, const char *method)
{
	size_t i;

	if (strcmp(method, "messages.get") == 0)
		return q->get_cost;
	for (i = 0; i < sizeof costs / sizeof costs[0]; i++)
		if (strcmp(costs[i].method, method) == 0)
			return costs[i].cost;
	return 5;
}

double
hv_quota_take(struct hv_quota *q, int cost, double now)
{
	double wait;

	q->spent += cost;
	if (q->off)
		return 0;
	if (q->last >= 0) {
		q->level += (now - q->last) * q->rate;
		if (q->level > q->burst)
			q->level = q->burst;
	}
	q->last = now;
	q->level -= cost;
	if (q->level >= q->reserve)
		return 0;
	wait = (q->reserve - q->level) / q->rate;
	return wait;
}
