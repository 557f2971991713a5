/*
 * fuzz-resumable: what lib/gmail_resumable.c reads of Google's answers to a
 * resumable upload: the session URI in the initiation's Location header
 * (gmail_session_url) and the Range of a 308 (gmail_range_got); and the
 * cutting of session keys out of error messages (gmail_redact).
 *
 * The first byte chooses: its low two bits what the rest is (0 a
 * Location, 1 a Range, 2 and 3 an error message), the other six the
 * [google] api of a Location from apis[] or the total size of a Range
 * from totals[].
 *
 * Invariants: each answers 0 or HV_EPROTO.  A session URI taken is the
 * Location byte for byte, printable ASCII without spaces, on the api's
 * origin followed by '/', and allowed by the HTTP policy; one refused
 * leaves nothing behind.  A Range taken is "bytes=0-N" with N decimal,
 * and the bytes acknowledged are N + 1, between 1 and the total; one
 * refused acknowledges nothing.  A message redacted is no longer than it
 * was, and no "upload_id=" in it is followed by more than three bytes of
 * a key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "gmail.h"
#include "gmail_int.h"
#include "http.h"
#include "fuzz.h"
#include "banned.h"

static const char *const apis[] = { "https://gmail.googleapis.com",
	"https://127.0.0.1:8443", "https://127.0.0.1:8443/", "http://127.0.0.1:9",
	"https://[::1]:443", "https://www.googleapis.com/gmail" };
static const size_t totals[] = { 0, 1, 2, 10, 1000, 262144, 52428800, SIZE_MAX / 2,
	SIZE_MAX };

static void
check_session(const char *api, const char *loc, size_t n)
{
	struct hv_buf out = HV_BUF_INIT(4096);
	const char *host = strstr(api, "://");
	size_t origin = (size_t)(host + 3 - api) + strcspn(host + 3, "/?#"), i;
	int r = gmail_session_url(api, loc, n, &out);

	CHECK(r == 0 || r == HV_EPROTO);
	if (r == 0) {
		CHECK(out.len == n && memcmp(out.data, loc, n) == 0 && out.data[n] == '\0');
		for (i = 0; i < n; i++)
			CHECK((unsigned char)loc[i] > ' ' && (unsigned char)loc[i] < 0x7f);
		CHECK(n > origin && memcmp(loc, api, origin) == 0 && loc[origin] == '/');
		CHECK(hv_http_url_allowed(out.data));
	} else {
		CHECK(out.len == 0);
	}
	hv_buf_release(&out);
}

static void
check_range(const char *v, size_t n, size_t total)
{
	size_t got = 7, i, last = 0;
	int r = gmail_range_got(v, n, total, &got);

	CHECK(r == 0 || r == HV_EPROTO);
	if (r != 0) {
		CHECK(got == 0);
		return;
	}
	CHECK(n > 8 && memcmp(v, "bytes=0-", 8) == 0);
	for (i = 8; i < n; i++) {
		CHECK(v[i] >= '0' && v[i] <= '9');
		last = last * 10 + (size_t)(v[i] - '0');
	}
	CHECK(got == last + 1 && got >= 1 && got <= total);
}

static void
check_redact(const char *s, size_t n)
{
	char msg[HV_ERR_MSG];
	const char *p;
	size_t len = n < sizeof msg - 1 ? n : sizeof msg - 1;

	memcpy(msg, s, len);
	msg[len] = '\0';
	len = strlen(msg);
	gmail_redact(msg);
	CHECK(strlen(msg) <= len);
	for (p = msg; (p = strstr(p, "upload_id=")) != NULL; p++)
		CHECK(strcspn(p + 10, "&# :;'\")") <= 3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rest = (const char *)data + 1;
	/* Copied to a buffer of its own size, so AddressSanitizer sees a
	 * read past the n bytes the parsers are given. */
	char *s;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	s = malloc(n ? n : 1);
	CHECK(s != NULL);
	memcpy(s, rest, n);
	switch (data[0] & 3) {
	case 0:
		check_session(apis[(data[0] >> 2) % (sizeof apis / sizeof apis[0])], s, n);
		break;
	case 1:
		check_range(s, n, totals[(data[0] >> 2) % (sizeof totals / sizeof totals[0])]);
		break;
	default:
		check_redact(s, n);
		break;
	}
	free(s);
	return 0;
}
