#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auth_int.h"
#include "clock.h"
#include "crypto.h"
#include "file.h"
#include "index.h"
#include "mem.h"
#include "banned.h"

#define SEALED_MAX (64 * 1024)

int
auth_key_check(const uint8_t master[HV_KEY_LEN], char out[33], struct hv_err *e)
{
	uint8_t check[HV_KEY_LEN];
	int r, i;

	if ((r = hv_key_derive(check, master, "key-check", e)) < 0)
		return r;
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", check[i]);
	return 0;
}

/* The context a secret is sealed under: its owner and name. */
static void
secret_context(struct hv_buf *ctx, const char *owner, const char *name)
{
	hv_buf_addf(ctx, "hv-secret:%s:%s", owner, name);
}

int
auth_secret_put(struct hv_auth *a, const char *owner, const char *name,
    const void *value, size_t len, long long expires, struct hv_err *e)
{
	struct hv_buf ctx = HV_BUF_INIT(1024), sealed = HV_BUF_INIT(SEALED_MAX);
	int r;

	secret_context(&ctx, owner, name);
	r = hv_seal_mem(a->tokens, ctx.data, ctx.len, value, len, &sealed, e);
	if (r == 0)
		r = hv_store_secret_put(a->store, owner, name, sealed.data, sealed.len,
		    expires, e);
	hv_buf_release(&ctx);
	hv_buf_release(&sealed);
	return r;
}

int
auth_secret_get(struct hv_auth *a, const char *owner, const char *name,
    struct hv_buf *value, long long *expires, struct hv_err *e)
{
	struct hv_buf ctx = HV_BUF_INIT(1024), sealed = HV_BUF_INIT(SEALED_MAX);
	int r;

	secret_context(&ctx, owner, name);
	r = hv_store_secret_get(a->store, owner, name, &sealed, expires, e);
	if (r == 0 && (r = hv_open_mem(a->tokens, ctx.data, ctx.len, sealed.data,
	    sealed.len, value, e)) < 0)
		hv_err_wrap(e, "sealed %s of '%s'", name, owner);
	hv_buf_release(&ctx);
	hv_buf_release(&sealed);
	return r;
}

int
auth_http(struct hv_auth *a, struct hv_http **h, struct hv_err *e)
{
	int r = 0;

	if (a->http == NULL)
		r = hv_http_new(&a->http, a->cfg->google.ca_file, 60, e);
	*h = a->http;
	return r;
}

/* A master key file that is missing is made here, and only here. */
static int
create_master(const char *path, int *created, struct hv_err *e)
{
	struct hv_buf text, dir = HV_BUF_INIT(4096);
	const char *slash = strrchr(path, '/');
	int r = 0;

	*created = 0;
	if (strncmp(path, "keyring:", 8) == 0 || strncmp(path, "command:", 8) == 0 ||
	    access(path, F_OK) == 0)
		return 0;
	if (slash != NULL && slash != path) {
		hv_buf_add(&dir, path, (size_t)(slash - path));
		r = hv_mkdirs(dir.data, e);
	}
	hv_buf_release(&dir);
	if (r < 0)
		return r;
	hv_buf_init_secret(&text, 128);
	r = hv_key_generate(HV_KEY_SYMMETRIC, &text, NULL, e);
	if (r == 0 && (r = hv_file_create_excl(path, text.data, text.len, 0600, e)) == 0)
		*created = 1;
	hv_buf_release(&text);
	return r;
}

/* A rotation that committed but died before replacing the key file. */
static int
finish_rotation(const char *path, uint8_t master[HV_KEY_LEN], const char *want,
    struct hv_err *e)
{
	struct hv_buf next = HV_BUF_INIT(4096);
	char check[33];
	int r = HV_EPERM;

	if (strncmp(path, "keyring:", 8) == 0 || strncmp(path, "command:", 8) == 0)
		return HV_EPERM;
	hv_buf_addf(&next, "%s.new", path);
	if (hv_master_load(next.data, master, NULL) == 0 &&
	    auth_key_check(master, check, NULL) == 0 && strcmp(check, want) == 0) {
		if (rename(next.data, path) < 0)
			r = hv_err_errno(e, HV_EIO, errno, "cannot finish the key rotation: "
			    "rename '%s'", next.data);
		else
			r = 0;
	}
	hv_buf_release(&next);
	return r;
}

