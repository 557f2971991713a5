/*
 * buf: the growable, capped byte buffer.
 *
 * Invariants: data is NULL or points to cap bytes; len <= cap; when data is
 * not NULL, data[len] is a NUL byte (so a text buffer is a C string), which
 * is why cap counts one byte more than can be used.  A buffer never grows
 * past max bytes of content: input from the network or a file is bounded by
 * the caller's choice, and an overflow is HV_EDATA, never a silent cut.
 * A buffer marked secret is wiped whenever memory is released or moved.
 */
#ifndef HV_BUF_H
#define HV_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct hv_buf {
	char *data;		/* owned; NULL until the first growth */
	size_t len;		/* bytes of content */
	size_t cap;		/* bytes allocated */
	size_t max;		/* content cap; never 0 once initialised */
	int secret;		/* wipe on release and on growth */
};

#define HV_BUF_INIT(max) { NULL, 0, 0, (max), 0 }

/* An empty buffer that will hold at most max bytes. */
void hv_buf_init(struct hv_buf *b, size_t max);

/* As hv_buf_init, for secrets: wiped on growth and release. */
void hv_buf_init_secret(struct hv_buf *b, size_t max);

/* Make room for n more bytes: HV_EDATA past max, else 0. */
int hv_buf_grow(struct hv_buf *b, size_t n);

/* Append n bytes; HV_EDATA (nothing appended) when over max. */
int hv_buf_add(struct hv_buf *b, const void *p, size_t n);
int hv_buf_adds(struct hv_buf *b, const char *s);
int hv_buf_addf(struct hv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop the content, keep the memory (wiped first when secret). */
void hv_buf_reset(struct hv_buf *b);

/* Free the memory (wiped first when secret); the buffer is empty again. */
void hv_buf_release(struct hv_buf *b);

/* Hand the content over to the caller (who frees it) and empty b. */
char *hv_buf_detach(struct hv_buf *b, size_t *len);

#endif
