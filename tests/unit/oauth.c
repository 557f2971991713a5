/*
 * oauth: the token endpoint's answers as Google gives them, the client and
 * service-account files, the loopback redirect, granted scopes, and PKCE
 * against the example of RFC 7636 appendix B.
 */
#include <string.h>

#include "crypto.h"
#include "oauth.h"
#include "tap.h"

#define PEM "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"

/* Token endpoint answers: status, body, the code, and words e->msg must hold. */
static const struct {
	long status;
	const char *body;
	int code;
	const char *msg;
} answers[] = {
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":3599,\"token_type\":\"Bearer\","
	    "\"scope\":\"https://www.googleapis.com/auth/gmail.readonly\","
	    "\"refresh_token\":\"1//R\"}", 0, NULL },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":3599,\"token_type\":\"bearer\"}",
	    0, NULL },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":1}", 0, NULL },
	{ 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired "
	    "or revoked.\"}", HV_EPERM, "invalid_grant: Token has been expired or revoked." },
	{ 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Bad Request\"}",
	    HV_EPERM, "invalid_grant" },
	{ 401, "{\"error\":\"invalid_client\",\"error_description\":\"The OAuth client was "
	    "not found.\"}", HV_ECONFIG, "invalid_client: The OAuth client was not found." },
	{ 401, "{\"error\":\"unauthorized_client\",\"error_description\":\"Client is "
	    "unauthorized to retrieve access tokens using this method, or client not "
	    "authorized for any of the scopes requested.\"}", HV_EPERM, "unauthorized_client" },
	{ 400, "{\"error\":\"invalid_scope\",\"error_description\":\"Invalid OAuth scope "
	    "or ID token audience provided.\"}", HV_EPERM, "invalid_scope" },
	{ 403, "{\"error\":\"access_denied\"}", HV_EPERM, "access_denied" },
	{ 400, "{\"error\":\"invalid_request\",\"error_description\":\"Missing required "
	    "parameter: code\"}", HV_EPROTO, "invalid_request" },
	{ 400, "{\"error\":\"unsupported_grant_type\"}", HV_EPROTO, "unsupported_grant_type" },
	{ 500, "{\"error\":\"internal_failure\"}", HV_ETEMP, "HTTP 500" },
	{ 503, "<html><body>Service Unavailable</body></html>", HV_ETEMP, "HTTP 503" },
	{ 502, "", HV_ETEMP, "HTTP 502" },
	{ 429, "{\"error\":\"rate_limit_exceeded\"}", HV_ETEMP, "HTTP 429" },
	{ 400, "Bad Request", HV_EPROTO, "no error field" },
	{ 404, "<!DOCTYPE html><title>Error 404 (Not Found)</title>", HV_EPROTO, "HTTP 404" },
	{ 200, "<html>a captive portal</html>", HV_EPROTO, "not JSON" },
	{ 200, "", HV_EPROTO, "not JSON" },
	{ 200, "[\"ya29.A\"]", HV_EPROTO, "no access_token" },
	{ 200, "{\"expires_in\":3599,\"token_type\":\"Bearer\"}", HV_EPROTO, "no access_token" },
	{ 200, "{\"access_token\":\"\",\"expires_in\":3599}", HV_EPROTO, "no access_token" },
	{ 200, "{\"access_token\":42,\"expires_in\":3599}", HV_EPROTO, "no access_token" },
	{ 200, "{\"access_token\":\"ya29.A\"}", HV_EPROTO, "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":\"3599\"}", HV_EPROTO,
	    "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":0}", HV_EPROTO, "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":-5}", HV_EPROTO, "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":35.5}", HV_EPROTO,
	    "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":99999999999}", HV_EPROTO,
	    "bad expires_in" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":3599,\"token_type\":\"MAC\"}",
	    HV_EPROTO, "token_type 'MAC', not Bearer" },
	{ 200, "{\"access_token\":\"ya29.A\",\"expires_in\":3599,\"token_type\":\"DPoP\"}",
	    HV_EPROTO, "not Bearer" },
	/* A token goes into a header: no CR, LF or NUL may come with it. */
	{ 200, "{\"access_token\":\"ya29.A\\r\\nX-Evil: 1\",\"expires_in\":3599}", HV_EPROTO,
	    "CR, LF or NUL" },
	{ 200, "{\"access_token\":\"ya29.A\\n\",\"expires_in\":3599}", HV_EPROTO,
	    "CR, LF or NUL" },
	{ 200, "{\"access_token\":\"ya29.A\\u0000B\",\"expires_in\":3599}", HV_EPROTO,
	    "CR, LF or NUL" },
	{ 200, "{\"access_token\":\"ya29.A\",\"refresh_token\":\"1//R\\r\",\"expires_in\":3599}",
	    HV_EPROTO, "CR, LF or NUL" },
};