static int
open_store(struct hv_auth *a, const struct hv_config *c, int create,
    uint8_t master[HV_KEY_LEN], struct hv_err *e)
{
	struct hv_buf have = HV_BUF_INIT(64);
	char check[33];
	int r;

	if ((r = hv_store_open(&a->store, c->paths.state, create, e)) < 0) {
		if (r == HV_ENOINPUT)
			hv_err_wrap(e, "run 'hv-auth init' first");
		return r;
	}
	if ((r = auth_key_check(master, check, e)) < 0)
		goto out;
	r = hv_store_meta_get(a->store, "master_key_check", &have, e);
	if (r == HV_ENOINPUT && create)
		r = hv_store_meta_put(a->store, "master_key_check", check, e);
	else if (r == 0 && strcmp(have.data, check) != 0 &&
	    finish_rotation(c->keys.master, master, have.data, e) != 0)
	{
		struct hv_audit_field f = { "file", c->keys.master };

		r = hv_err_set(e, HV_EPERM, "the master key from '%s' does not open the "
		    "state database '%s'", c->keys.master, c->paths.state);
		(void)hv_audit_log(c, HV_AUDIT_KEY_REFUSE, &f, 1, HV_AUDIT_REFUSED, e->msg, NULL);
	}
	else if (r == HV_ENOINPUT)
		r = hv_err_set(e, HV_EDATA, "state database '%s' has no master key check",
		    c->paths.state);
out:
	hv_buf_release(&have);
	return r;
}

/*
 * The keys of long-lived data (the index's HMACs, sealed subjects, audit
 * HMACs) are random and kept sealed in the store like any secret, so a
 * rotation of the master key re-seals them instead of changing them.
 */
static int
data_keys(struct hv_auth *a, struct hv_err *e)
{
	static const char *const names[] = { "index", "subjects", "audit" };
	struct hv_buf k;
	uint8_t fresh[HV_KEY_LEN];
	size_t i;
	int r = 0;

	hv_buf_init_secret(&k, HV_KEY_LEN);
	for (i = 0; i < 3 && r == 0; i++) {
		hv_buf_reset(&k);
		r = auth_secret_get(a, "hv", names[i], &k, NULL, e);
		if (r == HV_ENOINPUT && (r = hv_store_begin(a->store, e)) == 0) {
			/* Another process may have made it while we waited. */
			r = auth_secret_get(a, "hv", names[i], &k, NULL, NULL);
			if (r == HV_ENOINPUT && (r = hv_random(fresh, sizeof fresh, e)) == 0 &&
			    (r = auth_secret_put(a, "hv", names[i], fresh, sizeof fresh, 0, e)) == 0)
				r = hv_buf_add(&k, fresh, sizeof fresh);
			hv_wipe(fresh, sizeof fresh);
			if (r == 0)
				r = hv_store_commit(a->store, e);
			else
				hv_store_rollback(a->store);
		}
		if (r == 0 && k.len != HV_KEY_LEN)
			r = hv_err_set(e, HV_EDATA, "the stored %s key is damaged", names[i]);
		if (r == 0)
			memcpy(a->keys + i * HV_KEY_LEN, k.data, HV_KEY_LEN);
	}
	hv_buf_release(&k);
	return r;
}

void
auth_audit(struct hv_auth *a, const char *action, const char *key, const char *value,
    int ok, const struct hv_err *e)
{
	struct hv_audit_field f = { key, value };

	(void)hv_audit_log(a->cfg, action, &f, key ? 1 : 0, ok ? HV_AUDIT_OK : HV_AUDIT_FAIL,
	    ok || e == NULL ? NULL : e->msg, NULL);
}

static int
auth_open(struct hv_auth **out, const struct hv_config *c, int create, int data,
    struct hv_err *e)
{
	struct hv_auth *a = hv_xcalloc(1, sizeof *a);
	uint8_t *master = hv_secure_alloc(2 * HV_KEY_LEN), *tk = master + HV_KEY_LEN;
	const char *slash = strrchr(c->paths.state, '/');
	int r;

