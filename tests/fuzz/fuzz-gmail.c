/*
 * fuzz-gmail: Google's answers to the Gmail calls, as lib/gmail.c and
 * lib/gmail_pool.c read them: error bodies (gmail_error_of, then
 * gmail_rate_limited and gmail_retry_after as on_answer uses them), the
 * prose of a lockout (gmail_retry_after), messages.get format=raw answers
 * (gmail_message_of), labels.list answers (gmail_label_in and
 * gmail_labels_each) and the answers of labels.create and uploads
 * (gmail_id_of).
 *
 * The first byte chooses: its low three bits what the rest is, the other
 * five the HTTP status of an error body from statuses[].
 *
 *	0 an error body			4 a labels.create and an upload answer
 *	1 lockout prose			5 lockout prose after "Retry after "
 *	2 a messages.get answer		6 a labels.list answer, for "hv-team"
 *	3 a label's name, a newline	7 each of 0-4 and 6 on the same input
 *	  and a labels.list answer
 *
 * Invariants: each parser answers with one of the codes its header names,
 * and e says why when it takes one; text goes into exactly the buffers the
 * callers give (allocated to size, so AddressSanitizer sees a byte past
 * them), NUL-terminated, and an id or label list holds exactly what the
 * answer says (never cut, never a string split at a NUL: the call is
 * refused instead), each label id one gmail_label_id_ok takes; a
 * decoded raw is no longer than three quarters of the answer and encodes
 * back to the answer's raw; a wait is -1 or between 0 and the seconds to
 * the year 10000, shrinks as time goes on, and is -1 without "Retry after ";
 * only a 429 and a 403 may be a rate limit.
 *
 * libjq 1.6 leaks on some bad JSON (see fuzz-json.c): an answer that does
 * not parse as JSON runs with leak detection off, and scripts/fuzz runs
 * this target with -detect_leaks=0, so a leak of hv's own is reported when
 * the run ends rather than by the input that caused it.
 */
#include <stdlib.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "gmail.h"
#include "gmail_int.h"
#include "json.h"
#include "fuzz.h"
#include "banned.h"

/* What on_answer gives gmail_error_of. */
#define REASON_MAX 128
#define MSG_MAX 512

#define NOW 1700000000.0		/* 2023-11-14T22:13:20Z */
#define YEAR_10000 253402300800.0	/* the first second hv_audit_parse_time cannot name */

static const long statuses[] = { 429, 403, 401, 404, 400, 409, 500, 502, 503, 200,
	429, 403, 403, 403, 0, 599, 100, 302, 410, 413, 999, -1, 403, 429, 401, 404, 400,
	500, 501, 504, 408, 451 };

/* A C string copy of n bytes (which may hold NULs): free it. */
static char *
text_of(const char *s, size_t n)
{
	char *t = malloc(n + 1);

	CHECK(t != NULL);
	memcpy(t, s, n);
	t[n] = '\0';
	return t;
}

/* out (max bytes) holds exactly the string member key of j, or "" when
 * there is none: nothing cut, nothing split at a NUL. */
static int
same_as(const char *out, size_t max, const struct hv_json *j, const char *key)
{
	size_t n;
	const char *s = hv_json_get_strn(j, key, &n);

	if (memchr(out, '\0', max) == NULL)
		return 0;
	if (s == NULL)
		return out[0] == '\0';
	return n < max && strlen(out) == n && memcmp(out, s, n) == 0;
}

/* labels holds each of j's labelIds, space-separated, each a label id. */
static int
labels_of(const char *labels, const struct hv_json *j)
{
	struct hv_json *l = hv_json_get(j, "labelIds"), *it;
	const char *p = labels, *s;
	size_t i, n = l ? hv_json_array_len(l) : 0, len;
	int ok = labels != NULL;

	for (i = 0; ok && i < n; i++) {
		it = hv_json_array_get(l, i);
		s = hv_json_strn(it, &len);
		ok = s != NULL && gmail_label_id_ok(s, len) && strncmp(p, s, len) == 0 &&
		    (p[len] == '\0' || p[len] == ' ');
		p += len + (p[len] == ' ');
		hv_json_free(it);
	}
	hv_json_free(l);
	return ok && *p == '\0';
}

