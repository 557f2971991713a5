#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "file.h"
#include "json.h"
#include "mem.h"
#include "oauth.h"
#include "banned.h"

#define TOKEN_BODY_MAX (64 * 1024)
#define FILE_MAX (64 * 1024)

static int
json_text(struct hv_json **j, const char *text, size_t n, const char *what,
    struct hv_err *e)
{
	int r = hv_json_parse(text, n, j, e);

	return r < 0 ? hv_err_wrap(e, "%s", what) : 0;
}

int
hv_oauth_client_parse(struct hv_oauth_client *c, const char *text, size_t n,
    struct hv_err *e)
{
	struct hv_json *j, *in;
	const char *id, *secret;
	int r;

	c->client_id = NULL;
	hv_buf_init_secret(&c->secret, 1024);
	if ((r = json_text(&j, text, n, "client file", e)) < 0)
		return r;
	in = hv_json_get(j, "installed");
	id = in ? hv_json_get_str(in, "client_id") : NULL;
	secret = in ? hv_json_get_str(in, "client_secret") : NULL;
	if (in == NULL)
		r = hv_err_set(e, HV_EDATA, "not a Desktop app client file (no \"installed\")");
	else if (id == NULL || *id == '\0' || secret == NULL)
		r = hv_err_set(e, HV_EDATA, "client file lacks client_id or client_secret");
	else if (hv_buf_adds(&c->secret, secret) < 0)
		r = hv_err_set(e, HV_EDATA, "client secret too long");
	else
		c->client_id = hv_xstrdup(id);
	hv_json_free(in);
	hv_json_free(j);
	if (r < 0)
		hv_oauth_client_release(c);
	return r;
}

int
hv_oauth_client_load(struct hv_oauth_client *c, const char *path, struct hv_err *e)
{
	struct hv_buf b;
	int r;

	hv_buf_init_secret(&b, FILE_MAX);
	c->client_id = NULL;
	hv_buf_init_secret(&c->secret, 1024);
	r = hv_file_read_secret(path, &b, e);
	if (r == 0 && (r = hv_oauth_client_parse(c, b.data ? b.data : "", b.len, e)) < 0)
		hv_err_wrap(e, "client file '%s'", path);
	hv_buf_release(&b);
	return r;
}

void
hv_oauth_client_release(struct hv_oauth_client *c)
{
	free(c->client_id);
	c->client_id = NULL;
	hv_buf_release(&c->secret);
}

int
hv_oauth_sa_parse(struct hv_oauth_sa *sa, const char *text, size_t n, struct hv_err *e)
{
	struct hv_json *j;
	const char *type, *email, *key;
	int r;

	sa->client_email = NULL;
	hv_buf_init_secret(&sa->private_key, 16 * 1024);
	if ((r = json_text(&j, text, n, "service-account key file", e)) < 0)
		return r;
	type = hv_json_get_str(j, "type");
	email = hv_json_get_str(j, "client_email");
	key = hv_json_get_str(j, "private_key");
	if (type == NULL || strcmp(type, "service_account") != 0)
		r = hv_err_set(e, HV_EDATA, "not a service-account key file (type is not "
		    "\"service_account\")");
	else if (email == NULL || strchr(email, '@') == NULL)
		r = hv_err_set(e, HV_EDATA, "service-account key file lacks client_email");
	else if (key == NULL || strstr(key, "-----BEGIN PRIVATE KEY-----") == NULL)
		r = hv_err_set(e, HV_EDATA, "service-account key file lacks a PEM private_key");
	else if (hv_buf_adds(&sa->private_key, key) < 0)
		r = hv_err_set(e, HV_EDATA, "service-account private key too long");
	else
		sa->client_email = hv_xstrdup(email);
	hv_json_free(j);
	if (r < 0)
		hv_oauth_sa_release(sa);
	return r;
}

void
hv_oauth_sa_release(struct hv_oauth_sa *sa)
{
	free(sa->client_email);
	sa->client_email = NULL;
	hv_buf_release(&sa->private_key);
}

static int
b64url_random(char *out, size_t outmax, size_t nbytes, struct hv_err *e)
{
	uint8_t raw[48];
	struct hv_buf b = HV_BUF_INIT(outmax - 1);
	int r;

	if ((r = hv_random(raw, nbytes, e)) < 0)
		return r;
	r = hv_b64url_encode(&b, raw, nbytes);
	if (r == 0)
		memcpy(out, b.data, b.len + 1);
	hv_buf_release(&b);
	return r;
}

