/*
 * http_s3: objects in an S3-compatible store (AWS S3, MinIO, Google Cloud
 * Storage's XML API with HMAC keys), part of the http module and under its
 * policy: https with the peer and host verified and TLS 1.2 or later, or
 * http to a loopback test server only.
 *
 * Requests are signed by libcurl's AWS SigV4 (provider "aws:amz:REGION:s3")
 * and carry x-amz-content-sha256, the SHA-256 of the payload computed here
 * (libcurl 7.88 does not add it), so the store can refuse a body damaged on
 * the way.  Objects are addressed path-style, ENDPOINT/BUCKET/KEY; bucket
 * and key names are restricted to [A-Za-z0-9._/-] (no "..", no "//"), so a
 * name never needs escaping and signs the same everywhere.
 *
 * Uploads and downloads stream from and to file descriptors in constant
 * memory whatever the object's size: a single PUT up to HV_S3_PART_SIZE,
 * multipart upload above (each part hashed in a first pass over its range
 * of the file, then sent).  Idempotent requests are retried twice on a
 * temporary failure.
 *
 * Failures map onto the exit-code table: no connection, a timeout, 5xx,
 * 429 or SlowDown are HV_ETEMP; 403, SignatureDoesNotMatch,
 * InvalidAccessKeyId, AccessDenied HV_EPERM; NoSuchKey HV_ENOINPUT; a TLS
 * failure, another 4xx or an answer that does not parse HV_EPROTO.  Every
 * call blocks until done.
 */
#ifndef HV_HTTP_S3_H
#define HV_HTTP_S3_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define HV_S3_PART_SIZE (32LL * 1024 * 1024)	/* above this, multipart */
#define HV_S3_KEY_MAX 1024
#define HV_S3_LIST_MAX (4 * 1024 * 1024)	/* bytes of one listing page */

struct hv_s3;

/*
 * A client for endpoint ("https://host[:port]", no path; NULL for
 * https://s3.REGION.amazonaws.com) in region (NULL: "us-east-1").
 * credentials is a file, unreadable by group and others, of lines
 *
 *	access_key = AKIA...
 *	secret_key = ...
 *
 * ('#' comments and blank lines allowed).  The secret is kept in locked
 * memory.  ca_file, when not NULL, is the CA bundle to trust instead of the
 * system's.  HV_ECONFIG for a bad endpoint or credentials file, HV_EPERM
 * for one others can read.
 */
int hv_s3_new(struct hv_s3 **s, const char *endpoint, const char *region,
    const char *credentials, const char *ca_file, struct hv_err *e);
void hv_s3_free(struct hv_s3 *s);

/* 1 when name is a bucket or key this module accepts. */
int hv_s3_name_ok(const char *name);

/*
 * Upload the regular file open at fd (read with pread, from offset 0 to its
 * size at the call) as bucket/key.  On failure a multipart upload is
 * aborted, so no part is left behind to bill; a single PUT either landed
 * whole or not at all.
 */
int hv_s3_put(struct hv_s3 *s, const char *bucket, const char *key, int fd,
    struct hv_err *e);

/* Download bucket/key, writing it to fd as it arrives. */
int hv_s3_get(struct hv_s3 *s, const char *bucket, const char *key, int fd,
    struct hv_err *e);

/* Download bucket/key without keeping it: its size and SHA-256. */
int hv_s3_sha256(struct hv_s3 *s, const char *bucket, const char *key,
    long long *size, uint8_t hash[32], struct hv_err *e);

/* The size of bucket/key: HV_ENOINPUT when there is no such object. */
int hv_s3_head(struct hv_s3 *s, const char *bucket, const char *key,
    long long *size, struct hv_err *e);

/* Delete bucket/key (deleting what is not there succeeds, as in S3). */
int hv_s3_delete(struct hv_s3 *s, const char *bucket, const char *key,
    struct hv_err *e);

/*
 * An object of a listing: key and modified (ISO 8601, as the store sent
 * it) are borrowed for the call.
 */
struct hv_s3_object {
	const char *key;
	long long size;
	const char *modified;
};

typedef int (*hv_s3_list_fn)(const struct hv_s3_object *o, void *arg);

/*
 * Every object whose key starts with prefix, in key order, page after page
 * (ListObjectsV2).  Stops at fn's first non-zero return and returns it.
 */
int hv_s3_list(struct hv_s3 *s, const char *bucket, const char *prefix,
    hv_s3_list_fn fn, void *arg, struct hv_err *e);

/*
 * Parse one ListObjectsV2 answer (len bytes, outside input): fn for each
 * object, *truncated and the continuation token (appended to next) when
 * there are more pages.  HV_EPROTO, naming what is wrong, for anything
 * that is not a well-formed listing: markup it does not know (comments,
 * CDATA, DTDs), a bad entity, an unclosed or mismatched element, a size
 * that is not a number, a key over HV_S3_KEY_MAX bytes or holding a NUL.
 */
int hv_s3_list_parse(const char *xml, size_t len, hv_s3_list_fn fn, void *arg,
    int *truncated, struct hv_buf *next, struct hv_err *e);

#endif
