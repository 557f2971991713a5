/*
 * auth: accounts and their tokens, sealed at rest: what hv-auth does, and
 * the one call every other tool makes for an access token.
 *
 * Every secret (access and refresh tokens, a service account's private
 * key) is sealed under the "tokens" key derived from the master key, with
 * the owner and the secret's name bound in as the context, so a row copied
 * onto another account does not open.  The master key never touches the
 * database; a short check value in it tells a wrong master key (77) from a
 * damaged row (65).
 */
#ifndef HV_AUTH_H
#define HV_AUTH_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "store.h"

/* Seconds of life a cached access token must have left to be handed out. */
#define HV_AUTH_MARGIN 300

struct hv_auth;

/*
 * Create what is missing: the master key file (when [keys] master is a
 * file that does not exist: *created set), and the state database.  An
 * existing database must match the master key (HV_EPERM otherwise).
 */
int hv_auth_init(const struct hv_config *c, int *created, struct hv_err *e);

/* Open the store with the master key.  c is borrowed for a's lifetime.
 * HV_ENOINPUT when hv-auth init has not run; HV_EPERM for a wrong key. */
int hv_auth_open(struct hv_auth **a, const struct hv_config *c, struct hv_err *e);
void hv_auth_close(struct hv_auth *a);

/* As hv_auth_open, without the purpose keys of hv_auth_key() (which must
 * not be called then): what a token, a login or a revocation needs, and
 * a third of the work on the path every cron job takes. */
int hv_auth_open_tokens(struct hv_auth **a, const struct hv_config *c, struct hv_err *e);

/* The store, for callers that list accounts. */
struct hv_store *hv_auth_store(struct hv_auth *a);

/* Purpose keys derived from the master key when the store was opened. */
enum hv_auth_key {
	HV_AUTH_KEY_INDEX,	/* HMAC of Message-IDs in the index */
	HV_AUTH_KEY_SUBJECTS,	/* seals the subjects the index keeps */
	HV_AUTH_KEY_AUDIT,	/* HMAC of Message-IDs in audit events */
};

/* The key (HV_KEY_LEN bytes, locked memory owned by a). */
const uint8_t *hv_auth_key(const struct hv_auth *a, enum hv_auth_key which);

/*
 * The scopes account needs to sign in with, from its roles in the teams:
 * gmail.readonly for a team's source (and the Directory's group members,
 * read-only, when the team is a group's: without a service account the
 * source's own grant lists it), gmail.insert and gmail.labels for a
 * member, gmail.modify where the team syncs labels, Cloud Pub/Sub's
 * (auth/pubsub) for the source of a team that follows (a subscription
 * is set: hv-fetch --follow pulls it with the source's token); extra (space-separated
 * short or full names, may be NULL) is added.  A member of a team is one
 * its members line names, or one its group had when hv-sync last listed
 * it.  HV_ECONFIG when the account is in no team and extra is empty.
 */
int hv_auth_scopes(struct hv_auth *a, const char *account, const char *extra,
    struct hv_buf *scopes, struct hv_err *e);

/* Can hv have a token for an account without a person? */
enum hv_auth_reach {
	HV_AUTH_REACH_YES,	/* its domain has a service account, or it signed in */
	HV_AUTH_REACH_NEVER,	/* neither: it never signed in */
	HV_AUTH_REACH_REVOKED,	/* it signed in, and that grant is gone */
};

/* Whether a token for account can be had without a person; reads the
 * store only. */
enum hv_auth_reach hv_auth_reachable(struct hv_auth *a, const char *account);

/*
 * The installed-app sign-in for account: PKCE, a loopback listener, and
 * show_url called with the consent URL (and the redirect address) for the
 * caller to show.  With paste_fd >= 0 a redirect URL pasted there is taken
 * too (for a headless server).  Google may grant less than asked: then
 * nothing is stored, the grant is revoked, and HV_EPERM says what is
 * missing.
 */
int hv_auth_login(struct hv_auth *a, const char *account, const char *scopes,
    void (*show_url)(const char *url, void *arg), void *arg, int paste_fd,
    int timeout, struct hv_err *e);

/*
 * Record the service account of a key file (JSON as Google gives it) as
 * the one that reaches every account of domain through domain-wide
 * delegation: its private key sealed, its client email kept.  With domain
 * NULL, the one domain all configured team accounts share.  On success,
 * *served (when not NULL) is the domain (borrowed from the arguments or
 * the configuration) and client_email (when not NULL) has the service
 * account's address appended, for the caller to confirm.
 */
int hv_auth_service_account(struct hv_auth *a, const char *key_path, const char *domain,
    const char **served, struct hv_buf *client_email, struct hv_err *e);

/*
 * A valid access token for account, appended to token (a secret buffer):
 * from the sealed cache while it has more than HV_AUTH_MARGIN seconds
 * left, else refreshed (or, for a delegated account, minted anew) under a
 * per-account lock, so many callers at once refresh once.  An account
 * not yet known whose domain has a service account is registered as
 * delegated, with the scopes its team roles need.  invalid_grant
 * marks the account revoked and is HV_EPERM; a network failure or a 5xx
 * is HV_ETEMP.  Blocks on the network only when refreshing.
 */
int hv_auth_token(struct hv_auth *a, const char *account, struct hv_buf *token,
    struct hv_err *e);

/*
 * As hv_auth_token, after Google answered 401 to refused, a token that
 * had not expired: a token other than refused, refreshed (or minted)
 * unless another process has done so already.
 */
int hv_auth_token_renew(struct hv_auth *a, const char *account, const char *refused,
    struct hv_buf *token, struct hv_err *e);

/*
 * Google answered 401 to a token just renewed (why says how): a signed-in
 * account is marked revoked, so later runs ask no more of Google until a
 * person signs in again.  HV_EPERM, e saying what to do.
 */
int hv_auth_refused(struct hv_auth *a, const char *account, const char *why,
    struct hv_err *e);

/* As hv_auth_token, for a delegated account with other scopes (the
 * Directory API); never cached. */
int hv_auth_token_scoped(struct hv_auth *a, const char *account, const char *scopes,
    struct hv_buf *token, struct hv_err *e);

/*
 * Revoke account's grant at Google, then erase its secrets and mark it
 * revoked, even when Google cannot be reached: then the secrets are gone
 * and the result is HV_ETEMP saying Google was not told.
 */
int hv_auth_revoke(struct hv_auth *a, const char *account, struct hv_err *e);

/*
 * Re-seal every secret under a new master key in one transaction and
 * replace the master key file.  Only for a file key source.  The old key
 * opens nothing afterwards.
 */
int hv_auth_rotate_key(struct hv_auth *a, int *count, struct hv_err *e);

#endif
