/*
 * fuzz-audit: text through the hv-audit(5) line parser and the verifier.
 *
 * The input is split into lines; each goes to hv_audit_parse and all of
 * them, in order, to a verifier with fixed keys (so MACs and signatures
 * are checked and fail).  Invariants: a refusal is HV_EDATA in one line;
 * a parsed line's fields lie inside it at their documented places; the
 * verifier accepts only what chains, and stops for good at its first
 * problem; an audit.repair line read as one names a gap that can be
 * (first_lost <= last_lost < seq, at most HV_AUDIT_REPAIR_MAX), and a
 * user name safe to print.  libjq 1.6 leaks on some bad JSON (see
 * fuzz-json.c): a repair line that is not JSON is read with leak
 * detection off.
 */
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "audit.h"
#include "err.h"
#include "fuzz.h"
#include "banned.h"

static void
check_parsed(const struct hv_audit_line *l, const char *s, size_t len)
{
	CHECK(l->time > s && l->time + 27 < s + len);
	CHECK(l->prev > s && l->prev + 64 < s + len);
	CHECK(l->mac > l->prev && l->mac + 64 + 2 == s + len);
	CHECK(l->bodylen + 74 == len);
	CHECK(!l->checkpoint || (l->sig != NULL && l->sig + 128 < l->prev));
}

static void
check_repair(const char *s, size_t len)
{
	struct hv_audit_repair_info ri;
	struct hv_audit_line l;
	struct hv_err e = { 0 };
	size_t i;
	int json, r;

	json = hv_audit_parse(&l, s, len, NULL) < 0 || !l.repair || is_json(s, len);
	if (!json)
		__lsan_disable();
	r = hv_audit_parse_repair(s, len, &ri, &e);
	if (!json)
		__lsan_enable();
	if (r < 0) {
		CHECK(e.code == HV_EDATA && one_line(e.msg));
		return;
	}
	CHECK(hv_audit_parse(&l, s, len, NULL) == 0 && l.repair);
	CHECK(ri.first_lost <= ri.last_lost && ri.last_lost < l.seq);
	CHECK(l.seq - ri.first_lost <= HV_AUDIT_REPAIR_MAX);
	CHECK(strlen(ri.time) == 27);
	for (i = 0; ri.user[i]; i++)
		CHECK(ri.user[i] > 0x20 && ri.user[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key0[32] = { 1 }, pub[32] = { 2 };
	struct hv_audit_verify *v = hv_audit_verify_new(key0, size % 2 ? pub : NULL, size % 3 == 0);
	struct hv_audit_line l;
	struct hv_err e = { 0 };
	const char *s = (const char *)data, *end = s + size, *nl;
	size_t len;
	int r, failed = 0;

	/* A first seq is ratcheted to: keep each input's work small. */
	hv_audit_verify_limit(v, 1000);
	for (; s < end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		len = (size_t)(nl - s);
		if (hv_audit_parse(&l, s, len, &e) == 0)
			check_parsed(&l, s, len);
		else
			CHECK(e.code == HV_EDATA && one_line(e.msg));
		check_repair(s, len);
		r = hv_audit_verify_line(v, s, len, &e);
		CHECK(r == 0 || r == HV_EDATA);
		CHECK(!failed || r == HV_EDATA);
		if (r < 0) {
			CHECK(one_line(e.msg));
			failed = 1;
		}
	}
	r = hv_audit_verify_end(v, &e);
	CHECK(!failed || r == HV_EDATA);
	hv_audit_verify_free(v);
	return 0;
}
