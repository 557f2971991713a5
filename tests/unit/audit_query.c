/* audit_query: time bounds, query, export with opt-outs and pseudonyms,
 * tail, and the keys a verifier is given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_optout.h"
#include "audit_query.h"
#include "config.h"
#include "crypto.h"
#include "tap.h"

static char dir[] = "/tmp/hv-audit-query.XXXXXX";

struct capture {
	char out[1 << 16];
	size_t len;
	int warned;
	char warn[512];
};

static int
cap_write(void *arg, const char *data, size_t len)
{
	struct capture *c = arg;

	if (c->len + len >= sizeof c->out)
		return HV_EIO;
	memcpy(c->out + c->len, data, len);
	c->len += len;
	c->out[c->len] = '\0';
	return 0;
}

static void
cap_warn(void *arg, const char *msg)
{
	struct capture *c = arg;

	c->warned++;
	snprintf(c->warn, sizeof c->warn, "%s", msg);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int
collect(void *arg, const char *line, size_t len, struct hv_err *e)
{
	(void)e;
	return cap_write(arg, line, len) < 0 ? HV_EIO : cap_write(arg, "\n", 1);
}

static void
test_bounds(void)
{
	char out[28];
	struct hv_err e;

	is_int(hv_audit_time_bound(NULL, 0, out, &e), 0, "no bound");
	is_str(out, "", "is empty");
	is_int(hv_audit_time_bound("2026-05-01", 0, out, &e), 0, "a date");
	is_str(out, "2026-05-01T00:00:00.000000Z", "at midnight");
	is_int(hv_audit_time_bound("2026-05-01T12:30:00Z", 0, out, &e), 0, "a time");
	is_str(out, "2026-05-01T12:30:00.000000Z", "as written");
	is_int(hv_audit_time_bound("90m", 1800000000, out, &e), 0, "a duration ago");
	is_str(out, "2027-01-15T06:30:00.000000Z", "from now");
	is_int(hv_audit_time_bound("yesterday", 0, out, &e), HV_EUSAGE, "anything else: usage");
	is_int(hv_audit_in_window("x", 1, "", ""), 1, "no window takes anything");
	is_int(hv_audit_in_window("x", 1, "2026", ""), -1, "a window: a non-line is not a line");
}

static void
test_trail(void)
{
	struct hv_config c;
	struct capture cap;
	struct hv_audit_sink sink = { cap_write, cap_warn, &cap };
	struct hv_audit_field f[] = { { "account", NULL } };
	const char *accts[] = { "a@example.com", "b@example.com", "a@example.com" };
	char text[512], *optout, path[600];
	uint8_t key[32] = { 9 }, mac[32], key0[32], pub[32];
	struct hv_buf pk = HV_BUF_INIT(256);
	unsigned long events;
	struct hv_err e;
	size_t i;
	FILE *fp;

	snprintf(text, sizeof text, "[paths]\naudit = %s/audit.log\n", dir);
	hv_config_parse(&c, "test", text, strlen(text), &e);
	for (i = 0; i < 3; i++) {
		f[0].value = accts[i];
		hv_audit_log(&c, "message.fetch", f, 1, HV_AUDIT_OK, NULL, &e);
	}

	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_query(c.paths.audit, "select(.action == \"message.fetch\") | .seq", "", "",
	    &sink, &e), 0, "query");
	is_str(cap.out, "1\n2\n3\n", "one output a line, as jq -c");
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_query(c.paths.audit, ".seq", "2100-01-01T00:00:00.000000Z", "", &sink, &e),
	    0, "a window after everything");
	is_int(cap.len, 0, "prints nothing");
	is_int(hv_audit_query(c.paths.audit, "select(", "", "", &sink, &e), HV_EUSAGE,
	    "a filter jq refuses");

	/* Export: pseudonyms, checkpoints left out, then an opt-out. */
	memset(&cap, 0, sizeof cap);
	optout = hv_audit_optout_path(&c);
	is_int(hv_audit_export(c.paths.audit, optout, key, NULL, "", "", &sink, &events, &e), 0,
	    "export");
	is_int(events, 3, "three events, no checkpoint");
	hv_hmac_sha256(mac, key, 32, "a@example.com", 13);
	snprintf(text, sizeof text, "\"user\":\"%02x%02x", mac[0], mac[1]);
	ok(strstr(cap.out, text) != NULL && strstr(cap.out, "example.com") == NULL,
	    "users are pseudonyms of their account, no address left");
	is_int(hv_audit_optout_change(&c, "b@example.com", 1, &e), 0, "b opts out");
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_export(c.paths.audit, optout, key, "{action, p: .pseudonym}", "", "",
	    &sink, &events, &e), 0, "export with a redact filter");
	is_int(events, 2, "b's event is left out");
	ok(strstr(cap.out, "\"p\":\"") != NULL, "the filter has .pseudonym");

	/* A line that is not an event: told, skipped, HV_EDATA after all. */
	fp = fopen(c.paths.audit, "a");
	fputs("not a line\n", fp);
	fclose(fp);
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_query(c.paths.audit, ".seq", "2000-01-01T00:00:00.000000Z", "", &sink, &e), HV_EDATA,
	    "a bad line in the trail");
	ok(cap.warned == 1 && strstr(cap.warn, "not an hv-audit(5) line") != NULL, "told: %s",
	    cap.warn);
	is_int(count_lines(cap.out), 5, "the others printed");

	/* Tail: the last n lines, all, or none to come. */
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_follow(c.paths.audit, 2, 0, NULL, collect, &cap, NULL, cap_warn, &e), 0,
	    "the last two lines");
	ok(count_lines(cap.out) == 2 && strcmp(cap.out + cap.len - 11, "not a line\n") == 0,
	    "are the last two");
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_follow(c.paths.audit, 0, 0, NULL, collect, &cap, NULL, cap_warn, &e), 0,
	    "all of them");
	is_int(count_lines(cap.out), 1 + 3 + 1 + 1, "init's checkpoint, 3 events, the "
	    "opt-out, the bad line");
	memset(&cap, 0, sizeof cap);
	is_int(hv_audit_follow(c.paths.audit, -1, 0, NULL, collect, &cap, NULL, cap_warn, &e), 0,
	    "only those to come");
	is_int(cap.len, 0, "none, without follow");
	is_int(hv_audit_follow("/nonexistent/log", 1, 0, NULL, collect, &cap, NULL, NULL, &e),
	    HV_ENOINPUT, "no log");
	free(optout);

	/* The keys a verifier is given. */
	snprintf(path, sizeof path, "%s.key0", c.paths.audit);
	is_int(hv_audit_key0_read(path, key0, &e), 0, "key0 from its file");
	is_int(hv_audit_key0_beside(path, c.paths.audit), 1, "is the one beside the log");
	snprintf(text, sizeof text, "%s/copy", dir);
	fp = fopen(text, "w");
	fclose(fp);
	is_int(hv_audit_key0_beside(text, c.paths.audit), 0, "a copy elsewhere is not");
	is_int(hv_audit_key0_read(text, key0, &e) < 0, 1, "an empty file is no key");
	hv_audit_pubkey(&c, &pk, &e);
	is_int(hv_audit_pubkey_read(pk.data, pub, &e), 0, "a public key as text");
	is_int(hv_audit_pubkey_read("hvsig1AAAA", pub, &e), HV_EDATA, "a bad one");
	hv_buf_release(&pk);
	hv_config_free(&c);
}

int
main(void)
{
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_bounds();
	test_trail();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
