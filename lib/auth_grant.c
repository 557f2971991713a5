/*
 * Granting and taking away: sign-in, service accounts, revocation, and the
 * rotation of the master key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auth_int.h"
#include "clock.h"
#include "file.h"
#include "loopback.h"
#include "mem.h"
#include "banned.h"

static int
store_login(struct hv_auth *a, const char *account, const struct hv_oauth_token *t,
    struct hv_err *e)
{
	int r;

	if ((r = hv_store_begin(a->store, e)) < 0)
		return r;
	if ((r = hv_store_account_put(a->store, account, HV_ACCOUNT_USER, t->scope, hv_now(),
	    e)) == 0 &&
	    (r = auth_secret_put(a, account, "refresh_token", t->refresh.data, t->refresh.len,
	    0, e)) == 0 &&
	    (r = auth_secret_put(a, account, "access_token", t->access.data, t->access.len,
	    hv_now() + t->expires_in, e)) == 0)
		return hv_store_commit(a->store, e);
	hv_store_rollback(a->store);
	return r;
}

/*
 * What Google granted must be what was asked, for the account named: a
 * browser signed in to another Google account would otherwise file that
 * account's tokens under this name.  Else undo the grant.
 */
static int
check_grant(struct hv_auth *a, const char *account, const char *scopes,
    const struct hv_oauth_token *t, struct hv_err *e)
{
	struct hv_buf missing = HV_BUF_INIT(2048), who = HV_BUF_INIT(512);
	struct hv_http *h;
	int r = 0;

	if (t->refresh.len == 0)
		r = hv_err_set(e, HV_EPROTO, "Google granted no refresh token (offline "
		    "access); remove hv's access in the account's settings and sign in again");
	else if (hv_oauth_scopes_missing(scopes, t->scope, &missing) != 0)
		r = hv_err_set(e, HV_EPERM, "Google granted less than asked: missing %s; "
		    "sign in again and allow every permission", missing.data);
	else if ((r = auth_http(a, &h, e)) == 0 &&
	    (r = hv_oauth_token_email(h, a->cfg->google.oauth, t->access.data, &who, e)) == 0 &&
	    strcasecmp(who.data, account) != 0)
		r = hv_err_set(e, HV_EPERM, "the browser signed in as %s, not %s; sign in "
		    "again with that account", who.data, account);
	hv_buf_release(&who);
	if (r < 0 && auth_http(a, &h, NULL) == 0)
		(void)hv_oauth_revoke(h, a->cfg->google.oauth, t->refresh.len ?
		    t->refresh.data : t->access.data, NULL);
	hv_buf_release(&missing);
	return r;
}

static int
redirect_ours(const char *target, void *state)
{
	return hv_oauth_redirect_ours(target, state);
}

int
hv_auth_login(struct hv_auth *a, const char *account, const char *scopes,
    void (*show_url)(const char *url, void *arg), void *arg, int paste_fd,
    int timeout, struct hv_err *e)
{
	struct hv_oauth_client client;
	struct hv_oauth_pkce pkce;
	struct hv_oauth_token t;
	struct hv_loopback l = { -1, 0 };
	struct hv_buf url = HV_BUF_INIT(8192), redirect = HV_BUF_INIT(64);
	struct hv_buf wanted = HV_BUF_INIT(4096);
	struct hv_buf target = HV_BUF_INIT(8192), code;
	struct hv_http *h;
	int r;

	hv_buf_init_secret(&code, 4096);
	hv_oauth_token_init(&t);
	if ((r = hv_oauth_client_load(&client, a->cfg->google.client, e)) < 0 ||
	    (r = hv_oauth_pkce_new(&pkce, e)) < 0 || (r = hv_loopback_open(&l, e)) < 0)
		goto out;
	hv_buf_addf(&redirect, "http://127.0.0.1:%d", l.port);
	/* Identity only: it lets tokeninfo say whose the grant is. */
	hv_buf_addf(&wanted, "%s %s", scopes, HV_SCOPE_EMAIL);
	if (hv_oauth_auth_url(&url, a->cfg->google.accounts, client.client_id,
	    redirect.data, wanted.data, account, &pkce) < 0) {
		r = hv_err_set(e, HV_EDATA, "consent URL too long");
		goto out;
	}
	show_url(url.data, arg);
	if ((r = hv_loopback_wait(&l, paste_fd, timeout, redirect_ours, pkce.state,
	    &target, e)) < 0 ||
	    (r = hv_oauth_redirect_code(target.data, pkce.state, &code, e)) < 0 ||
	    (r = auth_http(a, &h, e)) < 0 ||
	    (r = hv_oauth_exchange_code(h, a->cfg->google.oauth, &client, code.data,
	    pkce.verifier, redirect.data, &t, e)) < 0 ||
	    (r = check_grant(a, account, wanted.data, &t, e)) < 0)
		goto out;
	r = store_login(a, account, &t, e);
out:
	auth_audit(a, HV_AUDIT_TOKEN_MINT, "account", account, r == 0, e);
	hv_wipe(&pkce, sizeof pkce);
	hv_loopback_close(&l);
	hv_oauth_client_release(&client);
	hv_oauth_token_release(&t);
	hv_buf_release(&url);
	hv_buf_release(&redirect);
	hv_buf_release(&wanted);
	hv_buf_release(&target);
	hv_buf_release(&code);
	return r;
}