static void
test_token_parse(void)
{
	static const char leaky[] = "{\"error\":\"invalid_grant\",\"refresh_token\":"
	    "\"1//SECRET\"}";
	struct hv_oauth_token t;
	struct hv_err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		memset(&e, 0, sizeof e);
		hv_oauth_token_init(&t);
		r = hv_oauth_token_parse(&t, answers[i].status, answers[i].body,
		    strlen(answers[i].body), &e);
		is_int(r, answers[i].code, "token answer %zu (HTTP %ld): code", i,
		    answers[i].status);
		if (answers[i].msg != NULL)
			ok(strstr(e.msg, answers[i].msg) != NULL, "token answer %zu: says '%s': %s",
			    i, answers[i].msg, e.msg);
		else
			ok(t.access.len > 0 && t.expires_in > 0, "token answer %zu: filled in", i);
		hv_oauth_token_release(&t);
	}

	hv_oauth_token_init(&t);
	is_int(hv_oauth_token_parse(&t, 200, answers[0].body, strlen(answers[0].body), NULL), 0,
	    "a full answer");
	is_str(t.access.data, "ya29.A", "access token");
	is_str(t.refresh.data, "1//R", "refresh token");
	is_int(t.expires_in, 3599, "expires_in");
	is_str(t.scope, "https://www.googleapis.com/auth/gmail.readonly", "granted scope");
	hv_oauth_token_release(&t);
	hv_oauth_token_init(&t);
	is_int(hv_oauth_token_parse(&t, 200, answers[2].body, strlen(answers[2].body), NULL), 0,
	    "an answer without refresh token, type or scope");
	ok(t.refresh.len == 0 && t.scope[0] == '\0', "leaves them empty");
	hv_oauth_token_release(&t);
	memset(&e, 0, sizeof e);
	hv_oauth_token_init(&t);
	is_int(hv_oauth_token_parse(&t, 400, leaky, strlen(leaky), &e), HV_EPERM,
	    "an error answer");
	ok(strstr(e.msg, "SECRET") == NULL, "never echoes a token: %s", e.msg);
	hv_oauth_token_release(&t);
}

/* Header values: CR, LF and NUL refused, where they come from and again
 * when any request is built, before a byte goes out. */
static void
test_header_values(void)
{
	static const char *const evil[] = { "X-Ok: 1", "X-Evil: 1\r\nHost: x", NULL };
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_http *h = NULL;
	struct hv_err e;

	ok(hv_http_header_value_ok("ya29.A-b_c", 10), "a plain value passes");
	ok(!hv_http_header_value_ok("a\rb", 3), "CR is refused");
	ok(!hv_http_header_value_ok("a\nb", 3), "LF is refused");
	ok(!hv_http_header_value_ok("a\0b", 3), "NUL is refused");
	if (hv_http_new(&h, NULL, 5, NULL) < 0) {
		ok(0, "hv_http_new");
		return;
	}
	hv_http_response_init(&resp, 4096);
	req.method = "GET";
	req.url = "http://127.0.0.1:1/";
	req.bearer = "ya29.A\r\nX-Evil: 1";
	memset(&e, 0, sizeof e);
	is_int(hv_http_request(h, &req, &resp, &e), HV_EDATA, "a bearer with CR LF: no request");
	ok(strstr(e.msg, "CR or LF") != NULL, "says why: %s", e.msg);
	req.bearer = NULL;
	req.content_type = "text/plain\nX-Evil: 1";
	is_int(hv_http_request(h, &req, &resp, NULL), HV_EDATA, "nor with such a Content-Type");
	req.content_type = NULL;
	req.headers = evil;
	is_int(hv_http_request(h, &req, &resp, NULL), HV_EDATA, "nor with such an extra header");
	hv_http_response_release(&resp);
	hv_http_free(h);
}

