/* pubsub: Gmail's notifications and Pub/Sub's answers, good and bad;
 * the shapes of topic and subscription names. */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "pubsub.h"
#include "tap.h"

/* base64 of {"emailAddress":"support@example.com","historyId":9876543210} */
#define GOOD "eyJlbWFpbEFkZHJlc3MiOiJzdXBwb3J0QGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjo5ODc2NTQzMjEwfQ=="

static const struct { const char *data; int ok; const char *email, *history; } notes[] = {
	{ GOOD, 1, "support@example.com", "9876543210" },
	/* The same without its padding. */
	{ "eyJlbWFpbEFkZHJlc3MiOiJzdXBwb3J0QGV4YW1wbGUuY29tIiwiaGlzdG9yeUlkIjo5ODc2NTQzMjEwfQ", 1,
	  "support@example.com", "9876543210" },
	/* {"emailAddress":"a@b.c","historyId":"12"}: a string of digits */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6IjEyIn0=", 1, "a@b.c", "12" },
	/* {"emailAddress":"a@b.c","historyId":"1x"} */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6IjF4In0=", 0, NULL, NULL },
	/* {"emailAddress":"a@b.c","historyId":-5} */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6LTV9", 0, NULL, NULL },
	/* {"emailAddress":"a@b.c","historyId":1.5} */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6MS41fQ==", 0, NULL, NULL },
	/* {"emailAddress":"a@b.c"} */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyJ9", 0, NULL, NULL },
	/* {"historyId":1} */
	{ "eyJoaXN0b3J5SWQiOjF9", 0, NULL, NULL },
	/* {"emailAddress":"nobody","historyId":1}: no '@' */
	{ "eyJlbWFpbEFkZHJlc3MiOiJub2JvZHkiLCJoaXN0b3J5SWQiOjF9", 0, NULL, NULL },
	/* {"emailAddress":"a\u0000@b.c","historyId":1}: a NUL inside */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhXHUwMDAwQGIuYyIsImhpc3RvcnlJZCI6MX0=", 0, NULL, NULL },
	/* [1,2]: JSON, not an object */
	{ "WzEsMl0=", 0, NULL, NULL },
	/* "not json" */
	{ "bm90IGpzb24=", 0, NULL, NULL },
	{ "", 0, NULL, NULL },
	{ "!!!!", 0, NULL, NULL },
	{ "eyJ=", 0, NULL, NULL },		/* padding where it cannot be */
	{ "e", 0, NULL, NULL },			/* a length base64 never has */
	{ "eyJ9=x==", 0, NULL, NULL },		/* padding inside */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMn0=", 0,
	  NULL, NULL },				/* 22 digits: past 2^53 and 20 digits */
	{ "eyJlbWFpbEFkZHJlc3MiOiJhQGIuYyIsImhpc3RvcnlJZCI6IjEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIifQ==",
	  0, NULL, NULL },			/* 22 digits as a string */
	{ "YQ=b", 0, NULL, NULL },		/* data after the padding */
	{ "YR==", 0, NULL, NULL },		/* non-zero trailing bits */
};

static int
count(const char *ack, const char *data, size_t len, void *arg)
{
	struct hv_buf *b = arg;

	hv_buf_addf(b, "[%s|%.*s]", ack, (int)len, data);
	return 0;
}

static void
pulls(void)
{
	static const struct { const char *body; int rc; const char *seen; } p[] = {
		{ "{}", 0, "" },
		{ "{\"receivedMessages\":[]}", 0, "" },
		{ "{\"receivedMessages\":[{\"ackId\":\"A1\",\"message\":{\"data\":\"eA==\","
		  "\"messageId\":\"1\",\"publishTime\":\"2026-12-02T10:00:00Z\"}},"
		  "{\"ackId\":\"A2\",\"message\":{\"messageId\":\"2\"}}]}", 0, "[A1|eA==][A2|]" },
		{ "{\"receivedMessages\":[{\"message\":{\"data\":\"eA==\"}}]}", HV_EPROTO, "" },
		{ "{\"receivedMessages\":[{\"ackId\":\"\"}]}", HV_EPROTO, "" },
		{ "{\"receivedMessages\":[{\"ackId\":7}]}", HV_EPROTO, "" },
		{ "{\"receivedMessages\":[{\"ackId\":\"a\\u0000b\"}]}", HV_EPROTO, "" },
		{ "not json", HV_EPROTO, "" },
		{ "{\"receivedMessages\":[{\"ackId\":\"A\"}]} x", HV_EPROTO, "" },
	};
	struct hv_buf seen = HV_BUF_INIT(4096);
	struct hv_err e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof p / sizeof p[0]; i++) {
		hv_buf_reset(&seen);
		memset(&e, 0, sizeof e);
		rc = hv_pubsub_pull_parse(p[i].body, strlen(p[i].body), count, &seen, &e);
		is_int(rc, p[i].rc, "pull answer %zu: status", i);
		if (rc == 0)
			is_str(seen.data ? seen.data : "", p[i].seen, "pull answer %zu: messages", i);
		else
			ok(e.msg[0] != '\0', "pull answer %zu: says why (%s)", i, e.msg);
	}
	hv_buf_release(&seen);
}