static void
check_retry(const char *msg)
{
	long r = gmail_retry_after(msg, NOW), later = gmail_retry_after(msg, NOW + 3600);

	CHECK(r == -1 || (r >= 0 && (double)r <= YEAR_10000 - NOW + 1));
	CHECK((r == -1) == (later == -1));
	CHECK(r == -1 || later <= r);
	if (strstr(msg, "Retry after ") == NULL)
		CHECK(r == -1);
}

static void
check_error(long status, const char *body, size_t n)
{
	char *reason = malloc(REASON_MAX), *msg = malloc(MSG_MAX);
	int limited;

	CHECK(reason != NULL && msg != NULL);
	gmail_error_of(body, n, reason, REASON_MAX, msg, MSG_MAX);
	CHECK(memchr(reason, '\0', REASON_MAX) != NULL && memchr(msg, '\0', MSG_MAX) != NULL);
	limited = gmail_rate_limited(status, reason);
	CHECK(limited == 0 || limited == 1);
	CHECK(!limited || status == 429 || status == 403);
	if (status == 429)
		CHECK(limited);
	check_retry(msg);
	free(reason);
	free(msg);
}

static void
check_message(const char *body, size_t n)
{
	struct hv_gmail_message m;
	struct hv_buf again = HV_BUF_INIT(HV_GMAIL_RAW_MAX);
	struct hv_json *j = NULL;
	struct hv_err e = { 0 };
	const char *raw;
	size_t bare;
	int r;

	hv_gmail_message_init(&m);
	r = gmail_message_of("fuzz@example.com", "18c2", body, n, &m, &e);
	CHECK(r == 0 || r == HV_EPROTO);
	if (r < 0) {
		CHECK(e.code == r && one_line(e.msg));
		hv_gmail_message_release(&m);
		return;
	}
	CHECK(hv_json_parse(body, n, &j, NULL) == 0);
	CHECK(same_as(m.id, sizeof m.id, j, "id"));
	CHECK(same_as(m.thread_id, sizeof m.thread_id, j, "threadId"));
	CHECK(same_as(m.history_id, sizeof m.history_id, j, "historyId"));
	CHECK(labels_of(m.labels, j));
	CHECK(m.raw.secret && m.raw.len <= n / 4 * 3);
	CHECK(m.raw.data == NULL || m.raw.data[m.raw.len] == '\0');
	/* Canonical base64url only: the bytes encode back to the text. */
	CHECK((raw = hv_json_get_str(j, "raw")) != NULL);
	for (bare = strlen(raw); bare > 0 && raw[bare - 1] == '='; bare--)
		;
	CHECK(hv_b64url_encode(&again, m.raw.data, m.raw.len) == 0);
	CHECK(again.len == bare && (bare == 0 || memcmp(again.data, raw, bare) == 0));
	hv_buf_release(&again);
	hv_json_free(j);
	hv_gmail_message_release(&m);
}

/* The first label of a labels.list answer called name, or NULL: free it. */
static struct hv_json *
first_label(const struct hv_json *j, const char *name)
{
	struct hv_json *list = hv_json_get(j, "labels"), *l = NULL;
	const char *s;
	size_t i;

	for (i = 0; list != NULL && i < hv_json_array_len(list); i++) {
		l = hv_json_array_get(list, i);
		if ((s = hv_json_get_str(l, "name")) != NULL && strcasecmp(s, name) == 0)
			break;
		hv_json_free(l);
		l = NULL;
	}
	hv_json_free(list);
	return l;
}

/* A label gmail_labels_each hands on: a usable id, a name, counted. */
static int
each_label(const char *id, const char *name, void *arg)
{
	CHECK(gmail_label_id_ok(id, strlen(id)) && name != NULL);
	(*(size_t *)arg)++;
	return 0;
}