/* Client files: the text, the code, and a word of the message. */
static const struct {
	const char *text;
	int code;
	const char *msg;
} clients[] = {
	{ "{\"installed\":{\"client_id\":\"123-abc.apps.googleusercontent.com\","
	    "\"project_id\":\"hv\",\"auth_uri\":\"https://accounts.google.com/o/oauth2/auth\","
	    "\"token_uri\":\"https://oauth2.googleapis.com/token\","
	    "\"client_secret\":\"GOCSPX-s3cr3t\",\"redirect_uris\":[\"http://localhost\"]}}",
	    0, NULL },
	{ "{\"web\":{\"client_id\":\"1.apps.googleusercontent.com\",\"client_secret\":\"x\"}}",
	    HV_EDATA, "not a Desktop app client file" },
	{ "{\"installed\":{\"client_secret\":\"x\"}}", HV_EDATA, "lacks client_id" },
	{ "{\"installed\":{\"client_id\":\"\",\"client_secret\":\"x\"}}", HV_EDATA,
	    "lacks client_id" },
	{ "{\"installed\":{\"client_id\":\"1.apps\"}}", HV_EDATA, "client_secret" },
	{ "{\"installed\":{\"client_id\":7,\"client_secret\":\"x\"}}", HV_EDATA,
	    "lacks client_id" },
	{ "{\"installed\":\"yes\"}", HV_EDATA, "lacks client_id" },
	{ "[]", HV_EDATA, "not a Desktop app client file" },
	{ "", HV_EDATA, "client file" },
	{ "{\"installed\":{\"client_id\":\"1\",\"client_secret\":\"x\"}", HV_EDATA,
	    "client file" },
};

static void
test_client_parse(void)
{
	struct hv_oauth_client c;
	struct hv_err e;
	size_t i;

	for (i = 0; i < sizeof clients / sizeof clients[0]; i++) {
		memset(&e, 0, sizeof e);
		is_int(hv_oauth_client_parse(&c, clients[i].text, strlen(clients[i].text), &e),
		    clients[i].code, "client file %zu: code", i);
		if (clients[i].msg != NULL)
			ok(strstr(e.msg, clients[i].msg) != NULL && c.client_id == NULL,
			    "client file %zu: says '%s', keeps nothing: %s", i, clients[i].msg,
			    e.msg);
		hv_oauth_client_release(&c);
	}
	hv_oauth_client_parse(&c, clients[0].text, strlen(clients[0].text), NULL);
	is_str(c.client_id, "123-abc.apps.googleusercontent.com", "client id");
	is_str(c.secret.data, "GOCSPX-s3cr3t", "client secret");
	ok(c.secret.secret, "held in a secret buffer");
	hv_oauth_client_release(&c);
}

static const struct {
	const char *text;
	int code;
	const char *msg;
} sas[] = {
	{ "{\"type\":\"service_account\",\"project_id\":\"hv\",\"private_key_id\":\"abc\","
	    "\"private_key\":\"" PEM "\",\"client_email\":\"hv@hv.iam.gserviceaccount.com\","
	    "\"client_id\":\"1\",\"token_uri\":\"https://oauth2.googleapis.com/token\"}",
	    0, NULL },
	{ "{\"type\":\"authorized_user\",\"client_id\":\"1\",\"client_secret\":\"x\","
	    "\"refresh_token\":\"1//R\"}", HV_EDATA, "not a service-account key file" },
	{ "{\"private_key\":\"" PEM "\",\"client_email\":\"a@b\"}", HV_EDATA,
	    "not a service-account key file" },
	{ "{\"type\":\"service_account\",\"private_key\":\"" PEM "\"}", HV_EDATA,
	    "lacks client_email" },
	{ "{\"type\":\"service_account\",\"private_key\":\"" PEM "\",\"client_email\":"
	    "\"nobody\"}", HV_EDATA, "lacks client_email" },
	{ "{\"type\":\"service_account\",\"client_email\":\"a@b\"}", HV_EDATA,
	    "lacks a PEM private_key" },
	{ "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":"
	    "\"-----BEGIN RSA PRIVATE KEY-----\\nMII\"}", HV_EDATA, "lacks a PEM private_key" },
	{ "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":[]}",
	    HV_EDATA, "lacks a PEM private_key" },
	{ "not json", HV_EDATA, "service-account key file" },
};

