/*
 * follow: hv-fetch --follow, a fetch that keeps running.
 *
 * For a team with [team] topic and subscription: users.watch on the
 * source (Gmail then publishes a notification to the topic whenever the
 * mailbox changes), renewed daily as Google advises and at once when its
 * expiration is near; the subscription pulled in a loop (a long poll on
 * a libcurl multi handle, beside a self-pipe for SIGTERM and SIGINT, so
 * a pull in flight delays neither a signal nor a timer); and on each
 * notification for the source, the same run as hv_fetch_run() makes.
 *
 * A notification is acknowledged only after the run it caused ended
 * well: its spool files fsynced, their index rows committed and their
 * lines written.  Notifications for other addresses are acknowledged and
 * otherwise ignored, as are ones that cannot be parsed (they would come
 * back forever).  One whose historyId the cursor has passed (Pub/Sub
 * delivers at least once: a duplicate) is acknowledged without a run.
 * The run at start catches up from the stored cursor, and a safety poll
 * (the team's poll, [google] poll, 5 minutes by default) runs one
 * without any notification, so one dropped costs at most that long.
 *
 * The source's own token is used for Pub/Sub (hv_auth_scopes asks for
 * the pubsub scope where a team follows): one account, one grant.  The
 * watch's expiration is kept in the store (hv_follow_watch_expiry) for
 * hv-doctor.
 *
 * Errors Google or the network may cure (HV_ETEMP, HV_ENOHOST,
 * HV_EPROTO, HV_EUNAVAIL) are retried with a backoff from 1 s doubling
 * to 5 minutes; anything else ends the loop with its code.  SIGTERM or
 * SIGINT: the message under way is finished, what was made durable is
 * acknowledged, and the loop returns 0.
 *
 * Test hook: HV_TEST_FOLLOW_DAY, seconds that stand for a day in the
 * renewal schedule, so a test sees the watch renewed without waiting.
 */
#ifndef HV_FOLLOW_H
#define HV_FOLLOW_H

#include "auth.h"
#include "config.h"
#include "err.h"
#include "fetch.h"
#include "store.h"

/*
 * Follow team until a signal or a lasting error (see above).  The caller
 * holds the team's fetch lock.  Blocks; installs handlers for SIGTERM
 * and SIGINT for its duration.
 */
int hv_follow(const struct hv_config *c, const char *team, const struct hv_fetch_io *io,
    struct hv_err *e);

/* The expiration (seconds since the epoch) of account's watch, as Google
 * last answered: 0, HV_ENOINPUT when none was made. */
int hv_follow_watch_expiry(struct hv_store *s, const char *account, long long *expiry,
    struct hv_err *e);

/*
 * Whether team's subscription is there and the source's token may read
 * it (GET {pubsub}/v1/{subscription}): 0; HV_EPERM when access is
 * refused, HV_ECONFIG when it does not exist, HV_ETEMP when Google
 * cannot be reached.  Blocks on the network.
 */
int hv_follow_subscription_check(const struct hv_config *c, struct hv_auth *a,
    const struct hv_team *t, struct hv_err *e);

#endif