	*out = NULL;
	a->cfg = c;
	a->keys = hv_secure_alloc(3 * HV_KEY_LEN);
	if ((r = hv_master_load(c->keys.master, master, e)) < 0 ||
	    (r = open_store(a, c, create, master, e)) < 0 ||
	    (r = hv_key_derive(tk, master, "tokens", e)) < 0 ||
	    (r = hv_seal_key_symmetric(&a->tokens, tk, e)) < 0 ||
	    (data && (r = data_keys(a, e)) < 0))
		goto out;
	a->lock_dir = hv_xmalloc(strlen(c->paths.state) + 16);
	snprintf(a->lock_dir, strlen(c->paths.state) + 16, "%.*s/locks",
	    slash ? (int)(slash - c->paths.state) : 1, slash ? c->paths.state : ".");
	if ((r = hv_mkdirs(a->lock_dir, e)) < 0)
		goto out;
	*out = a;
	a = NULL;
out:
	hv_secure_free(master, 2 * HV_KEY_LEN);
	hv_auth_close(a);
	return r;
}

int
hv_auth_init(const struct hv_config *c, int *created, struct hv_err *e)
{
	struct hv_auth *a = NULL;
	int r;

	if ((r = create_master(c->keys.master, created, e)) < 0)
		return r;
	r = auth_open(&a, c, 1, 1, e);
	hv_auth_close(a);
	return r;
}

int
hv_auth_open(struct hv_auth **a, const struct hv_config *c, struct hv_err *e)
{
	return auth_open(a, c, 0, 1, e);
}

int
hv_auth_open_tokens(struct hv_auth **a, const struct hv_config *c, struct hv_err *e)
{
	return auth_open(a, c, 0, 0, e);
}

void
hv_auth_close(struct hv_auth *a)
{
	if (a == NULL)
		return;
	hv_store_close(a->store);
	hv_seal_key_free(a->tokens);
	hv_http_free(a->http);
	free(a->lock_dir);
	hv_secure_free(a->keys, 3 * HV_KEY_LEN);
	free(a);
}

const uint8_t *
hv_auth_key(const struct hv_auth *a, enum hv_auth_key which)
{
	return a->keys + (size_t)which * HV_KEY_LEN;
}

struct hv_store *
hv_auth_store(struct hv_auth *a)
{
	return a->store;
}

static void
scope_add(struct hv_buf *b, const char *scope)
{
	struct hv_buf full = HV_BUF_INIT(512);

	if (strncmp(scope, "https://", 8) != 0 && strcmp(scope, "openid") != 0 &&
	    strcmp(scope, "email") != 0)
		hv_buf_adds(&full, HV_SCOPE_PREFIX);
	hv_buf_adds(&full, scope);
	/* Each scope once, whatever roles ask for it. */
	if (b->data == NULL || !strstr(b->data, full.data)) {
		if (b->len > 0)
			hv_buf_add(b, " ", 1);
		hv_buf_add(b, full.data, full.len);
	}
	hv_buf_release(&full);
}

/* Is account a member of t: named in its members line, or in its group
 * when hv-sync last listed it? */
static int
team_member(struct hv_auth *a, const struct hv_team *t, const char *account)
{
	size_t m;

	for (m = 0; m < t->nmembers; m++)
		if (strcasecmp(t->members[m], account) == 0)
			return 1;
	return t->group != NULL &&
	    hv_index_member_has(a->store, t->name, account, NULL) == 0;
}

/*
 * The scopes of account's roles.  A delegated account is never given the
 * Directory's: delegation mints that token on its own (and an
 * administrator who allowed hv only Gmail's scopes would see every token
 * refused).
 */
static int
role_scopes(struct hv_auth *a, const char *account, const char *extra, int delegated,
    struct hv_buf *scopes, struct hv_err *e)
{
	const struct hv_config *c = a->cfg;
	const struct hv_team *t;
	const char *p;
	size_t i, n;