static void
test_sa_parse(void)
{
	struct hv_oauth_sa sa;
	struct hv_err e;
	size_t i;

	for (i = 0; i < sizeof sas / sizeof sas[0]; i++) {
		memset(&e, 0, sizeof e);
		is_int(hv_oauth_sa_parse(&sa, sas[i].text, strlen(sas[i].text), &e), sas[i].code,
		    "key file %zu: code", i);
		if (sas[i].msg != NULL)
			ok(strstr(e.msg, sas[i].msg) != NULL && sa.client_email == NULL,
			    "key file %zu: says '%s', keeps nothing: %s", i, sas[i].msg, e.msg);
		hv_oauth_sa_release(&sa);
	}
	hv_oauth_sa_parse(&sa, sas[0].text, strlen(sas[0].text), NULL);
	is_str(sa.client_email, "hv@hv.iam.gserviceaccount.com", "client email");
	is_str(sa.private_key.data, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
	    "the PEM key, its escapes decoded");
	ok(sa.private_key.secret, "held in a secret buffer");
	hv_oauth_sa_release(&sa);
}

/* Redirects checked against the state "st8": the code, and what *code holds. */
static const struct {
	const char *target;
	int code;
	const char *want;
} redirects[] = {
	{ "/?state=st8&code=4/0Ab", 0, "4/0Ab" },
	{ "http://127.0.0.1:41234/?state=st8&code=4%2F0Ab&scope=a+b", 0, "4/0Ab" },
	{ "/?code=4%2F0AbC%2Bd%3D&state=st8", 0, "4/0AbC+d=" },
	{ "/?code=a+b&state=st8", 0, "a b" },
	{ "/?iss=https%3A%2F%2Faccounts.google.com&state=st8&code=c&authuser=0&prompt=consent",
	    0, "c" },
	{ "/?state=st8&code=c#frag", 0, "c" },
	{ "/?state=st9&code=c", HV_EPERM, NULL },
	{ "/?state=st&code=c", HV_EPERM, NULL },
	{ "/?state=st88&code=c", HV_EPERM, NULL },
	{ "/?code=c", HV_EPERM, NULL },
	{ "/?xstate=st8&code=c", HV_EPERM, NULL },
	{ "/?error=access_denied&state=st8", HV_EPERM, NULL },
	{ "/?error=access_denied", HV_EPERM, NULL },
	{ "/?state=st8", HV_EDATA, NULL },
	{ "/?state=st8&code=", HV_EDATA, NULL },
	{ "/?state=st8&xcode=c", HV_EDATA, NULL },
	{ "/?state=st8&code=%zz", HV_EDATA, NULL },
	{ "/", HV_EDATA, NULL },
	{ "", HV_EDATA, NULL },
};

static void
test_redirect(void)
{
	struct hv_buf code = HV_BUF_INIT(4096);
	struct hv_err e;
	size_t i;

	for (i = 0; i < sizeof redirects / sizeof redirects[0]; i++) {
		memset(&e, 0, sizeof e);
		hv_buf_reset(&code);
		is_int(hv_oauth_redirect_code(redirects[i].target, "st8", &code, &e),
		    redirects[i].code, "redirect '%s'", redirects[i].target);
		if (redirects[i].want != NULL)
			is_str(code.data, redirects[i].want, "its code, decoded");
	}
	memset(&e, 0, sizeof e);
	hv_oauth_redirect_code("/?error=access_denied&state=st8", "st8", &code, &e);
	ok(strstr(e.msg, "sign-in refused: access_denied") != NULL, "a refusal says so: %s",
	    e.msg);
	hv_oauth_redirect_code("/?state=forged&code=c", "st8", &code, &e);
	ok(strstr(e.msg, "state does not match") != NULL, "a forgery says so: %s", e.msg);
	hv_buf_release(&code);
}

