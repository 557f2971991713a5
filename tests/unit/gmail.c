/*
 * gmail: Google's answers as lib/gmail*.c read them, without a network.
 * Error bodies as Google sends them (as reported against Google's client
 * libraries, GYB and GAM) to reason, message and whether to wait; the
 * lockout's "Retry after" prose; messages.get format=raw answers;
 * labels.list answers; and the ids of labels.create and upload answers.
 * Each bad answer is refused with the code gmail_int.h names.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "clock.h"
#include "gmail.h"
#include "gmail_int.h"
#include "json.h"
#include "tap.h"

#define NOW 1700000000.0	/* 2023-11-14T22:13:20Z */

/* The message of a quota error, as Google words it. */
#define QUOTA_MSG "Quota exceeded for quota metric 'Queries' and limit 'Queries per " \
    "minute per user' of service 'gmail.googleapis.com' for consumer " \
    "'project_number:123456789012'."

/* Error answers: status, body, the reason and message read, rate limited. */
static const struct {
	long status;
	const char *body, *reason, *msg;
	int limited;
} errors[] = {
	/* The concurrency limit. */
	{ 429, "{\"error\":{\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
	    "\"rateLimitExceeded\",\"message\":\"Too many concurrent requests for user\"}],"
	    "\"code\":429,\"message\":\"Too many concurrent requests for user\","
	    "\"status\":\"RESOURCE_EXHAUSTED\"}}", "rateLimitExceeded",
	    "Too many concurrent requests for user", 1 },
	{ 429, "{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":"
	    "\"rateLimitExceeded\",\"message\":\"Too many concurrent requests for user\"}],"
	    "\"code\":429,\"message\":\"Too many concurrent requests for user\"}}",
	    "rateLimitExceeded", "Too many concurrent requests for user", 1 },
	/* The project's quota, newer style, as a 403 and as a 429. */
	{ 403, "{\"error\":{\"code\":403,\"message\":\"" QUOTA_MSG "\",\"errors\":[{\"message\":"
	    "\"" QUOTA_MSG "\",\"domain\":\"usageLimits\",\"reason\":\"rateLimitExceeded\"}],"
	    "\"status\":\"PERMISSION_DENIED\"}}", "rateLimitExceeded", QUOTA_MSG, 1 },
	{ 429, "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
	    "quota).\",\"errors\":[{\"message\":\"Resource has been exhausted (e.g. check "
	    "quota).\",\"domain\":\"global\",\"reason\":\"rateLimitExceeded\"}],\"status\":"
	    "\"RESOURCE_EXHAUSTED\"}}", "rateLimitExceeded",
	    "Resource has been exhausted (e.g. check quota).", 1 },
	/* The classic per-user limits. */
	{ 403, "{\"error\":{\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
	    "\"userRateLimitExceeded\",\"message\":\"User Rate Limit Exceeded\"}],\"code\":403,"
	    "\"message\":\"User Rate Limit Exceeded\"}}", "userRateLimitExceeded",
	    "User Rate Limit Exceeded", 1 },
	{ 403, "{\"error\":{\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
	    "\"rateLimitExceeded\",\"message\":\"Rate Limit Exceeded\"}],\"code\":403,"
	    "\"message\":\"Rate Limit Exceeded\"}}", "rateLimitExceeded", "Rate Limit Exceeded",
	    1 },
	{ 403, "{\"error\":{\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
	    "\"dailyLimitExceeded\",\"message\":\"Daily Limit Exceeded\"}],\"code\":403,"
	    "\"message\":\"Daily Limit Exceeded\"}}", "dailyLimitExceeded", "Daily Limit Exceeded",
	    0 },
	/* The timed lockout. */
	{ 403, "{\"error\":{\"errors\":[{\"domain\":\"usageLimits\",\"reason\":"
	    "\"userRateLimitExceeded\",\"message\":\"User-rate limit exceeded.  Retry after "
	    "2023-11-14T22:14:50.688Z\"}],\"code\":403,\"message\":\"User-rate limit exceeded.  "
	    "Retry after 2023-11-14T22:14:50.688Z\"}}", "userRateLimitExceeded",
	    "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50.688Z", 1 },
	/* Refusals. */
	{ 401, "{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"authError\","
	    "\"message\":\"Invalid Credentials\",\"locationType\":\"header\",\"location\":"
	    "\"Authorization\"}],\"code\":401,\"message\":\"Invalid Credentials\"}}", "authError",
	    "Invalid Credentials", 0 },
	{ 403, "{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"domainPolicy\","
	    "\"message\":\"Domain policy has disabled third-party Drive apps\"}],\"code\":403,"
	    "\"message\":\"Domain policy has disabled third-party Drive apps\"}}", "domainPolicy",
	    "Domain policy has disabled third-party Drive apps", 0 },
	{ 404, "{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"notFound\","
	    "\"message\":\"Requested entity was not found.\"}],\"code\":404,\"message\":"
	    "\"Requested entity was not found.\",\"status\":\"NOT_FOUND\"}}", "notFound",
	    "Requested entity was not found.", 0 },
	{ 400, "{\"error\":{\"code\":400,\"errors\":[{\"domain\":\"global\",\"location\":\"id\","
	    "\"locationType\":\"parameter\",\"message\":\"Invalid id value\",\"reason\":"
	    "\"invalidArgument\"}],\"message\":\"Invalid id value\"}}", "invalidArgument",
	    "Invalid id value", 0 },
	{ 500, "{\"error\":{\"errors\":[{\"domain\":\"global\",\"reason\":\"backendError\","
	    "\"message\":\"Backend Error\"}],\"code\":500,\"message\":\"Backend Error\"}}",
	    "backendError", "Backend Error", 0 },
	/* Answers that are not Google's error body. */
	{ 502, "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 "
	    "(Server Error)!!1</title>\n  <p><b>502.</b> <ins>That\xe2\x80\x99s an error.</ins>\n"
	    "  <p>The server encountered a temporary error and could not complete your request."
	    "<p>Please try again in 30 seconds.  <ins>That\xe2\x80\x99s all we know.</ins>\n",
	    "", "", 0 },
	{ 429, "", "", "", 1 },
	{ 429, "Too Many Requests", "", "", 1 },
	{ 403, "{\"error\":\"rateLimitExceeded\"}", "", "", 0 },
	{ 403, "{\"error\":{\"message\":\"Rate Limit Exceeded\"}}", "", "Rate Limit Exceeded", 0 },
	{ 403, "{\"error\":{\"message\":7,\"errors\":[]}}", "", "", 0 },
	{ 403, "{\"error\":{\"errors\":{\"reason\":\"rateLimitExceeded\"}}}", "", "", 0 },
	{ 403, "{\"error\":{\"errors\":[\"rateLimitExceeded\"]}}", "", "", 0 },
	{ 403, "{\"error\":{\"errors\":[{\"reason\":\"RateLimitExceeded\"}]}}",
	    "RateLimitExceeded", "", 0 },
	{ 403, "{\"error\":{\"errors\":[{\"reason\":\"notFound\"},{\"reason\":"
	    "\"rateLimitExceeded\"}]}}", "notFound", "", 0 },
	{ 403, "[{\"error\":{\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}]", "", "", 0 },
	{ 403, "{\"error\":{\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}} trailing", "", "",
	    0 },
	{ 500, "{\"error\":{\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}",
	    "rateLimitExceeded", "", 0 },
};

