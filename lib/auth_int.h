/*
 * auth_int: what auth.c and auth_grant.c share; not for other modules.
 */
#ifndef HV_AUTH_INT_H
#define HV_AUTH_INT_H

#include "auth.h"
#include "http.h"
#include "keys.h"
#include "oauth.h"
#include "seal.h"

struct hv_auth {
	const struct hv_config *cfg;	/* borrowed */
	struct hv_store *store;		/* owned */
	struct hv_seal_key *tokens;	/* owned: the "tokens" purpose key */
	struct hv_http *http;		/* owned, made on first use */
	char *lock_dir;			/* owned */
	uint8_t *keys;			/* owned, locked: 3 purpose keys */
};

/* Seal value as owner's secret name and store it (no transaction). */
int auth_secret_put(struct hv_auth *a, const char *owner, const char *name,
    const void *value, size_t len, long long expires, struct hv_err *e);

/* Fetch and open owner's secret name into value (a secret buffer). */
int auth_secret_get(struct hv_auth *a, const char *owner, const char *name,
    struct hv_buf *value, long long *expires, struct hv_err *e);

/* The HTTP client, made on first use. */
int auth_http(struct hv_auth *a, struct hv_http **h, struct hv_err *e);

/* The check value of a master key, as stored in the database (hex). */
int auth_key_check(const uint8_t master[HV_KEY_LEN], char out[33], struct hv_err *e);

/* The service account of a domain, loaded (client email, private key). */
int auth_domain_sa(struct hv_auth *a, const char *domain, struct hv_oauth_sa *sa,
    struct hv_err *e);

/* Append an audit event about account (may be NULL) to the trail; the
 * trail's own failure is left for the next event to meet. */
void auth_audit(struct hv_auth *a, const char *action, const char *key, const char *value,
    int ok, const struct hv_err *e);

#endif