/* The one domain every configured team account shares, or NULL. */
static const char *
config_domain(const struct hv_config *c)
{
	const char *d = NULL, *at;
	size_t i, m;

	for (i = 0; i < c->nteams; i++) {
		for (m = 0; m <= c->teams[i].nmembers; m++) {
			const char *acct = m == 0 ? c->teams[i].source : c->teams[i].members[m - 1];

			if ((at = strrchr(acct, '@')) == NULL)
				return NULL;
			if (d != NULL && strcasecmp(d, at + 1) != 0)
				return NULL;
			d = at + 1;
		}
	}
	return d;
}

int
hv_auth_service_account(struct hv_auth *a, const char *key_path, const char *domain,
    const char **served, struct hv_buf *client_email, struct hv_err *e)
{
	struct hv_oauth_sa sa;
	struct hv_buf text, owner = HV_BUF_INIT(512);
	int r;

	if (domain == NULL && (domain = config_domain(a->cfg)) == NULL)
		return hv_err_set(e, HV_EUSAGE, "which domain does it serve? name it with -D "
		    "(the teams of the configuration do not share one)");
	hv_buf_init_secret(&text, 64 * 1024);
	if ((r = hv_file_read_secret(key_path, &text, e)) < 0 ||
	    (r = hv_oauth_sa_parse(&sa, text.data ? text.data : "", text.len, e)) < 0) {
		hv_err_wrap(e, "'%s'", key_path);
		goto out;
	}
	hv_buf_addf(&owner, "domain:%s", domain);
	if ((r = hv_store_begin(a->store, e)) == 0) {
		if ((r = hv_store_domain_put(a->store, domain, sa.client_email, e)) == 0 &&
		    (r = auth_secret_put(a, owner.data, "private_key", sa.private_key.data,
		    sa.private_key.len, 0, e)) == 0)
			r = hv_store_commit(a->store, e);
		else
			hv_store_rollback(a->store);
	}
	if (r == 0 && served != NULL)
		*served = domain;
	if (r == 0 && client_email != NULL)
		r = hv_buf_adds(client_email, sa.client_email);
	hv_oauth_sa_release(&sa);
out:
	auth_audit(a, HV_AUDIT_TOKEN_MINT, "domain", domain, r == 0, e);
	hv_buf_release(&text);
	hv_buf_release(&owner);
	return r;
}

static int
erase_account(struct hv_auth *a, const char *account, struct hv_err *e)
{
	int r;

	if ((r = hv_store_begin(a->store, e)) < 0)
		return r;
	if ((r = hv_store_secret_delete(a->store, account, NULL, e)) == 0 &&
	    (r = hv_store_account_set_revoked(a->store, account, hv_now(), e)) == 0 &&
	    (r = hv_store_commit(a->store, e)) == 0)
		return hv_store_checkpoint(a->store, e);
	hv_store_rollback(a->store);
	return r;
}

int
hv_auth_revoke(struct hv_auth *a, const char *account, struct hv_err *e)
{
	struct hv_account acct;
	struct hv_buf tok;
	struct hv_http *h;
	struct hv_err told = { 0 };
	int r, google = 0;

	if ((r = hv_store_account_get(a->store, account, &acct, e)) < 0)
		return r;
	hv_buf_init_secret(&tok, 8192);
	/* Revoking the refresh token ends the whole grant; a delegated
	 * account has only access tokens, which die within the hour. */
	if (auth_secret_get(a, account, "refresh_token", &tok, NULL, NULL) == 0 ||
	    auth_secret_get(a, account, "access_token", &tok, NULL, NULL) == 0) {
		if (auth_http(a, &h, &told) == 0)
			google = hv_oauth_revoke(h, a->cfg->google.oauth, tok.data, &told);
		else
			google = told.code;
	}
	hv_buf_release(&tok);
	r = erase_account(a, account, e);
	auth_audit(a, HV_AUDIT_TOKEN_REVOKE, "account", account, r == 0 && google == 0,
	    r < 0 ? e : &told);
	if (r < 0)
		return r;
	if (google < 0)
		return hv_err_set(e, google == HV_ETEMP ? HV_ETEMP : google,
		    "local secrets of '%s' erased, but Google was not told: %s; revoke hv's "
		    "access in the account's security settings", account, told.msg);
	return 0;
}