int
hv_oauth_pkce_new(struct hv_oauth_pkce *p, struct hv_err *e)
{
	uint8_t h[HV_SHA256_LEN];
	struct hv_buf b = HV_BUF_INIT(sizeof p->challenge - 1);
	int r;

	if ((r = b64url_random(p->verifier, sizeof p->verifier, 32, e)) < 0 ||
	    (r = b64url_random(p->state, sizeof p->state, 16, e)) < 0)
		return r;
	hv_sha256(h, p->verifier, strlen(p->verifier));
	if ((r = hv_b64url_encode(&b, h, sizeof h)) == 0)
		memcpy(p->challenge, b.data, b.len + 1);
	hv_buf_release(&b);
	return r;
}

static int
query_add(struct hv_buf *b, const char *key, const char *value)
{
	if (hv_buf_add(b, b->data && strchr(b->data, '?') ? "&" : "?", 1) < 0 ||
	    hv_buf_adds(b, key) < 0 || hv_buf_add(b, "=", 1) < 0)
		return HV_EDATA;
	return hv_http_escape(b, value);
}

int
hv_oauth_auth_url(struct hv_buf *url, const char *accounts, const char *client_id,
    const char *redirect, const char *scopes, const char *login_hint,
    const struct hv_oauth_pkce *p)
{
	if (hv_buf_adds(url, accounts) < 0 || hv_buf_adds(url, "/o/oauth2/v2/auth") < 0 ||
	    query_add(url, "client_id", client_id) < 0 ||
	    query_add(url, "redirect_uri", redirect) < 0 ||
	    query_add(url, "response_type", "code") < 0 ||
	    query_add(url, "scope", scopes) < 0 ||
	    query_add(url, "code_challenge", p->challenge) < 0 ||
	    query_add(url, "code_challenge_method", "S256") < 0 ||
	    query_add(url, "state", p->state) < 0 ||
	    query_add(url, "access_type", "offline") < 0 ||
	    /* Without consent Google omits the refresh token on a second login. */
	    query_add(url, "prompt", "consent") < 0 ||
	    (login_hint != NULL && query_add(url, "login_hint", login_hint) < 0))
		return HV_EDATA;
	return 0;
}

/*
 * Text from Google or from whoever reached the loopback listener goes to a
 * terminal: no control characters.  Returns e's code.
 */
