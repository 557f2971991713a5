#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"

void
hv_buf_init(struct hv_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->secret = 0;
}

void
hv_buf_init_secret(struct hv_buf *b, size_t max)
{
	hv_buf_init(b, max);
	b->secret = 1;
}

int
hv_buf_grow(struct hv_buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return HV_EDATA;
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if (b->secret) {
		/* realloc could leave a copy of the secret behind. */
		p = hv_xmalloc(cap);
		if (b->data) {
			memcpy(p, b->data, b->len + 1);
			hv_wipe(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = hv_xrealloc(b->data, cap);
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int
hv_buf_add(struct hv_buf *b, const void *p, size_t n)
{
	if (hv_buf_grow(b, n) < 0)
		return HV_EDATA;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
hv_buf_adds(struct hv_buf *b, const char *s)
{
	return hv_buf_add(b, s, strlen(s));
}

int
hv_buf_addf(struct hv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || hv_buf_grow(b, (size_t)n) < 0)
		return HV_EDATA;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
hv_buf_reset(struct hv_buf *b)
{
	if (b->data == NULL)
		return;
	if (b->secret)
		hv_wipe(b->data, b->len);
	b->len = 0;
	b->data[0] = '\0';
}

void
hv_buf_release(struct hv_buf *b)
{
	if (b->data != NULL && b->secret)
		hv_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
hv_buf_detach(struct hv_buf *b, size_t *len)
{
	char *p = b->data;

	if (p == NULL) {
		p = hv_xmalloc(1);
		p[0] = '\0';
	}
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
