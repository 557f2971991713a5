/*
 * fuzz-oauth: what hv-auth reads from Google and from the user's files:
 * token endpoint answers (hv_oauth_token_parse, under each HTTP status it
 * meets), Desktop client files (hv_oauth_client_parse), service-account
 * key files (hv_oauth_sa_parse), and loopback redirects
 * (hv_oauth_redirect_code), with the granted scope of a good answer fed to
 * hv_oauth_scopes_missing.
 *
 * The first byte chooses the parser (low two bits) and, for a token
 * answer, the HTTP status (the rest); for a redirect, the text before the
 * first newline is the expected state when there is a newline.  The rest
 * is the input.
 *
 * Invariants: each parser answers with one of the codes its header names,
 * and a non-empty message on failure; a failure keeps nothing (no client
 * id, no client email); a success holds what its header promises (an
 * access token, a lifetime in range, only with status 200; a client id; a
 * PEM key and an address; a non-empty code).  Messages may quote Google's
 * error_description or the redirect's error as given, so they are not
 * required to be one line here.
 *
 * libjq 1.6 leaks on some bad JSON (see fuzz-json.c): input that does not
 * parse as JSON runs with leak detection off.
 */
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "oauth.h"
#include "fuzz.h"
#include "banned.h"

#define WANTED "https://www.googleapis.com/auth/gmail.insert " \
    "https://www.googleapis.com/auth/gmail.labels"

static const long statuses[] = { 200, 200, 200, 200, 400, 401, 403, 404, 429, 500,
	502, 503, 302, 0, 201, 599 };

static void
check_token(long status, const char *text, size_t n)
{
	struct hv_oauth_token t;
	struct hv_buf missing = HV_BUF_INIT(4096);
	struct hv_err e = { 0 };
	int r;

	hv_oauth_token_init(&t);
	r = hv_oauth_token_parse(&t, status, text, n, &e);
	CHECK(r == 0 || r == HV_EPERM || r == HV_ECONFIG || r == HV_ETEMP || r == HV_EPROTO);
	if (r == 0) {
		CHECK(status == 200);
		CHECK(t.access.len > 0 && strlen(t.access.data) == t.access.len);
		CHECK(t.expires_in > 0 && t.expires_in <= 86400LL * 366);
		CHECK(memchr(t.scope, '\0', sizeof t.scope) != NULL);
		r = hv_oauth_scopes_missing(WANTED, t.scope, &missing);
		CHECK((r == 0) == (missing.len == 0) && (r == 0 || r == HV_ENO));
	} else {
		CHECK(e.code == r && e.msg[0] != '\0');
		CHECK(status == 200 || r != HV_EPROTO || strstr(e.msg, "HTTP") != NULL);
		if (status == 429 || status >= 500)
			CHECK(r == HV_ETEMP);
	}
	hv_buf_release(&missing);
	hv_oauth_token_release(&t);
}

static void
check_client(const char *text, size_t n)
{
	struct hv_oauth_client c;
	struct hv_err e = { 0 };
	int r;

	r = hv_oauth_client_parse(&c, text, n, &e);
	CHECK(r == 0 || r == HV_EDATA);
	if (r == 0)
		CHECK(c.client_id != NULL && c.client_id[0] != '\0' && c.secret.secret);
	else
		CHECK(c.client_id == NULL && e.msg[0] != '\0');
	hv_oauth_client_release(&c);
}

static void
check_sa(const char *text, size_t n)
{
	struct hv_oauth_sa sa;
	struct hv_err e = { 0 };
	int r;

	r = hv_oauth_sa_parse(&sa, text, n, &e);
	CHECK(r == 0 || r == HV_EDATA);
	if (r == 0) {
		CHECK(sa.client_email != NULL && strchr(sa.client_email, '@') != NULL);
		CHECK(strstr(sa.private_key.data, "-----BEGIN PRIVATE KEY-----") != NULL);
		CHECK(sa.private_key.secret);
	} else {
		CHECK(sa.client_email == NULL && e.msg[0] != '\0');
	}
	hv_oauth_sa_release(&sa);
}

static void
check_redirect(const char *text, size_t n)
{
	struct hv_buf target = HV_BUF_INIT(1 << 20), state = HV_BUF_INIT(1 << 20);
	struct hv_buf code = HV_BUF_INIT(4096);
	struct hv_err e = { 0 };
	const char *nl = memchr(text, '\n', n);
	int r;

	if (nl != NULL) {
		hv_buf_add(&state, text, (size_t)(nl - text));
		n -= (size_t)(nl - text) + 1;
		text = nl + 1;
	} else {
		hv_buf_adds(&state, "st8");
	}
	hv_buf_add(&target, text, n);
	r = hv_oauth_redirect_code(target.data ? target.data : "", state.data, &code, &e);
	CHECK(r == 0 || r == HV_EPERM || r == HV_EDATA);
	if (r == 0)
		CHECK(code.len > 0 && strchr(target.data, '?') != NULL);
	else
		CHECK(e.code == r && e.msg[0] != '\0');
	hv_buf_release(&target);
	hv_buf_release(&state);
	hv_buf_release(&code);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	int json;

	if (size < 1)
		return 0;
	json = (data[0] & 3) == 3 || is_json(text, n);
	if (!json)
		__lsan_disable();
	switch (data[0] & 3) {
	case 0:
		check_token(statuses[(data[0] >> 2) % (sizeof statuses / sizeof statuses[0])],
		    text, n);
		break;
	case 1:
		check_client(text, n);
		break;
	case 2:
		check_sa(text, n);
		break;
	default:
		check_redirect(text, n);
		break;
	}
	if (!json)
		__lsan_enable();
	return 0;
}