struct reseal {
	struct hv_auth *a;
	struct hv_seal_key *next;
	int count;
	struct hv_err *e;
};

static int
reseal_row(const struct hv_secret_row *row, void *arg)
{
	struct reseal *rs = arg;
	struct hv_buf plain, ctx = HV_BUF_INIT(1024), sealed = HV_BUF_INIT(64 * 1024);
	int r;

	hv_buf_init_secret(&plain, 64 * 1024);
	hv_buf_addf(&ctx, "hv-secret:%s:%s", row->owner, row->name);
	r = hv_open_mem(rs->a->tokens, ctx.data, ctx.len, row->blob, row->len, &plain, rs->e);
	if (r == 0)
		r = hv_seal_mem(rs->next, ctx.data, ctx.len, plain.data, plain.len, &sealed,
		    rs->e);
	if (r == 0)
		r = hv_store_secret_put(rs->a->store, row->owner, row->name, sealed.data,
		    sealed.len, row->expires, rs->e);
	if (r < 0)
		hv_err_wrap(rs->e, "re-sealing %s of '%s'", row->name, row->owner);
	rs->count++;
	hv_buf_release(&plain);
	hv_buf_release(&ctx);
	hv_buf_release(&sealed);
	return r;
}

int
hv_auth_rotate_key(struct hv_auth *a, int *count, struct hv_err *e)
{
	const char *path = a->cfg->keys.master;
	uint8_t *keys = hv_secure_alloc(2 * HV_KEY_LEN), *tk = keys + HV_KEY_LEN;
	struct hv_buf text, next = HV_BUF_INIT(4096);
	struct reseal rs = { a, NULL, 0, e };
	char check[33];
	int r;

	*count = 0;
	hv_buf_init_secret(&text, 128);
	if (strncmp(path, "keyring:", 8) == 0 || strncmp(path, "command:", 8) == 0) {
		r = hv_err_set(e, HV_ECONFIG, "rotate-key replaces a key file; '%s' is not "
		    "one", path);
		goto out;
	}
	/* The new key is durable before anything is sealed under it. */
	hv_buf_addf(&next, "%s.new", path);
	unlink(next.data);
	if ((r = hv_key_generate(HV_KEY_SYMMETRIC, &text, NULL, e)) < 0 ||
	    (r = hv_file_create_excl(next.data, text.data, text.len, 0600, e)) < 0 ||
	    (r = hv_key_decode(text.data, text.len, HV_KEY_SYMMETRIC, keys, e)) < 0 ||
	    (r = hv_key_derive(tk, keys, "tokens", e)) < 0 ||
	    (r = hv_seal_key_symmetric(&rs.next, tk, e)) < 0 ||
	    (r = auth_key_check(keys, check, e)) < 0 ||
	    (r = hv_store_begin(a->store, e)) < 0)
		goto out;
	if ((r = hv_store_secret_each(a->store, reseal_row, &rs, e)) == 0 &&
	    (r = hv_store_meta_put(a->store, "master_key_check", check, e)) == 0)
		r = hv_store_commit(a->store, e);
	if (r < 0) {
		hv_store_rollback(a->store);
		goto out;
	}
	if (rename(next.data, path) < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "re-sealed under '%s' but cannot rename it "
		    "to '%s'", next.data, path);
		goto out;
	}
	/* From here on the old key opens nothing: its copies are gone too. */
	(void)hv_store_checkpoint(a->store, NULL);
	hv_seal_key_free(a->tokens);
	a->tokens = rs.next;
	rs.next = NULL;
	*count = rs.count;
out:
	auth_audit(a, HV_AUDIT_KEY_ROTATE, NULL, NULL, r == 0, e);
	if (r < 0 && next.data != NULL && rs.count == 0)
		unlink(next.data);
	hv_seal_key_free(rs.next);
	hv_secure_free(keys, 2 * HV_KEY_LEN);
	hv_buf_release(&text);
	hv_buf_release(&next);
	return r;
}