static int
printable(struct hv_err *e)
{
	char *p;

	if (e == NULL)
		return HV_EINTERNAL;
	for (p = e->msg; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return e->code;
}

/* The decoded value of name in a query string, or HV_ENOINPUT. */
static int
query_get(const char *query, const char *name, struct hv_buf *out)
{
	size_t nlen = strlen(name), vlen;
	const char *p = query;

	while (*p) {
		vlen = strcspn(p, "&#");
		if (vlen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return hv_http_unescape(out, p + nlen + 1, vlen - nlen - 1);
		p += vlen;
		if (*p != '&')
			break;
		p++;
	}
	return HV_ENOINPUT;
}

int
hv_oauth_redirect_ours(const char *target, const char *state)
{
	struct hv_buf v = HV_BUF_INIT(4096);
	const char *q = strchr(target, '?');
	int ok;

	ok = q != NULL && query_get(q + 1, "state", &v) == 0 &&
	    strlen(state) == v.len && hv_ct_equal(v.data, state, v.len);
	hv_buf_release(&v);
	return ok;
}

int
hv_oauth_redirect_code(const char *target, const char *state, struct hv_buf *code,
    struct hv_err *e)
{
	struct hv_buf v = HV_BUF_INIT(4096);
	const char *q = strchr(target, '?');
	int r;

	if (q == NULL)
		return hv_err_set(e, HV_EDATA, "the redirect carries no query (no code)");
	q++;
	if (query_get(q, "error", &v) == 0) {
		hv_err_set(e, HV_EPERM, "sign-in refused: %.100s", v.data);
		r = printable(e);
		goto out;
	}
	hv_buf_reset(&v);
	if (query_get(q, "state", &v) < 0 || strlen(state) != v.len ||
	    !hv_ct_equal(v.data, state, v.len)) {
		r = hv_err_set(e, HV_EPERM, "the redirect's state does not match this sign-in "
		    "(a stale or forged redirect)");
		goto out;
	}
	if (query_get(q, "code", code) < 0 || code->len == 0) {
		r = hv_err_set(e, HV_EDATA, "the redirect carries no code");
		goto out;
	}
	r = 0;
out:
	hv_buf_release(&v);
	return r;
}

void
hv_oauth_token_init(struct hv_oauth_token *t)
{
	hv_buf_init_secret(&t->access, 8192);
	hv_buf_init_secret(&t->refresh, 8192);
	t->expires_in = 0;
	t->scope[0] = '\0';
}

void
hv_oauth_token_release(struct hv_oauth_token *t)
{
	hv_buf_release(&t->access);
	hv_buf_release(&t->refresh);
}

static int
token_error(long status, struct hv_json *j, struct hv_err *e)
{
	const char *err = j ? hv_json_get_str(j, "error") : NULL;
	const char *why = j ? hv_json_get_str(j, "error_description") : NULL;
	int code;

	if (status == 429 || status >= 500)
		code = HV_ETEMP;
	else if (err == NULL)
		code = HV_EPROTO;
	else if (strcmp(err, "invalid_grant") == 0 || strcmp(err, "unauthorized_client") == 0 ||
	    strcmp(err, "invalid_scope") == 0 || strcmp(err, "access_denied") == 0)
		code = HV_EPERM;
	else if (strcmp(err, "invalid_client") == 0)
		code = HV_ECONFIG;
	else
		code = HV_EPROTO;
	hv_err_set(e, code, "token endpoint: HTTP %ld: %s%s%s", status,
	    err ? err : "no error field", why ? ": " : "", why ? why : "");
	return printable(e);
}

int
hv_oauth_token_parse(struct hv_oauth_token *t, long status, const char *body,
    size_t n, struct hv_err *e)
{
	struct hv_json *j = NULL;
	const char *access, *refresh, *scope, *type;
	size_t alen = 0, rlen = 0;
	long long exp;
	int r;

	if (hv_json_parse(body, n, &j, NULL) < 0)
		j = NULL;
	if (status != 200 || j == NULL) {
		r = status == 200 ? hv_err_set(e, HV_EPROTO, "token endpoint: answer is not "
		    "JSON") : token_error(status, j, e);
		goto out;
	}
	access = hv_json_get_strn(j, "access_token", &alen);
	refresh = hv_json_get_strn(j, "refresh_token", &rlen);
	scope = hv_json_get_str(j, "scope");
	type = hv_json_get_str(j, "token_type");
	r = HV_EPROTO;
	if (access == NULL || *access == '\0')
		hv_err_set(e, r, "token endpoint: no access_token");
	else if (type != NULL && strcasecmp(type, "Bearer") != 0)
		hv_err_set(e, r, "token endpoint: token_type '%.32s', not Bearer", type);
	/* The access token goes into an Authorization header: a CR or LF in
	 * it would let the token endpoint's answer add headers of its own. */
	else if (!hv_http_header_value_ok(access, alen) ||
	    (refresh != NULL && !hv_http_header_value_ok(refresh, rlen)))
		hv_err_set(e, r, "token endpoint: a token holds CR, LF or NUL");
	else if (hv_json_get_int(j, "expires_in", &exp) < 0 || exp <= 0 || exp > 86400 * 366)
		hv_err_set(e, r, "token endpoint: bad expires_in");
	else if (hv_buf_adds(&t->access, access) < 0 ||
	    (refresh != NULL && hv_buf_adds(&t->refresh, refresh) < 0))
		hv_err_set(e, r, "token endpoint: token too long");
	else if (scope != NULL && strlen(scope) >= sizeof t->scope)
		hv_err_set(e, r, "token endpoint: scope list too long");
	else {
		t->expires_in = exp;
		snprintf(t->scope, sizeof t->scope, "%s", scope ? scope : "");
		r = 0;
	}
out:
	hv_json_free(j);
	return r;
}

static int
post_token(struct hv_http *h, const char *oauth, const struct hv_buf *form,
    struct hv_oauth_token *t, struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_buf url = HV_BUF_INIT(2048);
	int r;

	hv_http_response_init(&resp, TOKEN_BODY_MAX);
	resp.body.secret = 1;
	if (hv_buf_adds(&url, oauth) < 0 || hv_buf_adds(&url, "/token") < 0) {
		r = hv_err_set(e, HV_ECONFIG, "oauth endpoint too long");
		goto out;
	}
	req.method = "POST";
	req.url = url.data;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form->data;
	req.body_len = form->len;
	if ((r = hv_http_request(h, &req, &resp, e)) == 0)
		r = hv_oauth_token_parse(t, resp.status, resp.body.data ? resp.body.data : "",
		    resp.body.len, e);
out:
	hv_http_response_release(&resp);
	hv_buf_release(&url);
	return r;
}

int
hv_oauth_exchange_code(struct hv_http *h, const char *oauth,
    const struct hv_oauth_client *c, const char *code, const char *verifier,
    const char *redirect, struct hv_oauth_token *t, struct hv_err *e)
{
	struct hv_buf form;
	int r;

	hv_buf_init_secret(&form, 16 * 1024);
	if (hv_http_form_add(&form, "grant_type", "authorization_code") < 0 ||
	    hv_http_form_add(&form, "code", code) < 0 ||
	    hv_http_form_add(&form, "client_id", c->client_id) < 0 ||
	    hv_http_form_add(&form, "client_secret", c->secret.data) < 0 ||
	    hv_http_form_add(&form, "redirect_uri", redirect) < 0 ||
	    hv_http_form_add(&form, "code_verifier", verifier) < 0)
		r = hv_err_set(e, HV_EDATA, "token request too long");
	else
		r = post_token(h, oauth, &form, t, e);
	hv_buf_release(&form);
	return r;
}

int
hv_oauth_refresh(struct hv_http *h, const char *oauth, const struct hv_oauth_client *c,
    const char *refresh_token, struct hv_oauth_token *t, struct hv_err *e)
{
	struct hv_buf form;
	int r;

	hv_buf_init_secret(&form, 16 * 1024);
	if (hv_http_form_add(&form, "grant_type", "refresh_token") < 0 ||
	    hv_http_form_add(&form, "refresh_token", refresh_token) < 0 ||
	    hv_http_form_add(&form, "client_id", c->client_id) < 0 ||
	    hv_http_form_add(&form, "client_secret", c->secret.data) < 0)
		r = hv_err_set(e, HV_EDATA, "token request too long");
	else
		r = post_token(h, oauth, &form, t, e);
	hv_buf_release(&form);
	return r;
}

static int
b64url_json(struct hv_buf *out, struct hv_json *j)
{
	struct hv_buf text = HV_BUF_INIT(8192);
	int r = hv_json_dump(j, &text);

	if (r == 0)
		r = hv_b64url_encode(out, text.data, text.len);
	hv_buf_release(&text);
	return r;
}

/* header.claims.signature, RS256, as RFC 7523 wants it. */
static int
jwt_assertion(struct hv_buf *jwt, const struct hv_oauth_sa *sa, const char *aud,
    const char *subject, const char *scopes, long long now, struct hv_err *e)
{
	struct hv_json *hdr = hv_json_object(), *claims = hv_json_object();
	struct hv_buf sig = HV_BUF_INIT(1024);
	int r;

	hv_json_set_str(hdr, "alg", "RS256");
	hv_json_set_str(hdr, "typ", "JWT");
	hv_json_set_str(claims, "iss", sa->client_email);
	hv_json_set_str(claims, "sub", subject);
	hv_json_set_str(claims, "scope", scopes);
	hv_json_set_str(claims, "aud", aud);
	hv_json_set_int(claims, "iat", now);
	hv_json_set_int(claims, "exp", now + 3600);
	r = b64url_json(jwt, hdr);
	if (r == 0 && (r = hv_buf_add(jwt, ".", 1)) == 0)
		r = b64url_json(jwt, claims);
	if (r < 0)
		r = hv_err_set(e, HV_EDATA, "assertion too long");
	if (r == 0)
		r = hv_rs256_sign(sa->private_key.data, sa->private_key.len, jwt->data,
		    jwt->len, &sig, e);
	if (r == 0 && (hv_buf_add(jwt, ".", 1) < 0 ||
	    hv_b64url_encode(jwt, sig.data, sig.len) < 0))
		r = hv_err_set(e, HV_EDATA, "assertion too long");
	hv_buf_release(&sig);
	hv_json_free(hdr);
	hv_json_free(claims);
	return r;
}

int
hv_oauth_jwt_bearer(struct hv_http *h, const char *oauth, const struct hv_oauth_sa *sa,
    const char *subject, const char *scopes, long long now, struct hv_oauth_token *t,
    struct hv_err *e)
{
	struct hv_buf jwt = HV_BUF_INIT(8192), form, aud = HV_BUF_INIT(2048);
	int r;

	hv_buf_init_secret(&form, 16 * 1024);
	if (hv_buf_addf(&aud, "%s/token", oauth) < 0)
		r = hv_err_set(e, HV_ECONFIG, "oauth endpoint too long");
	else if ((r = jwt_assertion(&jwt, sa, aud.data, subject, scopes, now, e)) < 0)
		;
	else if (hv_http_form_add(&form, "grant_type",
	    "urn:ietf:params:oauth:grant-type:jwt-bearer") < 0 ||
	    hv_http_form_add(&form, "assertion", jwt.data) < 0)
		r = hv_err_set(e, HV_EDATA, "token request too long");
	else
		r = post_token(h, oauth, &form, t, e);
	hv_buf_release(&jwt);
	hv_buf_release(&form);
	hv_buf_release(&aud);
	return r;
}

int
hv_oauth_revoke(struct hv_http *h, const char *oauth, const char *token, struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_buf url = HV_BUF_INIT(2048), form;
	struct hv_json *j = NULL;
	const char *err;
	int r;

	hv_buf_init_secret(&form, 16 * 1024);
	hv_http_response_init(&resp, TOKEN_BODY_MAX);
	if (hv_buf_addf(&url, "%s/revoke", oauth) < 0 ||
	    hv_http_form_add(&form, "token", token) < 0) {
		r = hv_err_set(e, HV_EDATA, "revoke request too long");
		goto out;
	}
	req.method = "POST";
	req.url = url.data;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	if ((r = hv_http_request(h, &req, &resp, e)) < 0)
		goto out;
	if (resp.status == 200)
		goto out;
	if (hv_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &j, NULL) < 0)
		j = NULL;
	err = j ? hv_json_get_str(j, "error") : NULL;
	/* A token Google no longer knows is as revoked as it gets. */
	if (resp.status == 400 && err != NULL && strcmp(err, "invalid_token") == 0)
		goto out;
	r = token_error(resp.status, j, e);
	hv_err_wrap(e, "revoke");
out:
	hv_json_free(j);
	hv_http_response_release(&resp);
	hv_buf_release(&url);
	hv_buf_release(&form);
	return r;
}

int
hv_oauth_token_email(struct hv_http *h, const char *oauth, const char *access_token,
    struct hv_buf *email, struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_buf url = HV_BUF_INIT(2048), form;
	struct hv_json *j = NULL;
	const char *who;
	int r;

	hv_buf_init_secret(&form, 16 * 1024);
	hv_http_response_init(&resp, TOKEN_BODY_MAX);
	/*
	 * Google documents tokeninfo with the token as the access_token
	 * parameter and reads no Authorization header there.  In the POST
	 * body, never the URL: URLs end up in logs.
	 */
	if (hv_buf_addf(&url, "%s/tokeninfo", oauth) < 0 ||
	    hv_http_form_add(&form, "access_token", access_token) < 0) {
		r = hv_err_set(e, HV_EDATA, "tokeninfo request too long");
		goto out;
	}
	req.method = "POST";
	req.url = url.data;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	if ((r = hv_http_request(h, &req, &resp, e)) < 0)
		goto out;
	if (resp.status != 200) {
		r = hv_err_set(e, resp.status == 429 || resp.status >= 500 ? HV_ETEMP : HV_EPROTO,
		    "tokeninfo: HTTP %ld", resp.status);
		goto out;
	}
	if (hv_json_parse(resp.body.data ? resp.body.data : "", resp.body.len, &j, NULL) < 0 ||
	    (who = hv_json_get_str(j, "email")) == NULL || strchr(who, '@') == NULL)
		r = hv_err_set(e, HV_EPROTO, "tokeninfo: no email in the answer");
	else
		r = hv_buf_adds(email, who) < 0 ? hv_err_set(e, HV_EPROTO, "tokeninfo: email too "
		    "long") : 0;
out:
	hv_json_free(j);
	hv_http_response_release(&resp);
	hv_buf_release(&url);
	hv_buf_release(&form);
	return r;
}

int
hv_oauth_scopes_missing(const char *wanted, const char *granted, struct hv_buf *missing)
{
	const char *p = wanted, *g;
	size_t n, gn;
	int found, r = 0;

	while (*p) {
		while (*p == ' ')
			p++;
		if ((n = strcspn(p, " ")) == 0)
			break;
		found = 0;
		for (g = granted; *g && !found; g += gn) {
			while (*g == ' ')
				g++;
			gn = strcspn(g, " ");
			found = gn == n && strncmp(g, p, n) == 0;
		}
		if (!found) {
			if (missing->len > 0)
				hv_buf_add(missing, " ", 1);
			hv_buf_add(missing, p, n);
			r = HV_ENO;
		}
		p += n;
	}
	return r;
}