	for (i = 0; i < c->nteams; i++) {
		t = &c->teams[i];
		if (strcasecmp(t->source, account) == 0) {
			scope_add(scopes, "gmail.readonly");
			if (t->sync_labels)
				scope_add(scopes, "gmail.modify");
			if (t->group != NULL && !delegated)
				scope_add(scopes, "admin.directory.group.member.readonly");
			/* hv-fetch --follow pulls the team's subscription with
			 * the source's token: only where a team follows. */
			if (t->subscription != NULL)
				scope_add(scopes, "https://www.googleapis.com/auth/pubsub");
		}
		if (!team_member(a, t, account))
			continue;
		scope_add(scopes, "gmail.insert");
		scope_add(scopes, "gmail.labels");
		/* Shared labels read history and modify messages. */
		if (t->sync_labels)
			scope_add(scopes, "gmail.modify");
	}
	for (p = extra ? extra : ""; *p; p += n) {
		char one[256];

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, " ,");
		if (n == 0)
			break;
		if (n >= sizeof one)
			return hv_err_set(e, HV_EUSAGE, "scope too long");
		memcpy(one, p, n);
		one[n] = '\0';
		scope_add(scopes, one);
	}
	if (scopes->len == 0)
		return hv_err_set(e, HV_ECONFIG, "'%s' is in no team of %s, nor in a team's "
		    "group as hv-sync last listed it; name its scopes with -s",
		    account, c->file ? c->file : "the configuration");
	return 0;
}

int
hv_auth_scopes(struct hv_auth *a, const char *account, const char *extra,
    struct hv_buf *scopes, struct hv_err *e)
{
	return role_scopes(a, account, extra, 0, scopes, e);
}

static const char *
domain_of(const char *account)
{
	const char *at = strrchr(account, '@');

	return at ? at + 1 : NULL;
}

int
auth_domain_sa(struct hv_auth *a, const char *domain, struct hv_oauth_sa *sa,
    struct hv_err *e)
{
	struct hv_buf owner = HV_BUF_INIT(512), email = HV_BUF_INIT(512);
	int r;

	sa->client_email = NULL;
	hv_buf_init_secret(&sa->private_key, 16 * 1024);
	hv_buf_addf(&owner, "domain:%s", domain);
	r = hv_store_domain_get(a->store, domain, &email, e);
	if (r == 0)
		r = auth_secret_get(a, owner.data, "private_key", &sa->private_key, NULL, e);
	if (r == 0)
		sa->client_email = hv_xstrdup(email.data);
	else
		hv_oauth_sa_release(sa);
	hv_buf_release(&owner);
	hv_buf_release(&email);
	return r;
}

enum hv_auth_reach
hv_auth_reachable(struct hv_auth *a, const char *account)
{
	struct hv_buf email = HV_BUF_INIT(512);
	struct hv_account acct;
	const char *domain = domain_of(account);
	int sa, known;

	sa = domain != NULL && hv_store_domain_get(a->store, domain, &email, NULL) == 0;
	known = hv_store_account_get(a->store, account, &acct, NULL) == 0;
	hv_buf_release(&email);
	if (sa || (known && !acct.revoked))
		return HV_AUTH_REACH_YES;
	return known ? HV_AUTH_REACH_REVOKED : HV_AUTH_REACH_NEVER;
}

/* The cached access token when it has life left: 0, or HV_ENOINPUT. */
static int
cached(struct hv_auth *a, const char *account, struct hv_buf *token, struct hv_err *e)
{
	long long expires = 0;
	size_t start = token->len;
	int r;

	r = auth_secret_get(a, account, "access_token", token, &expires, e);
	if (r == 0 && expires - hv_now() > HV_AUTH_MARGIN)
		return 0;
	if (r == 0) {
		hv_wipe(token->data + start, token->len - start);
		token->len = start;
		token->data[start] = '\0';
		return HV_ENOINPUT;
	}
	return r;
}

static int
refresh_user(struct hv_auth *a, const char *account, struct hv_oauth_token *t,
    struct hv_err *e)
{
	struct hv_oauth_client client;
	struct hv_buf refresh;
	struct hv_http *h;
	int r;

