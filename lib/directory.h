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

/*
 * Call fn with each primary email of domain's users (group NULL) or of
 * group's members (domain NULL), following nextPageToken to the end.
 * base is [google] directory; token an access token with the scopes above.
 * Stops at fn's first non-zero return, which it returns.
 */
int hv_directory_list(struct hv_http *h, const char *base, const char *token,
    const char *domain, const char *group,
    int (*fn)(const char *email, const char *kind, void *arg), void *arg,
    struct hv_err *e);

#endif
