/*
 * team: who a team's members are, and which of them hv can reach.
 *
 * A team's members are its members line and the users of its Google
 * group, nested groups included.  Some of a group's members are nobody hv
 * can sync to: a CUSTOMER member (the whole organisation), a group Google
 * did not expand (another customer's), a suspended user, and an address
 * hv has no way to a token for (outside every domain with a service
 * account, and never signed in with hv-auth login).  Those are skipped,
 * with why, and a message counts done once every other member has it:
 * otherwise one outsider in a group would keep every message in the spool
 * for ever.  Members named in hv.conf are never skipped: whoever wrote
 * them meant them, and they fail as before until they can be reached.
 */
#ifndef HV_TEAM_H
#define HV_TEAM_H

#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "err.h"
#include "store.h"

struct hv_team_skip {
	char *member;		/* owned: an address, or "customer C0..." */
	char *kind;		/* owned: USER, GROUP or CUSTOMER */
	char *why;		/* owned: for a person, e.g. "outside example.com and
				 * never signed in (run hv-auth login x@y)" */
};

struct hv_team_roster {
	char **members;		/* owned: the accounts hv syncs to, in order, each once */
	size_t n;
	struct hv_team_skip *skips;	/* owned */
	size_t nskips;
};

/*
 * Resolve team t's roster: its members line, then its group's members
 * (Directory API, includeDerivedMembership=true, read as the team's
 * source: through the domain's service account, else the source's own
 * sign-in), and record it in the store (hv_index_roster_put), so that
 * hv-auth login knows a group member's scopes and hv-sync status can name
 * the skipped.  Blocks on the network for a group.
 *
 * 0, or: HV_EPERM when a group team has no member hv can reach other than
 * its source but some could be reached by signing in; HV_ECONFIG when it
 * has none at all; the Directory's and the store's failures.  ro is
 * filled on 0 and on HV_EPERM/HV_ECONFIG (so the skipped can be named).
 */
int hv_team_roster(struct hv_auth *a, const struct hv_config *c, const struct hv_team *t,
    struct hv_team_roster *ro, struct hv_err *e);

void hv_team_roster_release(struct hv_team_roster *ro);

/*
 * Call fn with each member of t that hv syncs to, without the network:
 * its members line, and for a group the users the last run recorded and
 * did not skip.  Stops at fn's first non-zero return, which it returns.
 */
int hv_team_members_each(struct hv_store *s, const struct hv_team *t,
    int (*fn)(const char *account, void *arg), void *arg, struct hv_err *e);

#endif
