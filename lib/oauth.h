/*
 * oauth: Google OAuth 2.0 as hv speaks it: requests built, answers parsed.
 *
 * The installed-app flow with PKCE (S256) and a loopback redirect, the
 * refresh_token grant, the jwt-bearer grant of a service account with
 * domain-wide delegation (RS256), and revocation.  Endpoints come from
 * the configuration ([google] oauth, accounts); tokens live in secret
 * buffers and are never printed here.
 */
#ifndef HV_OAUTH_H
#define HV_OAUTH_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "http.h"

#define HV_SCOPE_PREFIX "https://www.googleapis.com/auth/"

/* A Desktop ("installed") client, from the file Google's console gives. */
struct hv_oauth_client {
	char *client_id;		/* owned */
	struct hv_buf secret;		/* owned, secret */
};

/* Read the client file (0600; HV_EPERM when others can read it, HV_EDATA
 * naming what is missing when it is not a Desktop client file). */
int hv_oauth_client_load(struct hv_oauth_client *c, const char *path, struct hv_err *e);
int hv_oauth_client_parse(struct hv_oauth_client *c, const char *text, size_t n,
    struct hv_err *e);
void hv_oauth_client_release(struct hv_oauth_client *c);

/* A service account's key file: client email and PEM private key. */
struct hv_oauth_sa {
	char *client_email;		/* owned */
	struct hv_buf private_key;	/* owned, secret: PEM */
};

int hv_oauth_sa_parse(struct hv_oauth_sa *sa, const char *text, size_t n, struct hv_err *e);
void hv_oauth_sa_release(struct hv_oauth_sa *sa);

/* PKCE and state for one sign-in. */
struct hv_oauth_pkce {
	char verifier[64];	/* 43 characters of base64url */
	char challenge[64];	/* base64url(SHA-256(verifier)) */
	char state[32];
};

int hv_oauth_pkce_new(struct hv_oauth_pkce *p, struct hv_err *e);

/* The consent URL for the installed-app flow, appended to url. */
int hv_oauth_auth_url(struct hv_buf *url, const char *accounts, const char *client_id,
    const char *redirect, const char *scopes, const char *login_hint,
    const struct hv_oauth_pkce *p);

/*
 * Whether a redirect's request target ("/?state=...") carries state, the
 * one of this sign-in (compared in constant time): 1 yes, 0 no.
 */
int hv_oauth_redirect_ours(const char *target, const char *state);

/*
 * The code from a redirect: a whole URL or a request target
 * ("/?state=...&code=..."), checked against the expected state.  HV_EPERM
 * when the user refused (error=access_denied) or the state does not match,
 * HV_EDATA when there is no code.
 */
int hv_oauth_redirect_code(const char *target, const char *state, struct hv_buf *code,
    struct hv_err *e);

/* What the token endpoint granted. */
struct hv_oauth_token {
	struct hv_buf access;	/* secret */
	struct hv_buf refresh;	/* secret; empty when none was granted */
	long long expires_in;	/* seconds */
	char scope[1024];	/* granted, space-separated */
};

void hv_oauth_token_init(struct hv_oauth_token *t);
void hv_oauth_token_release(struct hv_oauth_token *t);

/*
 * Judge a token endpoint answer (status and body).  0 and t filled on
 * success; otherwise Google's error mapped: invalid_grant HV_EPERM ("token
 * has been expired or revoked"), unauthorized_client, invalid_scope and
 * access_denied HV_EPERM, invalid_client HV_ECONFIG, 429 and 5xx HV_ETEMP,
 * anything else HV_EPROTO.  e->msg carries Google's description.
 */
int hv_oauth_token_parse(struct hv_oauth_token *t, long status, const char *body,
    size_t n, struct hv_err *e);

/* The grants.  oauth is the endpoint base ([google] oauth). */
int hv_oauth_exchange_code(struct hv_http *h, const char *oauth,
    const struct hv_oauth_client *c, const char *code, const char *verifier,
    const char *redirect, struct hv_oauth_token *t, struct hv_err *e);
int hv_oauth_refresh(struct hv_http *h, const char *oauth, const struct hv_oauth_client *c,
    const char *refresh_token, struct hv_oauth_token *t, struct hv_err *e);
/* Mint an RS256 assertion for subject (iat now, exp now + 3600, aud the
 * token endpoint) and exchange it. */
int hv_oauth_jwt_bearer(struct hv_http *h, const char *oauth, const struct hv_oauth_sa *sa,
    const char *subject, const char *scopes, long long now, struct hv_oauth_token *t,
    struct hv_err *e);
/* Revoke a token (either kind ends the grant).  An already invalid token
 * counts as revoked. */
int hv_oauth_revoke(struct hv_http *h, const char *oauth, const char *token,
    struct hv_err *e);

/* The scope that lets the token endpoint say whose a token is. */
#define HV_SCOPE_EMAIL "https://www.googleapis.com/auth/userinfo.email"

/*
 * Whose token is this: the email address Google's tokeninfo endpoint
 * gives for access_token (granted with HV_SCOPE_EMAIL), appended to email.
 * HV_EPROTO when the answer names none.
 */
int hv_oauth_token_email(struct hv_http *h, const char *oauth, const char *access_token,
    struct hv_buf *email, struct hv_err *e);

/*
 * Which of the wanted scopes (space-separated, full URLs) the granted list
 * lacks, appended to missing; 0 when none.  A broader scope does not stand
 * in for a narrower one here: Google grants what was asked or less.
 */
int hv_oauth_scopes_missing(const char *wanted, const char *granted, struct hv_buf *missing);

#endif