	hv_buf_init_secret(&refresh, 8192);
	if ((r = auth_secret_get(a, account, "refresh_token", &refresh, NULL, e)) < 0) {
		hv_buf_release(&refresh);
		return r == HV_ENOINPUT ? hv_err_set(e, HV_EPERM, "no refresh token for '%s': "
		    "sign in again with 'hv-auth login %s'", account, account) : r;
	}
	r = hv_oauth_client_load(&client, a->cfg->google.client, e);
	if (r == 0 && (r = auth_http(a, &h, e)) == 0)
		r = hv_oauth_refresh(h, a->cfg->google.oauth, &client, refresh.data, t, e);
	hv_oauth_client_release(&client);
	hv_buf_release(&refresh);
	return r;
}

static int
mint_delegated(struct hv_auth *a, const char *account, const char *scopes,
    struct hv_oauth_token *t, struct hv_err *e)
{
	struct hv_oauth_sa sa;
	struct hv_http *h;
	const char *domain = domain_of(account);
	int r;

	if (domain == NULL)
		return hv_err_set(e, HV_EUSAGE, "'%s' is not an email address", account);
	if ((r = auth_domain_sa(a, domain, &sa, e)) < 0)
		return r;
	if ((r = auth_http(a, &h, e)) == 0)
		r = hv_oauth_jwt_bearer(h, a->cfg->google.oauth, &sa, account, scopes, hv_now(),
		    t, e);
	hv_oauth_sa_release(&sa);
	return r;
}

/* Store what the endpoint granted; the caller holds the account's lock. */
static int
keep_token(struct hv_auth *a, const char *account, const struct hv_oauth_token *t,
    struct hv_err *e)
{
	int r;

	if ((r = hv_store_begin(a->store, e)) < 0)
		return r;
	r = auth_secret_put(a, account, "access_token", t->access.data, t->access.len,
	    hv_now() + t->expires_in, e);
	/* Google may rotate the refresh token; keep the newest. */
	if (r == 0 && t->refresh.len > 0)
		r = auth_secret_put(a, account, "refresh_token", t->refresh.data,
		    t->refresh.len, 0, e);
	if (r == 0)
		return hv_store_commit(a->store, e);
	hv_store_rollback(a->store);
	return r;
}

static int
account_lock(struct hv_auth *a, const char *account, int *fd, struct hv_err *e)
{
	struct hv_buf path = HV_BUF_INIT(4096);
	uint8_t h[HV_SHA256_LEN];
	int r, i;

	hv_sha256(h, account, strlen(account));
	hv_buf_addf(&path, "%s/", a->lock_dir);
	for (i = 0; i < 12; i++)
		hv_buf_addf(&path, "%02x", h[i]);
	hv_buf_adds(&path, ".lock");
	r = hv_lock_acquire(path.data, fd, e);
	hv_buf_release(&path);
	return r;
}

/* Known, or a domain's delegated account registered on first use. */
static int
known_account(struct hv_auth *a, const char *account, struct hv_account *acct,
    struct hv_err *e)
{
	struct hv_buf scopes = HV_BUF_INIT(2048), email = HV_BUF_INIT(512);
	const char *domain = domain_of(account);
	int r;

	r = hv_store_account_get(a->store, account, acct, e);
	if (r != HV_ENOINPUT || domain == NULL ||
	    hv_store_domain_get(a->store, domain, &email, NULL) < 0)
		goto out;
	if ((r = role_scopes(a, account, NULL, 1, &scopes, e)) == 0 &&
	    (r = hv_store_account_put(a->store, account, HV_ACCOUNT_SERVICE, scopes.data,
	    hv_now(), e)) == 0)
		r = hv_store_account_get(a->store, account, acct, e);
out:
	hv_buf_release(&scopes);
	hv_buf_release(&email);
	return r;
}

/*
 * What the run says of an account Google refused: the one sentence for
 * every way it can happen (a refresh refused, a fresh token answered
 * 401), with what a person must do.  Always HV_EPERM.
 */
static int
refused_as(const struct hv_account *acct, const char *account, const char *why,
    struct hv_err *e)
{
	char was[HV_ERR_MSG];
	const char *domain = domain_of(account);

