/*
 * directory: the Admin SDK Directory API, read-only: the users of a domain
 * and the members of a group, every page of them, for setting up teams.
 */
#ifndef HV_DIRECTORY_H
#define HV_DIRECTORY_H

#include "err.h"
#include "http.h"

#define HV_SCOPE_DIRECTORY \
	"https://www.googleapis.com/auth/admin.directory.user.readonly " \
	"https://www.googleapis.com/auth/admin.directory.group.member.readonly"

/* One user of a domain, or one member of a group. */
struct hv_directory_entry {
	const char *email;	/* NULL for a CUSTOMER member */
	const char *id;		/* Google's id ("" when not given); a customer's id */
	const char *type;	/* USER, GROUP or CUSTOMER; USER for a domain's users */
	const char *status;	/* ACTIVE, SUSPENDED...; "" when not given */
};

/*
 * Call fn with each of domain's users (group NULL) or each of group's
 * members (domain NULL), following nextPageToken to the end; the strings
 * are borrowed for the call.  A group's members are asked with
 * includeDerivedMembership=true: the users of nested groups come too,
 * after their groups' own GROUP entries.  base is [google] directory;
 * token an access token with the scopes above.  Stops at fn's first
 * non-zero return, which it returns.
 */
int hv_directory_list(struct hv_http *h, const char *base, const char *token,
    const char *domain, const char *group,
    int (*fn)(const struct hv_directory_entry *m, void *arg), void *arg,
    struct hv_err *e);

#endif
