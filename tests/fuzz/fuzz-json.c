/*
 * fuzz-json: JSON text through hv_json_parse.
 *
 * Invariants: a failure is HV_EDATA in one line and no value; a success
 * dumps to one line that parses again and dumps to the same bytes, and the
 * getters the tools use on Gmail's answers do not trip on any shape.
 *
 * libjq 1.6 leaks a value when it meets two values without a separator
 * (value() in src/jv_parse.c returns its error without freeing it), so a
 * parse that fails runs with leak detection off; one that succeeds runs
 * again with it on, and what hv does with the value is checked for leaks.
 */
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "fuzz.h"
#include "banned.h"

#define DUMP_MAX (1024 * 1024)

static void
check_getters(const struct hv_json *j)
{
	static const char *const names[] = { "id", "threadId", "historyId", "raw", "" };
	long long n;
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		(void)hv_json_get_str(j, names[i]);
		(void)hv_json_get_int(j, names[i], &n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_json *j = NULL, *again = NULL;
	struct hv_buf one = HV_BUF_INIT(DUMP_MAX), two = HV_BUF_INIT(DUMP_MAX);
	struct hv_err e = { 0 };
	int r;

	__lsan_disable();
	r = hv_json_parse((const char *)data, size, &j, &e);
	__lsan_enable();
	if (r < 0) {
		CHECK(j == NULL);
		CHECK(e.code == HV_EDATA && one_line(e.msg));
		return 0;
	}
	hv_json_free(j);
	CHECK(hv_json_parse((const char *)data, size, &j, &e) == 0);
	check_getters(j);
	CHECK(hv_json_dump(j, &one) == 0);
	CHECK(one.len > 0 && memchr(one.data, '\n', one.len) == NULL);
	CHECK(hv_json_parse(one.data, one.len, &again, &e) == 0);
	CHECK(hv_json_dump(again, &two) == 0);
	CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
	hv_json_free(j);
	hv_json_free(again);
	hv_buf_release(&one);
	hv_buf_release(&two);
	return 0;
}
