/* json: parse, get, build, dump, and what is refused. */
#include <string.h>

#include "json.h"
#include "tap.h"

/* Strings with their lengths: a "\u0000" shows as a length past strlen. */
static void
test_lengths(struct hv_buf *b)
{
	static const char text[] = "{\"a\":\"x\\u0000y\",\"b\":\"\",\"c\":7,\"d\":[\"e\\u00e9\"]}";
	struct hv_json *j, *d, *e, *a;
	const char *s;
	size_t n = 99;

	if (hv_json_parse(text, sizeof text - 1, &j, NULL) < 0) {
		ok(0, "parse for lengths");
		return;
	}
	s = hv_json_get_strn(j, "a", &n);
	ok(s != NULL && n == 3 && strlen(s) == 1 && memcmp(s, "x\0y", 3) == 0,
	    "a NUL inside a string: 3 bytes, strlen 1");
	s = hv_json_get_strn(j, "b", &n);
	ok(s != NULL && n == 0, "an empty string: 0 bytes");
	n = 99;
	ok(hv_json_get_strn(j, "c", &n) == NULL && n == 0, "a number: NULL, 0");
	n = 99;
	ok(hv_json_get_strn(j, "z", &n) == NULL && n == 0, "absent: NULL, 0");
	d = hv_json_get(j, "d");
	e = hv_json_array_get(d, 0);
	s = hv_json_strn(e, &n);
	ok(s != NULL && n == 3 && strcmp(s, "e\xc3\xa9") == 0, "an element's bytes");
	n = 99;
	ok(hv_json_strn(d, &n) == NULL && n == 0, "an array is no string");
	hv_json_free(e);
	hv_json_free(d);
	hv_json_free(j);
	a = hv_json_array();
	hv_json_append_str(a, "x\"y");
	hv_json_append_str(a, "");
	j = hv_json_object();
	hv_json_set(j, "k", a);
	hv_buf_reset(b);
	hv_json_dump(j, b);
	is_str(b->data, "{\"k\":[\"x\\\"y\",\"\"]}", "an array built, escaped by jv");
	hv_json_free(a);
	hv_json_free(j);
}

int
main(void)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "[1,]", "{\"a\":1} x", "nul", "\"\\x\"", "{'a':1}",
	};
	struct hv_json *j, *k;
	struct hv_buf b = HV_BUF_INIT(4096);
	struct hv_err e = { 0 };
	long long n;
	size_t i;
	const char *text = "{\"id\":\"18c2\",\"n\":42,\"f\":1.5,\"big\":1e300,\"s\":\"\\u00e9t\\u00e9\"}";

	is_int(hv_json_parse(text, strlen(text), &j, &e), 0, "parse an object");
	is_str(hv_json_get_str(j, "id"), "18c2", "string member");
	is_str(hv_json_get_str(j, "s"), "\xc3\xa9t\xc3\xa9", "escapes decode to UTF-8");
	ok(hv_json_get_str(j, "n") == NULL, "a number is not a string");
	ok(hv_json_get_str(j, "none") == NULL, "absent member");
	ok(hv_json_get_int(j, "n", &n) == 0 && n == 42, "integer member");
	is_int(hv_json_get_int(j, "f", &n), HV_EDATA, "a fraction is not an integer");
	is_int(hv_json_get_int(j, "big", &n), HV_EDATA, "out of range is not an integer");
	is_int(hv_json_get_int(j, "id", &n), HV_EDATA, "a string is not an integer");
	hv_json_free(j);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(hv_json_parse(bad[i], strlen(bad[i]), &j, &e), HV_EDATA,
		    "bad JSON %zu refused", i);
	ok(strncmp(e.msg, "bad JSON", 8) == 0, "the reason is given");
	is_int(hv_json_parse("{\"access_token\":\"ya29.SECRET\",}", 31, &j, &e), HV_EDATA,
	    "a bad token answer");
	ok(strstr(e.msg, "SECRET") == NULL && strchr(e.msg, '\n') == NULL,
	    "its message is one line and holds none of the input: %s", e.msg);
	is_int(hv_json_parse("{\"a\":\"\0\"}", 8, &j, &e), HV_EDATA, "a NUL byte is refused");

	is_int(hv_json_parse("[1,2]", 5, &k, &e), 0, "an array parses");
	ok(hv_json_get_str(k, "a") == NULL, "members of a non-object are absent");
	hv_json_free(k);

	j = hv_json_object();
	hv_json_set_str(j, "subject", "a \"quoted\"\nline");
	hv_json_set_int(j, "size", 10240);
	hv_json_set_bool(j, "ok", 1);
	hv_json_set_strn(j, "id", "abcdef", 3);
	hv_json_set_int(j, "size", 7);
	hv_json_dump(j, &b);
	is_str(b.data, "{\"subject\":\"a \\\"quoted\\\"\\nline\",\"size\":7,\"ok\":true,\"id\":\"abc\"}",
	    "built object dumps on one line, escaped, set replaces");
	hv_json_free(j);
	hv_json_free(NULL);
	test_lengths(&b);
	hv_buf_release(&b);
	return tap_done();
}
