#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <jv.h>

#include "json_jq.h"
#include "mem.h"
#include "banned.h"

struct hv_jq {
	jq_state *jq;
	struct hv_buf errors;	/* compile-time complaints */
};

static void
collect_error(void *data, jv msg)
{
	struct hv_buf *b = data;

	if (b->len == 0 && jv_get_kind(msg) == JV_KIND_STRING)
		(void)hv_buf_adds(b, jv_string_value(msg));
	jv_free(msg);
}

int
hv_jq_compile(struct hv_jq **out, const char *program, struct hv_err *e)
{
	struct hv_jq *q = hv_xcalloc(1, sizeof *q);
	char *nl;

	*out = NULL;
	hv_buf_init(&q->errors, 1024);
	if ((q->jq = jq_init()) == NULL) {
		hv_jq_free(q);
		return hv_err_set(e, HV_EINTERNAL, "cannot start jq");
	}
	jq_set_error_cb(q->jq, collect_error, &q->errors);
	if (!jq_compile(q->jq, program)) {
		if (q->errors.len > 0 && (nl = strchr(q->errors.data, '\n')) != NULL)
			*nl = '\0';
		hv_err_set(e, HV_EUSAGE, "bad jq filter: %s",
		    q->errors.len ? q->errors.data : "does not compile");
		hv_jq_free(q);
		return HV_EUSAGE;
	}
	*out = q;
	return 0;
}

static int
parse(const char *text, size_t len, jv *v, struct hv_err *e)
{
	jv msg;
	int r;

	if (len > INT32_MAX)
		return hv_err_set(e, HV_EDATA, "JSON text too large");
	if (memchr(text, '\0', len) != NULL)
		return hv_err_set(e, HV_EDATA, "JSON text contains a NUL byte");
	*v = jv_parse_sized(text, (int)len);
	if (jv_is_valid(*v))
		return 0;
	msg = jv_invalid_get_msg(*v);
	if (jv_get_kind(msg) == JV_KIND_STRING)
		r = hv_err_set(e, HV_EDATA, "bad JSON: %s", jv_string_value(msg));
	else
		r = hv_err_set(e, HV_EDATA, "bad JSON");
	jv_free(msg);
	return r;
}

/* jq's runtime error as its CLI words it. */
static int
run_error(jv v, struct hv_err *e)
{
	jv msg = jv_invalid_get_msg(v);
	int r;

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		r = hv_err_set(e, HV_EDATA, "jq: error: %s", jv_string_value(msg));
	} else {
		msg = jv_dump_string(msg, 0);
		r = hv_err_set(e, HV_EDATA, "jq: error (not a string): %s",
		    jv_string_value(msg));
	}
	jv_free(msg);
	return r;
}

enum collect { C_DUMP, C_STRINGS };

static int
run(struct hv_jq *q, jv in, enum collect how, struct hv_buf *out, size_t *count,
    struct hv_err *e)
{
	jv v, s;
	jv_kind k;
	int r = 0;

	jq_start(q->jq, in, 0);
	while (jv_is_valid(v = jq_next(q->jq))) {
		k = jv_get_kind(v);
		if (how == C_STRINGS) {
			if (k == JV_KIND_STRING) {
				r = hv_buf_add(out, jv_string_value(v),
				    (size_t)jv_string_length_bytes(jv_copy(v)) + 1);
				(*count)++;
			}
			jv_free(v);
		} else {
			if (k != JV_KIND_FALSE && k != JV_KIND_NULL)
				(*count)++;
			if (out != NULL) {
				s = jv_dump_string(v, 0);
				if ((r = hv_buf_add(out, jv_string_value(s),
				    (size_t)jv_string_length_bytes(jv_copy(s)))) == 0)
					r = hv_buf_add(out, "\n", 1);
				jv_free(s);
			} else {
				jv_free(v);
			}
		}
		if (r < 0)
			return hv_err_set(e, r, "jq output larger than %zu bytes", out->max);
	}
	if (jv_invalid_has_msg(jv_copy(v)))
		return run_error(v, e);
	jv_free(v);
	return 0;
}

int
hv_jq_run(struct hv_jq *q, const char *text, size_t len,
    const char *const *set, struct hv_buf *out, size_t *ntruthy,
    struct hv_err *e)
{
	size_t n = 0;
	jv in;
	int r;

	if (ntruthy != NULL)
		*ntruthy = 0;
	if ((r = parse(text, len, &in, e)) < 0)
		return r;
	for (; set != NULL && set[0] != NULL && jv_get_kind(in) == JV_KIND_OBJECT; set += 2)
		in = jv_object_set(in, jv_string(set[0]), jv_string(set[1]));
	r = run(q, in, C_DUMP, out, &n, e);
	if (ntruthy != NULL)
		*ntruthy = n;
	return r;
}

int
hv_jq_strings(struct hv_jq *q, const char *text, size_t len,
    struct hv_buf *out, size_t *n, struct hv_err *e)
{
	jv in;
	int r;

	*n = 0;
	if ((r = parse(text, len, &in, e)) < 0)
		return r;
	return run(q, in, C_STRINGS, out, n, e);
}

void
hv_jq_free(struct hv_jq *q)
{
	if (q == NULL)
		return;
	if (q->jq != NULL)
		jq_teardown(&q->jq);
	hv_buf_release(&q->errors);
	free(q);
}

int
hv_jq_quote(struct hv_buf *out, const char *text, size_t len)
{
	jv s;
	int r;

	if (len > INT32_MAX)
		return HV_EDATA;
	s = jv_dump_string(jv_string_sized(text, (int)len), 0);
	r = hv_buf_add(out, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	return r;
}
