/*
 * fuzz-s3-list: ListObjectsV2 answers through hv_s3_list_parse.
 *
 * Invariants: a failure is HV_EPROTO in one line; every object handed out
 * has a key of 1 to HV_S3_KEY_MAX bytes without a NUL and a size >= 0; a
 * truncated answer names a continuation token only as bounded text.
 */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http_s3.h"
#include "fuzz.h"
#include "banned.h"

static int
on_object(const struct hv_s3_object *o, void *arg)
{
	size_t *n = arg, len = strlen(o->key);

	CHECK(len > 0 && len <= HV_S3_KEY_MAX);
	CHECK(o->size >= 0);
	CHECK(o->modified != NULL && strlen(o->modified) < 64);
	++*n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_buf next = HV_BUF_INIT(2048);
	struct hv_err e = { 0 };
	size_t n = 0;
	int truncated = -1, r;

	r = hv_s3_list_parse((const char *)data, size, on_object, &n, &truncated, &next, &e);
	CHECK(r == 0 || r == HV_EPROTO);
	CHECK(truncated == 0 || truncated == 1);
	if (r < 0)
		CHECK(one_line(e.msg));
	CHECK(next.len <= 2048);
	hv_buf_release(&next);
	return 0;
}