#define S(x) "https://www.googleapis.com/auth/" x

static void
test_scopes_missing(void)
{
	static const struct {
		const char *wanted, *granted, *missing;
	} t[] = {
		{ S("gmail.readonly"), S("gmail.readonly"), "" },
		{ S("gmail.insert") " " S("gmail.labels"), S("gmail.labels") " " S("gmail.insert"),
		    "" },
		{ S("gmail.insert") " " S("gmail.labels"), S("gmail.insert"), S("gmail.labels") },
		{ S("gmail.insert") " " S("gmail.labels"), "", S("gmail.insert") " "
		    S("gmail.labels") },
		{ S("gmail.readonly"), S("gmail.modify"), S("gmail.readonly") },
		{ S("gmail.labels"), S("gmail.labels.x"), S("gmail.labels") },
		{ S("gmail.labels"), "openid " S("gmail.labels") " email", "" },
		{ "  " S("gmail.labels") "  ", "   " S("gmail.labels"), "" },
		{ "", S("gmail.labels"), "" },
	};
	struct hv_buf m = HV_BUF_INIT(4096);
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		hv_buf_reset(&m);
		is_int(hv_oauth_scopes_missing(t[i].wanted, t[i].granted, &m),
		    t[i].missing[0] ? HV_ENO : 0, "scopes %zu: the answer", i);
		is_str(m.data ? m.data : "", t[i].missing, "scopes %zu: what is missing", i);
	}
	hv_buf_release(&m);
}

static int
b64url_sha256(struct hv_buf *out, const char *verifier)
{
	uint8_t h[HV_SHA256_LEN];

	hv_sha256(h, verifier, strlen(verifier));
	return hv_b64url_encode(out, h, sizeof h);
}

static void
test_pkce(void)
{
	/* RFC 7636 appendix B. */
	static const char verifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	struct hv_oauth_pkce p, q;
	struct hv_buf c = HV_BUF_INIT(128), url = HV_BUF_INIT(4096);
	size_t i;

	is_int(b64url_sha256(&c, verifier), 0, "S256 of the RFC 7636 verifier");
	is_str(c.data, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	    "is the challenge of RFC 7636 appendix B");
	is_int(hv_oauth_pkce_new(&p, NULL), 0, "a new PKCE pair");
	is_int(strlen(p.verifier), 43, "the verifier is 43 characters (32 random bytes)");
	is_int(strspn(p.verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~"), 43, "of the unreserved set");
	hv_buf_reset(&c);
	b64url_sha256(&c, p.verifier);
	is_str(p.challenge, c.data, "its challenge is base64url(SHA-256(verifier))");
	ok(strchr(p.challenge, '=') == NULL && strlen(p.challenge) == 43, "without padding");
	ok(strlen(p.state) >= 16, "a state of 16 random bytes");
	hv_oauth_pkce_new(&q, NULL);
	ok(strcmp(p.verifier, q.verifier) != 0 && strcmp(p.state, q.state) != 0,
	    "two sign-ins share nothing");
	is_int(hv_oauth_auth_url(&url, "https://accounts.google.com", "1.apps", "http://127.0.0.1:4/",
	    S("gmail.readonly"), NULL, &p), 0, "the consent URL");
	ok(strstr(url.data, "code_challenge_method=S256") != NULL &&
	    strstr(url.data, p.challenge) != NULL && strstr(url.data, p.verifier) == NULL,
	    "carries the challenge, never the verifier");
	for (i = 0; i < 2; i++)
		ok(strstr(url.data, i ? "access_type=offline" : "prompt=consent") != NULL,
		    "asks for %s", i ? "offline access" : "consent");
	hv_buf_release(&c);
	hv_buf_release(&url);
}

int
main(void)
{
	test_token_parse();
	test_header_values();
	test_client_parse();
	test_sa_parse();
	test_redirect();
	test_scopes_missing();
	test_pkce();
	return tap_done();
}