/* Every label, or HV_EPROTO saying why: never more than the list holds. */
static void
check_each(const struct hv_json *j)
{
	struct hv_json *list = hv_json_get(j, "labels");
	struct hv_err e = { 0 };
	size_t seen = 0, n = list ? hv_json_array_len(list) : 0;
	int r = gmail_labels_each(j, each_label, &seen, &e);

	CHECK(r == 0 || r == HV_EPROTO);
	CHECK(r == 0 ? seen == n : seen < n && e.code == r && one_line(e.msg));
	hv_json_free(list);
}

static void
check_label(const char *name, const char *body, size_t n)
{
	char *id = malloc(HV_GMAIL_ID_SIZE);
	struct hv_err e = { 0 };
	struct hv_json *j = NULL, *want;
	int r;

	CHECK(id != NULL);
	memset(id, 'x', HV_GMAIL_ID_SIZE);
	r = gmail_label_in(body, n, name, id, &e);
	CHECK(r == 0 || r == HV_ENOINPUT || r == HV_EPROTO);
	if (hv_json_parse(body, n, &j, NULL) == 0)
		check_each(j);
	hv_json_free(j);
	j = NULL;
	CHECK(memchr(id, '\0', HV_GMAIL_ID_SIZE) != NULL);
	CHECK(r == 0 || id[0] == '\0');
	if (r == HV_EPROTO) {
		CHECK(e.code == r && one_line(e.msg));
	} else {
		CHECK(hv_json_parse(body, n, &j, NULL) == 0);
		want = first_label(j, name);
		CHECK((r == 0) == (want != NULL));
		if (r == 0)
			CHECK(same_as(id, HV_GMAIL_ID_SIZE, want, "id") &&
			    gmail_label_id_ok(id, strlen(id)));
		hv_json_free(want);
		hv_json_free(j);
	}
	free(id);
}

static void
check_id(const char *body, size_t n, int plain)
{
	char *id = malloc(HV_GMAIL_ID_SIZE);
	struct hv_json *j = NULL;
	int r;

	CHECK(id != NULL);
	memset(id, 'x', HV_GMAIL_ID_SIZE);
	r = gmail_id_of(body, n, plain, id);
	CHECK(r == 0 || r == HV_EPROTO);
	CHECK(memchr(id, '\0', HV_GMAIL_ID_SIZE) != NULL);
	if (r < 0) {
		CHECK(id[0] == '\0');
	} else {
		CHECK(hv_json_parse(body, n, &j, NULL) == 0);
		CHECK(hv_json_get_str(j, "id") != NULL);
		CHECK(same_as(id, HV_GMAIL_ID_SIZE, j, "id"));
		CHECK(plain ? gmail_plain_id(id, strlen(id)) : gmail_label_id_ok(id, strlen(id)));
		hv_json_free(j);
	}
	free(id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1, *nl;
	size_t n = size - 1;
	long status;
	char *text, *name;
	int kind, json;

	if (size < 1)
		return 0;
	kind = data[0] & 7;
	status = statuses[data[0] >> 3 & 31];
	text = text_of(body, n);
	if (kind == 3 && (nl = memchr(body, '\n', n)) != NULL) {
		name = text_of(body, (size_t)(nl - body));
		n -= (size_t)(nl - body) + 1;
		body = nl + 1;
	} else {
		name = text_of("hv-team", 7);
	}
	if (!(json = is_json(body, n)))
		__lsan_disable();
	if (kind == 0 || kind == 7)
		check_error(status, body, n);
	if (kind == 1 || kind == 7)
		check_retry(text);
	if (kind == 2 || kind == 7)
		check_message(body, n);
	if (kind == 3 || kind == 6 || kind == 7)
		check_label(name, body, n);
	if (kind == 4 || kind == 7) {
		check_id(body, n, 0);
		check_id(body, n, 1);
	}
	if (kind == 5) {
		free(text);
		text = malloc(n + 13);
		CHECK(text != NULL);
		memcpy(text, "Retry after ", 12);
		memcpy(text + 12, body, n);
		text[n + 12] = '\0';
		check_retry(text);
	}
	if (!json)
		__lsan_enable();
	free(text);
	free(name);
	return 0;
}