static void
test_errors(void)
{
	/* The sizes on_answer reads into. */
	char reason[128], msg[512];
	size_t i;

	for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		memset(reason, 'x', sizeof reason);
		memset(msg, 'x', sizeof msg);
		gmail_error_of(errors[i].body, strlen(errors[i].body), reason, sizeof reason, msg,
		    sizeof msg);
		is_str(reason, errors[i].reason, "error %zu (HTTP %ld): reason", i,
		    errors[i].status);
		is_str(msg, errors[i].msg, "error %zu: message", i);
		is_int(gmail_rate_limited(errors[i].status, reason), errors[i].limited,
		    "error %zu: %s", i, errors[i].limited ? "a rate limit" : "not a rate limit");
	}
	gmail_error_of(NULL, 0, reason, sizeof reason, msg, sizeof msg);
	ok(reason[0] == '\0' && msg[0] == '\0', "an empty answer (no body at all)");
}

/* Text longer than the buffers is cut to fit them, never past them. */
static void
test_error_cut(void)
{
	char body[4096], reason[128], msg[512];
	size_t n;

	n = (size_t)snprintf(body, sizeof body, "{\"error\":{\"message\":\"%0600d\",\"errors\":"
	    "[{\"reason\":\"%0200d\"}]}}", 7, 8);
	gmail_error_of(body, n, reason, sizeof reason, msg, sizeof msg);
	is_int(strlen(msg), sizeof msg - 1, "a long message is cut to its buffer");
	is_int(strlen(reason), sizeof reason - 1, "a long reason is cut to its buffer");
	ok(msg[0] == '0' && msg[510] == '0' && reason[126] == '0', "keeping its start");
	gmail_error_of(body, n, reason, 1, msg, 1);
	ok(reason[0] == '\0' && msg[0] == '\0', "buffers of one byte get the empty string");
}

