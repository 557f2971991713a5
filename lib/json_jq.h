/*
 * json_jq: jq programs over JSON texts, through libjq.  Part of the JSON
 * module (the only module that includes <jv.h> and <jq.h>).
 *
 * A program is compiled once and run over any number of inputs, one JSON
 * text each.  Outputs are written as `jq -c` writes them: the compact text
 * of each value and a newline, so a caller that feeds the lines of a file
 * produces the bytes `jq -c PROGRAM FILE` would.  The program sees no
 * other inputs (`input` and `inputs` find none) and no named arguments.
 */
#ifndef HV_JSON_JQ_H
#define HV_JSON_JQ_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct hv_jq;

/* Compile program: HV_EUSAGE with jq's first complaint when it does not. */
int hv_jq_compile(struct hv_jq **out, const char *program, struct hv_err *e);

/*
 * Run q over the JSON text (len bytes), after setting the string members
 * named in set (pairs of key and value, then NULL; set may be NULL) when
 * the text is an object.  Each output is appended to out (out may be NULL
 * to count only).  *ntruthy, when not NULL, is set to the number of
 * outputs that are neither false nor null: a rule "matches" when it is
 * not 0.
 *
 * HV_EDATA when text is not one JSON value (nothing is run), or when the
 * program raises an error: e then holds jq's message and out the outputs
 * that came before it, as jq prints them before its "jq: error" line.
 */
int hv_jq_run(struct hv_jq *q, const char *text, size_t len,
    const char *const *set, struct hv_buf *out, size_t *ntruthy,
    struct hv_err *e);

/*
 * As hv_jq_run, but collects only the outputs that are strings, as C
 * strings one after another in out (each with its NUL byte), counted in
 * *n.  Other outputs are skipped.
 */
int hv_jq_strings(struct hv_jq *q, const char *text, size_t len,
    struct hv_buf *out, size_t *n, struct hv_err *e);

void hv_jq_free(struct hv_jq *q);

/*
 * Append text (len bytes) to out as a JSON string literal (quotes and
 * escapes as jq writes them), so a caller can build program text or JSON
 * with values from elsewhere.
 */
int hv_jq_quote(struct hv_buf *out, const char *text, size_t len);

#endif
