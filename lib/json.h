/*
 * json: JSON parsed and built with libjq's jv, behind a small opaque type.
 *
 * The only module that includes <jv.h>.  A struct hv_json owns one jv
 * value; the getters return borrowed pointers that stay valid while the
 * value lives.  Output is always one line (JSON Lines).
 */
#ifndef HV_JSON_H
#define HV_JSON_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct hv_json;

/* A new empty object. */
struct hv_json *hv_json_object(void);

/*
 * Parse exactly one JSON value from text (len bytes).  HV_EDATA with jq's
 * reason for anything else (including trailing data and NUL bytes).
 */
int hv_json_parse(const char *text, size_t len, struct hv_json **out, struct hv_err *e);

/* Set a member of an object (replacing one of the same name). */
void hv_json_set_str(struct hv_json *o, const char *key, const char *value);
void hv_json_set_strn(struct hv_json *o, const char *key, const char *value, size_t n);
void hv_json_set_int(struct hv_json *o, const char *key, long long value);
void hv_json_set_bool(struct hv_json *o, const char *key, int value);

/* Set a member to a copy of v (v stays the caller's). */
void hv_json_set(struct hv_json *o, const char *key, const struct hv_json *v);

/* The string member key, or NULL when absent or not a string (borrowed). */
const char *hv_json_get_str(const struct hv_json *o, const char *key);

/*
 * As hv_json_get_str, with the string's length in bytes in *len: JSON
 * strings may hold NUL ("\u0000"), which a C string would cut short, so
 * a caller that must not guess compares *len with strlen().
 */
const char *hv_json_get_strn(const struct hv_json *o, const char *key, size_t *len);

/* The integer member key: 0, or HV_EDATA when absent, not a number, or not
 * an integer in range. */
int hv_json_get_int(const struct hv_json *o, const char *key, long long *out);

/* The member key as a new value the caller frees, or NULL when absent. */
struct hv_json *hv_json_get(const struct hv_json *o, const char *key);

/* Array length (0 for a non-array) and element i as a new value, or NULL. */
size_t hv_json_array_len(const struct hv_json *a);
struct hv_json *hv_json_array_get(const struct hv_json *a, size_t i);

/* The string itself when v is a string, else NULL (borrowed). */
const char *hv_json_str(const struct hv_json *v);

/* As hv_json_str, with its length in bytes (see hv_json_get_strn). */
const char *hv_json_strn(const struct hv_json *v, size_t *len);

/* A new empty array, and a string appended to one. */
struct hv_json *hv_json_array(void);
void hv_json_append_str(struct hv_json *a, const char *s);

/* Append the compact one-line text of v (no newline) to b. */
int hv_json_dump(const struct hv_json *v, struct hv_buf *b);

void hv_json_free(struct hv_json *v);

#endif