/* Lockout prose: the message, now, the wait. */
static const struct {
	const char *msg;
	double now;
	long wait;
} retries[] = {
	/* 90 s ahead: 90, and one for the fraction dropped. */
	{ "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50Z", NOW, 91 },
	{ "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50.688Z", NOW, 91 },
	{ "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50.000000001Z", NOW, 91 },
	{ "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50.Z", NOW, 91 },
	{ "User-rate limit exceeded.  Retry after 2023-11-14T22:14:50Z", NOW + 0.25, 90 },
	{ "rateLimitExceeded: User-rate limit exceeded.  Retry after 2023-11-14T22:14:50.688Z",
	    NOW, 91 },
	{ "Retry after 2023-11-14T22:14:50Z", NOW, 91 },
	{ "Retry after 2023-11-14T22:14:50Z and then some", NOW, 91 },
	{ "Retry after 2023-11-14T22:14:50Z\tthen", NOW, 91 },
	{ "'Retry after 2023-11-14T22:14:50Z'", NOW, 91 },
	/* Hours ahead (the caller caps the wait, not this). */
	{ "Retry after 2023-11-15T01:13:20Z", NOW, 3 * 3600 + 1 },
	{ "Retry after 2023-11-16T22:13:20.5Z", NOW, 2 * 86400 + 1 },
	/* Now, or past. */
	{ "Retry after 2023-11-14T22:13:20Z", NOW, 0 },
	{ "Retry after 2023-11-14T22:13:19.999Z", NOW, 0 },
	{ "Retry after 2023-03-07T18:18:23.688Z", NOW, 0 },
	{ "Retry after 1970-01-01T00:00:00Z", NOW, 0 },
	{ "Retry after 2023-11-14", NOW, 0 },
	/* No time named. */
	{ "User Rate Limit Exceeded", NOW, -1 },
	{ "", NOW, -1 },
	{ "Retry after ", NOW, -1 },
	{ "Retry after soon", NOW, -1 },
	{ "Retry after 30s", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:50", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:50+00:00", NOW, -1 },
	{ "Retry after 2023-11-14 22:14:50Z", NOW, 0 },	/* the date alone, ended by the space */
	{ "Retry after 2023-11-14T22:14:50Z.", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:50ZZ", NOW, -1 },
	{ "Retry after 2023-13-14T22:14:50Z", NOW, -1 },
	{ "Retry after 2023-11-14T24:14:50Z", NOW, -1 },
	{ "Retry after 2023-11-14T22:60:50Z", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:61Z", NOW, -1 },
	{ "Retry after 2023-11-00T22:14:50Z", NOW, -1 },
	{ "Retry after -023-11-14T22:14:50Z", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:5", NOW, -1 },
	{ "Retry after  2023-11-14T22:14:50Z", NOW, -1 },
	{ "retry after 2023-11-14T22:14:50Z", NOW, -1 },
	{ "Retry After 2023-11-14T22:14:50Z", NOW, -1 },
	{ "Retry after\t2023-11-14T22:14:50Z", NOW, -1 },
	/* The first "Retry after " is the one read. */
	{ "Retry after later.  Retry after 2023-11-14T22:14:50Z", NOW, -1 },
	{ "Retry after 2023-11-14T22:14:50Z, or Retry after 2023-11-14T23:13:20Z", NOW, -1 },
};

static void
test_retry_after(void)
{
	char when[28], msg[64];
	size_t i;
	long w;

	for (i = 0; i < sizeof retries / sizeof retries[0]; i++)
		is_int(gmail_retry_after(retries[i].msg, retries[i].now), retries[i].wait,
		    "retry after: '%s'", retries[i].msg);

	/* On the real clock, as on_answer calls it. */
	hv_audit_format_time(when, (time_t)(hv_now() + 90), 0);
	snprintf(msg, sizeof msg, "Retry after %s", when);
	w = gmail_retry_after(msg, (double)hv_now_us() / 1e6);
	ok(w >= 89 && w <= 91, "a time 90 s ahead on the clock: %ld", w);
	hv_audit_format_time(when, (time_t)(hv_now() - 90), 0);
	snprintf(msg, sizeof msg, "Retry after %s", when);
	is_int(gmail_retry_after(msg, (double)hv_now_us() / 1e6), 0,
	    "a time 90 s past on the clock");
}

/* Ids of 255 bytes (the most hv takes) and of 256. */
#define ID16 "0123456789abcdef"
#define ID255 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 ID16 \
    "0123456789abcde"
#define ID256 ID255 "f"

/* Good messages.get answers: body, then what m holds. */
static const struct {
	const char *body;
	const char *id, *thread, *history, *labels;
	long long date;
	const char *raw;
	size_t rawlen;
} messages[] = {
	{ "{\"id\":\"18c2a1b2c3d4e5f6\",\"threadId\":\"18c2a1b2c3d4e5f0\",\"labelIds\":"
	    "[\"INBOX\",\"UNREAD\"],\"snippet\":\"hi\",\"sizeEstimate\":120,\"historyId\":"
	    "\"987654\",\"internalDate\":\"1700000000000\",\"raw\":\"RnJvbTogYUBleGFtcGxlLmNvbQ0K"
	    "U3ViamVjdDogaGkNCg0KaGkNCg==\"}", "18c2a1b2c3d4e5f6", "18c2a1b2c3d4e5f0", "987654",
	    "INBOX UNREAD", 1700000000000LL,
	    "From: a@example.com\r\nSubject: hi\r\n\r\nhi\r\n", 40 },
	/* Padded and unpadded, one and two bytes over a group of three. */
	{ "{\"id\":\"a\",\"raw\":\"aGVsbG8=\"}", "a", "", "", "", 0, "hello", 5 },
	{ "{\"id\":\"a\",\"raw\":\"aGVsbG8\"}", "a", "", "", "", 0, "hello", 5 },
	{ "{\"id\":\"a\",\"raw\":\"YQ==\"}", "a", "", "", "", 0, "a", 1 },
	{ "{\"id\":\"a\",\"raw\":\"YQ\"}", "a", "", "", "", 0, "a", 1 },
	{ "{\"id\":\"a\",\"raw\":\"aGVs\"}", "a", "", "", "", 0, "hel", 3 },
	/* The URL alphabet, and bytes that are not text. */
	{ "{\"id\":\"a\",\"raw\":\"-_8A\"}", "a", "", "", "", 0, "\xfb\xff\x00", 3 },
	/* Labels: absent, empty, many; ids of any shape (Google: "opaque"). */
	{ "{\"id\":\"a\",\"labelIds\":[],\"raw\":\"aGk\"}", "a", "", "", "", 0, "hi", 2 },
	{ "{\"id\":\"a\",\"labelIds\":[\"INBOX\",\"UNREAD\",\"IMPORTANT\",\"CATEGORY_PERSONAL\","
	    "\"Label_1\",\"Label_22\",\"Label_333\"],\"raw\":\"aGk\"}", "a", "", "",
	    "INBOX UNREAD IMPORTANT CATEGORY_PERSONAL Label_1 Label_22 Label_333", 0, "hi", 2 },
	{ "{\"id\":\"a\",\"labelIds\":[\"k3x9q\",\"Zq-4_u\",\"\\u00e9t\u00e9\",\"a\\\"b\"],"
	    "\"raw\":\"aGk\"}", "a", "", "", "k3x9q Zq-4_u \xc3\xa9t\xc3\xa9 a\"b", 0, "hi", 2 },
	{ "{\"id\":\"a\",\"labelIds\":\"INBOX\",\"raw\":\"aGk\"}", "a", "", "", "", 0, "hi", 2 },
	{ "{\"raw\":\"aGk\",\"internalDate\":\"-5\"}", "", "", "", "", -5, "hi", 2 },
	{ "{\"raw\":\"aGk\",\"internalDate\":1700000000000}", "", "", "", "", 0, "hi", 2 },
};

/* messages.get answers refused, each with HV_EPROTO. */
static const char *const bad_messages[] = {
	/* raw missing, not a string, or not base64url. */
	"{\"id\":\"a\",\"threadId\":\"a\",\"historyId\":\"1\"}",
	"{\"id\":\"a\",\"raw\":null}",
	"{\"id\":\"a\",\"raw\":42}",
	"{\"id\":\"a\",\"raw\":[\"aGk\"]}",
	"{\"id\":\"a\",\"raw\":\"+/8A\"}",		/* base64, not base64url */
	"{\"id\":\"a\",\"raw\":\"aGVs\\nbG8=\"}",
	"{\"id\":\"a\",\"raw\":\"aGVs bG8=\"}",
	"{\"id\":\"a\",\"raw\":\"aGVsb\"}",		/* a length base64 never has */
	"{\"id\":\"a\",\"raw\":\"aGl\"}",		/* bits left over */
	"{\"id\":\"a\",\"raw\":\"aG=k\"}",
	"{\"id\":\"a\",\"raw\":\"\\u00e9\"}",
	/* Label ids hv would have to cut or guess at. */
	"{\"id\":\"a\",\"labelIds\":[7,\"INBOX\",null,{\"id\":\"X\"}],\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"labelIds\":[\"INBOX\",\"\"],\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"labelIds\":[\"Label_1\\u0000INBOX\"],\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"labelIds\":[\"Label 1\"],\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"labelIds\":[\"Label_1\\n\"],\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"labelIds\":[\"" ID256 "\"],\"raw\":\"aGk\"}",
	/* Ids that do not fit, or hold a NUL. */
	"{\"id\":\"" ID256 "\",\"raw\":\"aGk\"}",
	"{\"id\":\"a\\u0000b\",\"raw\":\"aGk\"}",
	"{\"id\":\"a\",\"threadId\":\"" ID256 "\",\"raw\":\"aGk\"}",
	/* Not JSON, or not one value. */
	"",
	"<html><body>Service Unavailable</body></html>",
	"{\"id\":\"a\",\"raw\":\"aGk\"",
	"{\"id\":\"a\",\"raw\":\"aGk\"} {}",
	"[{\"id\":\"a\",\"raw\":\"aGk\"}]",
	"\"aGk\"",
};

/* A message with 500 labels of 24 bytes: every one kept, none cut. */
static void
test_many_labels(void)
{
	struct hv_gmail_message m;
	struct hv_buf body = HV_BUF_INIT(1 << 20), want = HV_BUF_INIT(1 << 20);
	struct hv_err e = { 0 };
	int i, r;

	hv_buf_adds(&body, "{\"id\":\"a\",\"raw\":\"aGk\",\"labelIds\":[");
	for (i = 0; i < 500; i++) {
		hv_buf_addf(&body, "%s\"opaque-label-id-%07d\"", i ? "," : "", i);
		hv_buf_addf(&want, "%sopaque-label-id-%07d", i ? " " : "", i);
	}
	hv_buf_adds(&body, "]}");
	hv_gmail_message_init(&m);
	r = gmail_message_of("a@example.com", "a", body.data, body.len, &m, &e);
	is_int(r, 0, "500 labels: taken");
	ok(r == 0 && strcmp(m.labels, want.data) == 0, "500 labels: all %zu bytes kept", want.len);
	hv_gmail_message_release(&m);
	hv_buf_release(&body);
	hv_buf_release(&want);
}

static void
test_messages(void)
{
	struct hv_gmail_message m;
	struct hv_err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof messages / sizeof messages[0]; i++) {
		memset(&e, 0, sizeof e);
		hv_gmail_message_init(&m);
		r = gmail_message_of("a@example.com", "18c2", messages[i].body,
		    strlen(messages[i].body), &m, &e);
		is_int(r, 0, "messages.get answer %zu: taken", i);
		if (r == 0) {
			is_str(m.id, messages[i].id, "messages.get answer %zu: id", i);
			is_str(m.thread_id, messages[i].thread, "messages.get answer %zu: threadId", i);
			is_str(m.history_id, messages[i].history, "messages.get answer %zu: historyId",
			    i);
			is_str(m.labels, messages[i].labels, "messages.get answer %zu: labels", i);
			is_int(m.internal_date, messages[i].date, "messages.get answer %zu: date", i);
			ok(m.raw.len == messages[i].rawlen && (m.raw.len == 0 ||
			    memcmp(m.raw.data, messages[i].raw, m.raw.len) == 0),
			    "messages.get answer %zu: raw decoded", i);
		}
		hv_gmail_message_release(&m);
	}
	for (i = 0; i < sizeof bad_messages / sizeof bad_messages[0]; i++) {
		memset(&e, 0, sizeof e);
		hv_gmail_message_init(&m);
		r = gmail_message_of("a@example.com", "18c2", bad_messages[i],
		    strlen(bad_messages[i]), &m, &e);
		is_int(r, HV_EPROTO, "bad messages.get answer %zu: refused", i);
		ok(e.code == r && strstr(e.msg, "a@example.com messages.get") != NULL,
		    "bad messages.get answer %zu: says which call: %s", i, e.msg);
		hv_gmail_message_release(&m);
	}
	memset(&e, 0, sizeof e);
	hv_gmail_message_init(&m);
	is_int(gmail_message_of("a@example.com", "18c2", NULL, 0, &m, &e), HV_EPROTO,
	    "no answer at all");
	hv_gmail_message_release(&m);
	memset(&e, 0, sizeof e);
	hv_gmail_message_init(&m);
	r = gmail_message_of("a@example.com", "18c2", "{\"id\":\"18c2\"}", 13, &m, &e);
	ok(strstr(e.msg, "no usable raw") != NULL, "a missing raw is named: %s", e.msg);
	ok(m.raw.secret, "raw is held as a secret");
	hv_gmail_message_release(&m);
	test_many_labels();
}

/* A labels.list answer: INBOX, then x. */
#define LABELS(x) \
    "{\"labels\":[{\"id\":\"INBOX\",\"name\":\"INBOX\",\"type\":\"system\"}" x "]}"

/* labels.list answers: body, the name asked for, code, the id found. */
static const struct {
	const char *body, *name;
	int code;
	const char *id;
} labels[] = {
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"hv-team\",\"messageListVisibility\":\"show\","
	    "\"labelListVisibility\":\"labelShow\",\"type\":\"user\"}"), "hv-team", 0, "Label_7" },
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"HV-Team\"}"), "hv-team", 0, "Label_7" },
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"hv-team\"}"), "HV-TEAM", 0, "Label_7" },
	{ LABELS(""), "inbox", 0, "INBOX" },
	/* The first of two that match wins. */
	{ LABELS(",{\"id\":\"Label_1\",\"name\":\"hv-team\"},{\"id\":\"Label_2\",\"name\":"
	    "\"HV-TEAM\"}"), "Hv-Team", 0, "Label_1" },
	/* Names with odd bytes match only themselves. */
	{ LABELS(",{\"id\":\"Label_3\",\"name\":\"hv team/\\u00e9quipe \\u2709\"}"),
	    "HV TEAM/\xc3\xa9quipe \xe2\x9c\x89", 0, "Label_3" },
	{ LABELS(",{\"id\":\"Label_4\",\"name\":\"a\\\"b\\\\c\\td\"}"), "A\"B\\C\tD", 0, "Label_4" },
	{ LABELS(",{\"id\":\"Label_5\",\"name\":\"parent/child\"}"), "parent/child", 0, "Label_5" },
	{ LABELS(",{\"id\":\"Label_5\",\"name\":\"parent/child\"}"), "parent", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_5\",\"name\":\"parent/child\"}"), "child", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"hv-team \"}"), "hv-team", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\" hv-team\"}"), "hv-team", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"hv-team\"}"), "hv-team ", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"hv_team\"}"), "hv-team", HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"\\u00e9quipe\"}"), "equipe", HV_ENOINPUT, NULL },
	/* jq reads the stray byte as U+FFFD. */
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"hv-t\xff" "eam\"}"), "hv-t\xff" "eam",
	    HV_ENOINPUT, NULL },
	{ LABELS(",{\"id\":\"Label_6\",\"name\":\"\"}"), "hv-team", HV_ENOINPUT, NULL },
	/* Absent, or labels that are not a list of labels. */
	{ LABELS(""), "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":[]}", "hv-team", HV_ENOINPUT, NULL },
	{ "{}", "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":null}", "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":{\"id\":\"Label_7\",\"name\":\"hv-team\"}}", "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":\"hv-team\"}", "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":[\"hv-team\",7,null,[]]}", "hv-team", HV_ENOINPUT, NULL },
	{ "{\"labels\":[{\"id\":\"Label_7\",\"name\":7}]}", "7", HV_ENOINPUT, NULL },
	{ "[{\"id\":\"Label_7\",\"name\":\"hv-team\"}]", "hv-team", HV_ENOINPUT, NULL },
	/* Opaque ids, as Google documents them: any shape is taken. */
	{ LABELS(",{\"id\":\"k3x9q2\",\"name\":\"hv-team\"}"), "hv-team", 0, "k3x9q2" },
	{ LABELS(",{\"id\":\"Zz_q-7\",\"name\":\"hv-team\"}"), "hv-team", 0, "Zz_q-7" },
	{ LABELS(",{\"id\":\"" ID255 "\",\"name\":\"hv-team\"}"), "hv-team", 0, ID255 },
	/* The label asked for with an id hv cannot take: refused, not cut. */
	{ LABELS(",{\"id\":\"\",\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	{ LABELS(",{\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	{ LABELS(",{\"id\":7,\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	{ LABELS(",{\"id\":\"" ID256 "\",\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	{ LABELS(",{\"id\":\"Label_7\\u0000\",\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO,
	    NULL },
	{ LABELS(",{\"id\":\"Label 7\",\"name\":\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	/* A NUL in a name would let "hv-team\0x" pass for hv-team. */
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"hv-team\\u0000x\"}"), "hv-team", HV_EPROTO,
	    NULL },
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"\\u0000\"},{\"id\":\"Label_8\",\"name\":"
	    "\"hv-team\"}"), "hv-team", HV_EPROTO, NULL },
	/* An unusable id of another label is not the one asked for. */
	{ LABELS(",{\"id\":\"\",\"name\":\"other\"},{\"id\":\"Label_8\",\"name\":\"hv-team\"}"),
	    "hv-team", 0, "Label_8" },
	/* Not JSON. */
	{ "", "hv-team", HV_EPROTO, NULL },
	{ "<html>a captive portal</html>", "hv-team", HV_EPROTO, NULL },
	{ "{\"labels\":[{\"id\":\"Label_7\",\"name\":\"hv-team\"}]", "hv-team", HV_EPROTO, NULL },
	{ "{\"labels\":[]} []", "hv-team", HV_EPROTO, NULL },
};

static void
test_labels(void)
{
	struct hv_err e;
	char id[HV_GMAIL_ID_SIZE];
	size_t i;
	int r;

	for (i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		memset(&e, 0, sizeof e);
		memset(id, 'x', sizeof id);
		r = gmail_label_in(labels[i].body, strlen(labels[i].body), labels[i].name, id, &e);
		is_int(r, labels[i].code, "labels.list answer %zu, '%s': code", i, labels[i].name);
		is_str(id, r == 0 ? labels[i].id : "", "labels.list answer %zu: id", i);
		if (r == HV_EPROTO)
			ok(e.code == r && e.msg[0] != '\0', "labels.list answer %zu: says why: %s", i,
			    e.msg);
	}
}

/* The answers of labels.create and uploads: body, plain, code, the id. */
static const struct {
	const char *body;
	int plain, code;
	const char *id;
} ids[] = {
	{ "{\"id\":\"Label_7\",\"name\":\"hv-team\",\"messageListVisibility\":\"show\","
	    "\"labelListVisibility\":\"labelShow\"}", 0, 0, "Label_7" },
	{ "{\"id\":\"18c2a1b2c3d4e5f6\",\"threadId\":\"18c2a1b2c3d4e5f6\",\"labelIds\":"
	    "[\"Label_7\"]}", 1, 0, "18c2a1b2c3d4e5f6" },
	{ "{\"id\":\"a-b_C9\"}", 1, 0, "a-b_C9" },
	/* A label's id is opaque; a message's must be plain. */
	{ "{\"id\":\"k3x9q2\"}", 0, 0, "k3x9q2" },
	{ "{\"id\":\"a.b:c\\u00e9\"}", 0, 0, "a.b:c\xc3\xa9" },
	{ "{\"id\":\"a.b\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"" ID255 "\"}", 0, 0, ID255 },
	{ "{\"id\":\"" ID255 "\"}", 1, 0, ID255 },
	/* Refused, never cut: empty, too long, a NUL, a space or control byte. */
	{ "{\"id\":\"\"}", 0, HV_EPROTO, NULL },
	{ "{\"id\":\"" ID256 "\"}", 0, HV_EPROTO, NULL },
	{ "{\"id\":\"" ID256 "\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"Label_7\\u0000x\"}", 0, HV_EPROTO, NULL },
	{ "{\"id\":\"18c2\\u0000x\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"Label 7\"}", 0, HV_EPROTO, NULL },
	{ "{\"id\":\"Label_7\\t\"}", 0, HV_EPROTO, NULL },
	{ "{\"id\":\"18c2 18c3\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"18c2\\\",\\\"x\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"18c2/..\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"\\u00e9\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"\"}", 1, HV_EPROTO, NULL },
	/* No id. */
	{ "{\"threadId\":\"18c2\"}", 0, HV_EPROTO, NULL },
	{ "{\"threadId\":\"18c2\"}", 1, HV_EPROTO, NULL },
	{ "{\"id\":18}", 0, HV_EPROTO, NULL },
	{ "{\"id\":null}", 1, HV_EPROTO, NULL },
	{ "{\"id\":[\"18c2\"]}", 1, HV_EPROTO, NULL },
	{ "[{\"id\":\"18c2\"}]", 1, HV_EPROTO, NULL },
	{ "\"18c2\"", 0, HV_EPROTO, NULL },
	/* Not JSON. */
	{ "", 0, HV_EPROTO, NULL },
	{ "", 1, HV_EPROTO, NULL },
	{ "18c2", 1, HV_EPROTO, NULL },
	{ "{\"id\":\"18c2\"", 1, HV_EPROTO, NULL },
	{ "<html>Bad Gateway</html>", 0, HV_EPROTO, NULL },
};

static void
test_ids(void)
{
	char id[HV_GMAIL_ID_SIZE];
	size_t i;
	int r;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		memset(id, 'x', sizeof id);
		r = gmail_id_of(ids[i].body, strlen(ids[i].body), ids[i].plain, id);
		is_int(r, ids[i].code, "%s answer %zu: code", ids[i].plain ? "upload" :
		    "labels.create", i);
		is_str(id, r == 0 ? ids[i].id : "", "%s answer %zu: id", ids[i].plain ? "upload" :
		    "labels.create", i);
	}
	is_int(gmail_id_of(NULL, 0, 1, id), HV_EPROTO, "no answer at all");
}

/* Whole labels.list answers: body, code, and "id=name;" of each label
 * handed on (those before a bad one are). */
static const struct {
	const char *body;
	int code;
	const char *seen;
} lists[] = {
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"hv-team\"}"), 0, "INBOX=INBOX;Label_7=hv-team;" },
	{ LABELS(",{\"id\":\"k3x9q2\",\"name\":\"a/b\"},{\"id\":\"" ID255 "\",\"name\":\"c\"}"), 0,
	    "INBOX=INBOX;k3x9q2=a/b;" ID255 "=c;" },
	{ "{\"labels\":[]}", 0, "" },
	{ "{}", 0, "" },
	{ "{\"labels\":{\"id\":\"x\",\"name\":\"y\"}}", 0, "" },
	{ LABELS(",{\"id\":\"\",\"name\":\"hv-team\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ LABELS(",{\"name\":\"hv-team\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ LABELS(",{\"id\":\"" ID256 "\",\"name\":\"hv-team\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ LABELS(",{\"id\":\"a\\u0000b\",\"name\":\"hv-team\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ LABELS(",{\"id\":\"Label_7\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ LABELS(",{\"id\":\"Label_7\",\"name\":\"hv\\u0000team\"}"), HV_EPROTO, "INBOX=INBOX;" },
	{ "{\"labels\":[7]}", HV_EPROTO, "" },
};

static int
seen_label(const char *id, const char *name, void *arg)
{
	return hv_buf_addf(arg, "%s=%s;", id, name);
}

static void
test_label_lists(void)
{
	struct hv_buf seen = HV_BUF_INIT(1 << 20);
	struct hv_json *j;
	struct hv_err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		memset(&e, 0, sizeof e);
		hv_buf_reset(&seen);
		hv_buf_adds(&seen, "");
		if (hv_json_parse(lists[i].body, strlen(lists[i].body), &j, NULL) < 0) {
			ok(0, "labels.list %zu parses", i);
			continue;
		}
		r = gmail_labels_each(j, seen_label, &seen, &e);
		is_int(r, lists[i].code, "labels.list %zu: code", i);
		is_str(seen.data, lists[i].seen, "labels.list %zu: labels handed on", i);
		if (r < 0)
			ok(e.code == r && e.msg[0] != '\0', "labels.list %zu: says why: %s", i, e.msg);
		hv_json_free(j);
	}
	hv_buf_release(&seen);
}

/* Label id lists into request bodies: JSON made by jv, bad ids refused. */
static const struct {
	const char *list, *json;
	int code;
} arrays[] = {
	{ "", "{\"k\":[]}", 0 },
	{ "  ", "{\"k\":[]}", 0 },
	{ "INBOX UNREAD", "{\"k\":[\"INBOX\",\"UNREAD\"]}", 0 },
	{ " k3x9q  Zz_q-7 ", "{\"k\":[\"k3x9q\",\"Zz_q-7\"]}", 0 },
	{ "a\"b c\\d", "{\"k\":[\"a\\\"b\",\"c\\\\d\"]}", 0 },
	{ ID255, "{\"k\":[\"" ID255 "\"]}", 0 },
	{ ID256, NULL, HV_EINTERNAL },
	{ "INBOX\tx", NULL, HV_EINTERNAL },
};

static void
test_id_arrays(void)
{
	struct hv_buf b = HV_BUF_INIT(1 << 20);
	struct hv_json *o;
	size_t i;
	int r;

	for (i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
		o = hv_json_object();
		hv_buf_reset(&b);
		r = gmail_id_array(o, "k", arrays[i].list);
		is_int(r, arrays[i].code, "id list %zu: code", i);
		if (r == 0) {
			hv_json_dump(o, &b);
			is_str(b.data, arrays[i].json, "id list %zu: JSON", i);
		}
		hv_json_free(o);
	}
	o = hv_json_object();
	is_int(gmail_id_array(o, "k", NULL), 0, "no list at all");
	hv_json_free(o);
	hv_buf_release(&b);
	ok(gmail_label_id_ok("x", 1) && !gmail_label_id_ok("", 0) &&
	    !gmail_label_id_ok("a\0b", 3) && !gmail_label_id_ok(ID256, 256) &&
	    gmail_label_id_ok(ID255, 255), "label ids: 1 to 255 bytes, no NUL");
}

/* Location of a resumable session: only on [google] api's origin. */
static const struct {
	const char *api, *loc;
	int code;
} sessions[] = {
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com/upload/gmail/v1/users/me/"
	    "messages/import?uploadType=resumable&upload_id=ADPycd123", 0 },
	{ "https://127.0.0.1:8443", "https://127.0.0.1:8443/upload/x?upload_id=1", 0 },
	{ "https://127.0.0.1:8443/", "https://127.0.0.1:8443/upload/x?upload_id=1", 0 },
	{ "https://127.0.0.1:8443", "https://127.0.0.1:8444/upload/x", HV_EPROTO },
	{ "https://127.0.0.1:8443", "https://127.0.0.1:84430/upload/x", HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com.evil.example/upload",
	    HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com@evil.example/upload",
	    HV_EPROTO },
	{ "https://gmail.googleapis.com", "http://gmail.googleapis.com/upload", HV_EPROTO },
	{ "https://gmail.googleapis.com", "/upload/gmail/v1/users/me/messages", HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com", HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com/a b", HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com/a\r\nX: y", HV_EPROTO },
	{ "https://gmail.googleapis.com", "https://gmail.googleapis.com/\xc3\xa9", HV_EPROTO },
	{ "https://gmail.googleapis.com", "", HV_EPROTO },
	{ "gmail.googleapis.com", "gmail.googleapis.com/upload", HV_EPROTO },
};

/* Range of a 308, against a message of 1000 bytes. */
static const struct {
	const char *v;
	int code;
	size_t got;
} ranges[] = {
	{ "bytes=0-0", 0, 1 },
	{ "bytes=0-523", 0, 524 },
	{ "bytes=0-998", 0, 999 },
	{ "bytes=0-999", 0, 1000 },	/* all of it: the caller asks again */
	{ "bytes=0-1000", HV_EPROTO, 0 },
	{ "bytes=0-", HV_EPROTO, 0 },
	{ "bytes=1-5", HV_EPROTO, 0 },
	{ "bytes=0-5-7", HV_EPROTO, 0 },
	{ "bytes=0--5", HV_EPROTO, 0 },
	{ "bytes=0-+5", HV_EPROTO, 0 },
	{ "bytes=0- 5", HV_EPROTO, 0 },
	{ "bytes 0-5", HV_EPROTO, 0 },
	{ "Bytes=0-5", HV_EPROTO, 0 },
	{ "bytes=0-18446744073709551616", HV_EPROTO, 0 },
	{ "bytes=0-99999999999999999999999999", HV_EPROTO, 0 },
	{ "", HV_EPROTO, 0 },
};

/* Session keys cut out of error messages. */
static const struct {
	const char *in, *out;
} redacted[] = {
	{ "PUT https://h/upload/x?uploadType=resumable&upload_id=ADPycdSECRET: Timeout",
	  "PUT https://h/upload/x?uploadType=resumable&upload_id=...: Timeout" },
	{ "a upload_id=K1xyz&b upload_id=K2xyz (c)", "a upload_id=...&b upload_id=... (c)" },
	{ "upload_id=", "upload_id=" },
	{ "upload_id=ab", "upload_id=ab" },
	{ "upload_id=abcd", "upload_id=..." },
	{ "no key here", "no key here" },
	{ "", "" },
};

static void
test_resumable(void)
{
	struct hv_buf out = HV_BUF_INIT(4096);
	size_t i, got;
	int r;

	for (i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
		r = gmail_session_url(sessions[i].api, sessions[i].loc, strlen(sessions[i].loc),
		    &out);
		is_int(r, sessions[i].code, "session Location %zu", i);
		is_str(out.data ? out.data : "", r == 0 ? sessions[i].loc : "",
		    "session Location %zu: the URL kept", i);
	}
	is_int(gmail_session_url("https://a.example", "https://a.example/x\0y", 20, &out),
	    HV_EPROTO, "a NUL in Location");
	for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		got = 77;
		r = gmail_range_got(ranges[i].v, strlen(ranges[i].v), 1000, &got);
		is_int(r, ranges[i].code, "Range '%s'", ranges[i].v);
		ok(got == ranges[i].got, "Range '%s': %zu bytes acknowledged", ranges[i].v, got);
	}
	for (i = 0; i < sizeof redacted / sizeof redacted[0]; i++) {
		char msg[HV_ERR_MSG];

		snprintf(msg, sizeof msg, "%s", redacted[i].in);
		gmail_redact(msg);
		is_str(msg, redacted[i].out, "redacted %zu", i);
	}
	is_int(gmail_range_got("bytes=0-5", 9, 0, &got), HV_EPROTO, "Range of an empty upload");
	is_int(gmail_range_got("bytes=0-59", 9, 7, &got), 0, "Range read only to its length");
	hv_buf_release(&out);
}

/* A raw larger than the message may hold is bad data, not a bad answer. */
static void
test_message_too_large(void)
{
	static const char body[] = "{\"id\":\"a1\",\"raw\":\"aGVsbG8gd29ybGQ\"}";
	struct hv_gmail_message m;
	struct hv_err e = { 0 };

	hv_gmail_message_init(&m);
	m.raw.max = 8;
	is_int(gmail_message_of("x@example.com", "a1", body, strlen(body), &m, &e), HV_EDATA,
	    "a raw larger than the message may hold: HV_EDATA");
	is_str(e.msg, "x@example.com: message a1 is larger than Gmail takes (52428800 bytes)",
	    "and says so");
	m.raw.max = 64;
	is_int(gmail_message_of("x@example.com", "a1", body, strlen(body), &m, &e), 0,
	    "a raw that fits");
	hv_gmail_message_release(&m);
}

int
main(void)
{
	test_resumable();
	test_message_too_large();
	test_errors();
	test_error_cut();
	test_retry_after();
	test_messages();
	test_labels();
	test_ids();
	test_id_arrays();
	test_label_lists();
	return tap_done();
}
