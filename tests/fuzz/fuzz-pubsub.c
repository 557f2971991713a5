/*
 * fuzz-pubsub: what hv-fetch --follow reads from Pub/Sub: a notification's
 * data (hv_pubsub_note_parse: base64 from whoever can publish to the
 * topic, then JSON), a pull answer (hv_pubsub_pull_parse, each message's
 * data parsed in turn as the follow loop does) and a users.watch answer
 * (hv_pubsub_watch_parse).
 *
 * The first byte chooses (low two bits): 0 a notification's data, 1 a
 * pull answer, 2 a watch answer, 3 all three on the same input.
 *
 * Invariants: each parser answers with one of the codes its header
 * names, with a one-line message on failure; a notification kept is an
 * address with an '@' and no more than HV_PUBSUB_EMAIL_MAX bytes and a
 * history id of 1 to 20 digits, and a failure keeps nothing; each ack id
 * handed on is non-empty, bounded and NUL-free; an expiration kept is
 * positive.  libjq 1.6 leaks on some bad JSON (see fuzz-json.c): input
 * that is not JSON runs with leak detection off.
 */
#include <string.h>

#include "err.h"
#include "pubsub.h"
#include "fuzz.h"
#include "banned.h"

static void
note(const char *data, size_t n)
{
	struct hv_pubsub_note nt;
	struct hv_err e = { 0 };
	size_t i;
	int rc;

	__lsan_disable();
	rc = hv_pubsub_note_parse(data, n, &nt, &e);
	__lsan_enable();
	CHECK(rc == 0 || rc == HV_EDATA);
	if (rc < 0) {
		CHECK(one_line(e.msg));
		CHECK(nt.email[0] == '\0' && nt.history_id[0] == '\0');
		return;
	}
	CHECK(strchr(nt.email, '@') != NULL && strlen(nt.email) <= HV_PUBSUB_EMAIL_MAX);
	CHECK(nt.history_id[0] != '\0' && strlen(nt.history_id) <= HV_PUBSUB_HISTORY_MAX);
	for (i = 0; nt.history_id[i] != '\0'; i++)
		CHECK(nt.history_id[i] >= '0' && nt.history_id[i] <= '9');
}

static int
each(const char *ack, const char *data, size_t len, void *arg)
{
	(void)arg;
	CHECK(ack[0] != '\0' && strlen(ack) <= HV_PUBSUB_ACKID_MAX);
	CHECK(strlen(data) == len);
	note(data, len);
	return 0;
}

static void
pull(const char *text, size_t n)
{
	struct hv_err e = { 0 };
	int rc, json = is_json(text, n);

	if (!json)
		__lsan_disable();
	rc = hv_pubsub_pull_parse(text, n, each, NULL, &e);
	if (!json)
		__lsan_enable();
	CHECK(rc == 0 || rc == HV_EPROTO);
	CHECK(rc == 0 || one_line(e.msg));
}

static void
watch(const char *text, size_t n)
{
	struct hv_err e = { 0 };
	long long exp;
	int rc, json = is_json(text, n);

	if (!json)
		__lsan_disable();
	rc = hv_pubsub_watch_parse(text, n, &exp, &e);
	if (!json)
		__lsan_enable();
	CHECK(rc == 0 || rc == HV_EPROTO);
	CHECK(rc == 0 ? exp > 0 : exp == 0 && one_line(e.msg));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] & 3) {
	case 0: note(text, n); break;
	case 1: pull(text, n); break;
	case 2: watch(text, n); break;
	default: note(text, n); pull(text, n); watch(text, n); break;
	}
	return 0;
}