	snprintf(was, sizeof was, "%s", why);
	if (acct->kind == HV_ACCOUNT_SERVICE)
		return hv_err_set(e, HV_EPERM, "%s: Google refused hv's access (%s); check that "
		    "the account exists and that %s's service account still has domain-wide "
		    "delegation in the Admin console", account, was, domain ? domain : "its domain");
	return hv_err_set(e, HV_EPERM, "%s: Google refused hv's access (%s); run hv-auth login %s",
	    account, was, account);
}

/*
 * A token for account; refused, when not NULL, is one Google answered
 * 401 to before its expiry (a password change, an administrator's
 * sign-out): it is never handed out again, though the cache holds it.
 */
static int
token_for(struct hv_auth *a, const char *account, const char *refused, struct hv_buf *token,
    struct hv_err *e)
{
	struct hv_account acct;
	struct hv_oauth_token t;
	size_t start = token->len;
	int r, lock = -1;

	if ((r = known_account(a, account, &acct, e)) < 0)
		return r;
	if (acct.revoked)
		return refused_as(&acct, account, "refused earlier", e);
	if (refused == NULL && (r = cached(a, account, token, e)) != HV_ENOINPUT)
		return r;
	if ((r = account_lock(a, account, &lock, e)) < 0)
		return r;
	/* Whoever held the lock before us may have refreshed already. */
	if ((r = cached(a, account, token, e)) != HV_ENOINPUT) {
		if (r < 0 || refused == NULL || strcmp(token->data + start, refused) != 0)
			goto out;
		hv_wipe(token->data + start, token->len - start);
		token->len = start;
		token->data[start] = '\0';
	}
	hv_oauth_token_init(&t);
	if (acct.kind == HV_ACCOUNT_SERVICE)
		r = mint_delegated(a, account, acct.scopes, &t, e);
	else
		r = refresh_user(a, account, &t, e);
	if (r == HV_EPERM && acct.kind == HV_ACCOUNT_USER && strstr(e->msg, "invalid_grant")) {
		hv_store_account_set_revoked(a->store, account, hv_now(), NULL);
		refused_as(&acct, account, e->msg, e);
	} else if (r == HV_EPERM && acct.kind == HV_ACCOUNT_SERVICE) {
		refused_as(&acct, account, e->msg, e);
	}
	if (r == 0 && (r = keep_token(a, account, &t, e)) == 0 &&
	    hv_buf_add(token, t.access.data, t.access.len) < 0)
		r = hv_err_set(e, HV_EDATA, "access token too long");
	auth_audit(a, acct.kind == HV_ACCOUNT_SERVICE ? HV_AUDIT_TOKEN_MINT : HV_AUDIT_TOKEN_REFRESH,
	    "account", account, r == 0, e);
	hv_oauth_token_release(&t);
out:
	hv_lock_release(lock);
	return r;
}

int
hv_auth_token(struct hv_auth *a, const char *account, struct hv_buf *token,
    struct hv_err *e)
{
	return token_for(a, account, NULL, token, e);
}

int
hv_auth_token_renew(struct hv_auth *a, const char *account, const char *refused,
    struct hv_buf *token, struct hv_err *e)
{
	return token_for(a, account, refused, token, e);
}

int
hv_auth_refused(struct hv_auth *a, const char *account, const char *why, struct hv_err *e)
{
	struct hv_account acct;
	int r;

	if ((r = hv_store_account_get(a->store, account, &acct, e)) < 0)
		return r == HV_ENOINPUT ? hv_err_set(e, HV_EPERM, "%s: Google refused hv's "
		    "access (%s)", account, why) : r;
	if (acct.kind == HV_ACCOUNT_USER)
		hv_store_account_set_revoked(a->store, account, hv_now(), NULL);
	return refused_as(&acct, account, why, e);
}

int
hv_auth_token_scoped(struct hv_auth *a, const char *account, const char *scopes,
    struct hv_buf *token, struct hv_err *e)
{
	struct hv_oauth_token t;
	int r;

	hv_oauth_token_init(&t);
	r = mint_delegated(a, account, scopes, &t, e);
	if (r == 0 && hv_buf_add(token, t.access.data, t.access.len) < 0)
		r = hv_err_set(e, HV_EDATA, "access token too long");
	hv_oauth_token_release(&t);
	return r;
}
