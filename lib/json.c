#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "json.h"
#include "mem.h"
#include "banned.h"

struct hv_json {
	jv v;
};

static struct hv_json *
wrap(jv v)
{
	struct hv_json *j = hv_xmalloc(sizeof *j);

	j->v = v;
	return j;
}

struct hv_json *
hv_json_object(void)
{
	return wrap(jv_object());
}

int
hv_json_parse(const char *text, size_t len, struct hv_json **out, struct hv_err *e)
{
	jv v;

	*out = NULL;
	if (len > INT32_MAX)
		return hv_err_set(e, HV_EDATA, "JSON text too large");
	if (memchr(text, '\0', len) != NULL)
		return hv_err_set(e, HV_EDATA, "JSON text contains a NUL byte");
	v = jv_parse_sized(text, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);
		int r;

		/* jq 1.6 appends the whole input, which may hold a secret. */
		if (jv_get_kind(msg) == JV_KIND_STRING)
			r = hv_err_set(e, HV_EDATA, "bad JSON: %.*s",
			    (int)strcspn(jv_string_value(msg), "\n("), jv_string_value(msg));
		else
			r = hv_err_set(e, HV_EDATA, "bad JSON");
		jv_free(msg);
		return r;
	}
	*out = wrap(v);
	return 0;
}

static void
set(struct hv_json *o, const char *key, jv value)
{
	o->v = jv_object_set(o->v, jv_string(key), value);
}

void
hv_json_set_str(struct hv_json *o, const char *key, const char *value)
{
	set(o, key, jv_string(value));
}

void
hv_json_set_strn(struct hv_json *o, const char *key, const char *value, size_t n)
{
	set(o, key, jv_string_sized(value, (int)n));
}

void
hv_json_set_int(struct hv_json *o, const char *key, long long value)
{
	set(o, key, jv_number((double)value));
}

void
hv_json_set_bool(struct hv_json *o, const char *key, int value)
{
	set(o, key, value ? jv_true() : jv_false());
}

void
hv_json_set(struct hv_json *o, const char *key, const struct hv_json *v)
{
	set(o, key, jv_copy(v->v));
}

/* The member as a new reference, or invalid when o is not an object. */
static jv
member(const struct hv_json *o, const char *key)
{
	if (jv_get_kind(o->v) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(o->v), jv_string(key));
}

const char *
hv_json_get_str(const struct hv_json *o, const char *key)
{
	jv m = member(o, key);
	const char *s = NULL;

	/* The object keeps its own reference, so the text outlives m. */
	if (jv_get_kind(m) == JV_KIND_STRING)
		s = jv_string_value(m);
	jv_free(m);
	return s;
}

const char *
hv_json_get_strn(const struct hv_json *o, const char *key, size_t *len)
{
	jv m = member(o, key);
	const char *s = NULL;

	*len = 0;
	if (jv_get_kind(m) == JV_KIND_STRING) {
		s = jv_string_value(m);
		*len = (size_t)jv_string_length_bytes(jv_copy(m));
	}
	jv_free(m);
	return s;
}

int
hv_json_get_int(const struct hv_json *o, const char *key, long long *out)
{
	jv m = member(o, key);
	double d;
	int r = HV_EDATA;

	if (jv_get_kind(m) == JV_KIND_NUMBER) {
		d = jv_number_value(m);
		if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0) {
			*out = (long long)d;
			r = 0;
		}
	}
	jv_free(m);
	return r;
}

struct hv_json *
hv_json_get(const struct hv_json *o, const char *key)
{
	jv m = member(o, key);

	if (!jv_is_valid(m) || jv_get_kind(m) == JV_KIND_NULL) {
		jv_free(m);
		return NULL;
	}
	return wrap(m);
}

size_t
hv_json_array_len(const struct hv_json *a)
{
	if (jv_get_kind(a->v) != JV_KIND_ARRAY)
		return 0;
	return (size_t)jv_array_length(jv_copy(a->v));
}

struct hv_json *
hv_json_array_get(const struct hv_json *a, size_t i)
{
	if (i >= hv_json_array_len(a))
		return NULL;
	return wrap(jv_array_get(jv_copy(a->v), (int)i));
}

const char *
hv_json_str(const struct hv_json *v)
{
	return jv_get_kind(v->v) == JV_KIND_STRING ? jv_string_value(v->v) : NULL;
}

const char *
hv_json_strn(const struct hv_json *v, size_t *len)
{
	*len = 0;
	if (jv_get_kind(v->v) != JV_KIND_STRING)
		return NULL;
	*len = (size_t)jv_string_length_bytes(jv_copy(v->v));
	return jv_string_value(v->v);
}

struct hv_json *
hv_json_array(void)
{
	return wrap(jv_array());
}

void
hv_json_append_str(struct hv_json *a, const char *s)
{
	a->v = jv_array_append(a->v, jv_string(s));
}

int
hv_json_dump(const struct hv_json *v, struct hv_buf *b)
{
	jv s = jv_dump_string(jv_copy(v->v), 0);
	int r = hv_buf_add(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));

	jv_free(s);
	return r;
}

void
hv_json_free(struct hv_json *v)
{
	if (v == NULL)
		return;
	jv_free(v->v);
	free(v);
}