static void
names(void)
{
	static const struct { const char *name; int kind, ok; } n[] = {
		{ "projects/my-project/topics/gmail", HV_CONFIG_TOPIC, 1 },
		{ "projects/example.com:my-project/topics/gmail-push", HV_CONFIG_TOPIC, 1 },
		{ "projects/my-project/subscriptions/hv.support_1", HV_CONFIG_SUBSCRIPTION, 1 },
		{ "projects/my-project/subscriptions/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/gmail", HV_CONFIG_SUBSCRIPTION, 0 },
		{ "projects/My-Project/topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/short/topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/1project/topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project-/topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/go", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/google-x", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/1abc", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/a/b", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/a b c", HV_CONFIG_TOPIC, 0 },
		{ "my-project/topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/my-project/topics/", HV_CONFIG_TOPIC, 0 },
		{ "projects//topics/gmail", HV_CONFIG_TOPIC, 0 },
		{ "projects/:my-project/topics/gmail", HV_CONFIG_TOPIC, 0 },
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof n / sizeof n[0]; i++)
		is_int(hv_config_pubsub_name(n[i].name, n[i].kind, &why) == 0, n[i].ok,
		    "name '%s'", n[i].name);
}

static void
bodies(void)
{
	struct hv_buf b = HV_BUF_INIT(4096);
	char a1[] = "A1", a2[] = "A\"2";
	char *ids[] = { a1, a2 };
	struct hv_err e;
	long long exp;

	hv_pubsub_ack_body(&b, ids, 2);
	is_str(b.data, "{\"ackIds\":[\"A1\",\"A\\\"2\"]}", "ack body, quoted");
	hv_buf_reset(&b);
	hv_pubsub_watch_body(&b, "projects/my-project/topics/gmail");
	is_str(b.data, "{\"topicName\":\"projects/my-project/topics/gmail\"}", "watch body");
	hv_buf_reset(&b);
	hv_pubsub_pull_body(&b, 10);
	is_str(b.data, "{\"maxMessages\":10}", "pull body");
	hv_buf_release(&b);
	is_int(hv_pubsub_watch_parse("{\"historyId\":\"1\",\"expiration\":\"1765000000000\"}",
	    strlen("{\"historyId\":\"1\",\"expiration\":\"1765000000000\"}"), &exp, &e), 0, "watch answer");
	is_int(exp, 1765000000000LL, "its expiration, from a string");
	is_int(hv_pubsub_watch_parse("{\"expiration\":1765000000000}",
	    strlen("{\"expiration\":1765000000000}"), &exp, &e), 0,
	    "a number too");
	is_int(hv_pubsub_watch_parse("{\"expiration\":\"soon\"}",
	    strlen("{\"expiration\":\"soon\"}"), &exp, &e), HV_EPROTO,
	    "no number: refused");
	is_int(hv_pubsub_watch_parse("{\"historyId\":\"1\"}",
	    strlen("{\"historyId\":\"1\"}"), &exp, &e), HV_EPROTO,
	    "none: refused");
	is_int(hv_pubsub_watch_parse("{\"expiration\":\"-1\"}",
	    strlen("{\"expiration\":\"-1\"}"), &exp, &e), HV_EPROTO,
	    "negative: refused");
}

int
main(void)
{
	struct hv_pubsub_note n;
	struct hv_err e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof notes / sizeof notes[0]; i++) {
		memset(&e, 0, sizeof e);
		rc = hv_pubsub_note_parse(notes[i].data, strlen(notes[i].data), &n, &e);
		is_int(rc == 0, notes[i].ok, "notification %zu (%s)", i, rc ? e.msg : "ok");
		if (notes[i].ok) {
			is_str(n.email, notes[i].email, "notification %zu: address", i);
			is_str(n.history_id, notes[i].history, "notification %zu: history", i);
		} else {
			is_int(rc, HV_EDATA, "notification %zu: HV_EDATA", i);
			ok(n.email[0] == '\0' && n.history_id[0] == '\0',
			    "notification %zu: nothing kept", i);
		}
	}
	pulls();
	names();
	bodies();
	return tap_done();
}
