/*
 * S3 over libcurl: SigV4 by libcurl, the payload hash by us, bodies
 * streamed from and to file descriptors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "http.h"
#include "http_curl.h"
#include "http_s3.h"
#include "mem.h"
#include "url.h"
#include "banned.h"

#define ERR_BODY_MAX (64 * 1024)	/* an error or a small answer */
#define CRED_MAX 4096
#define ATTEMPTS 3
#define MAX_PARTS 10000

static const char empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct hv_s3 {
	CURL *curl;
	char *endpoint;		/* owned, no trailing slash */
	char *sigv4;		/* owned: "aws:amz:REGION:s3" */
	char *ca_file;		/* owned or NULL */
	char *userpwd;		/* locked: "ACCESS:SECRET" */
	size_t userpwd_size;
	char errbuf[CURL_ERROR_SIZE];
};

/* One request and what came back. */
struct req {
	const char *method;
	const char *bucket, *key;	/* key may be NULL: the bucket itself */
	const char *query;		/* encoded, or NULL */
	/* The body: a range of a file, or memory, or none. */
	int in_fd;
	long long in_off, in_len, in_sent;
	const char *body;
	size_t body_len, body_sent;
	char sha[65];			/* hex of the payload's SHA-256 */
	/* The answer: a 2xx body streams to out_fd and/or out_hash. */
	int out_fd;
	struct hv_sha256 *out_hash;
	long long out_len;
	struct hv_buf resp;		/* other bodies, bounded */
	size_t resp_max;
	long status;
	long long length;		/* Content-Length, or -1 */
	char etag[128];
	int write_failed;
};

static void
hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hv_s3_name_ok(const char *name)
{
	const char *p;

	if (*name == '\0' || *name == '/' || strlen(name) > HV_S3_KEY_MAX ||
	    strstr(name, "//") != NULL)
		return 0;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("._/-", *p) == NULL)
			return 0;
	for (p = name; p != NULL; p = strchr(p, '/')) {
		p += *p == '/';
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return 0;
	}
	return 1;
}

/* Credentials: "access_key = ..." and "secret_key = ..." lines. */
static int
cred_line(char *line, char **ak, char **sk, const char *path, int n, struct hv_err *e)
{
	char *eq, *k, *v, *end;

	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL)
		return hv_err_set(e, HV_ECONFIG, "%s:%d: expected 'key = value'", path, n);
	for (end = eq; end > line && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	k = line;
	for (v = eq + 1; isspace((unsigned char)*v); v++)
		;
	for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	if (*v == '\0')
		return hv_err_set(e, HV_ECONFIG, "%s:%d: empty value for '%s'", path, n, k);
	if (strchr(v, ':') != NULL && strcmp(k, "access_key") == 0)
		return hv_err_set(e, HV_ECONFIG, "%s:%d: bad access_key", path, n);
	if (strcmp(k, "access_key") == 0 && *ak == NULL)
		*ak = v;
	else if (strcmp(k, "secret_key") == 0 && *sk == NULL)
		*sk = v;
	else
		return hv_err_set(e, HV_ECONFIG, "%s:%d: unknown or repeated key '%s'",
		    path, n, k);
	return 0;
}

static int
load_credentials(struct hv_s3 *s, const char *path, struct hv_err *e)
{
	struct hv_buf b;
	char *ak = NULL, *sk = NULL, *line, *nl;
	int r, n = 0;

	hv_buf_init_secret(&b, CRED_MAX);
	if ((r = hv_file_read_secret(path, &b, e)) < 0) {
		if (r == HV_EDATA)
			r = hv_err_set(e, HV_ECONFIG, "'%s' is too large for credentials", path);
		goto out;
	}
	for (line = b.data; r == 0 && line != NULL && *line; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		r = cred_line(line, &ak, &sk, path, ++n, e);
	}
	if (r == 0 && (ak == NULL || sk == NULL))
		r = hv_err_set(e, HV_ECONFIG, "'%s' needs access_key and secret_key", path);
	if (r == 0) {
		s->userpwd_size = strlen(ak) + strlen(sk) + 2;
		s->userpwd = hv_secure_alloc(s->userpwd_size);
		snprintf(s->userpwd, s->userpwd_size, "%s:%s", ak, sk);
	}
out:
	hv_buf_release(&b);
	return r;
}

/* Path-style addressing: the endpoint is a scheme and an authority,
 * judged by both parsers (lib/url.c and libcurl's). */
static int
endpoint_ok(const char *url)
{
	const char *why;

	return hv_url_check(url, HV_URL_ORIGIN, &why) == 0 && hv_http_url_allowed(url);
}

int
hv_s3_new(struct hv_s3 **out, const char *endpoint, const char *region,
    const char *credentials, const char *ca_file, struct hv_err *e)
{
	struct hv_s3 *s;
	char buf[512];
	int r;

	*out = NULL;
	if (region == NULL)
		region = "us-east-1";
	if (*region == '\0' || strlen(region) > 64 || strpbrk(region, ":/ ") != NULL)
		return hv_err_set(e, HV_ECONFIG, "bad region '%s'", region);
	if (endpoint == NULL)
		snprintf(buf, sizeof buf, "https://s3.%s.amazonaws.com", region);
	else if (snprintf(buf, sizeof buf, "%s", endpoint) >= (int)sizeof buf)
		return hv_err_set(e, HV_ECONFIG, "endpoint too long");
	/* One trailing slash is harmless; any other path is not. */
	if (strlen(buf) > 8 && buf[strlen(buf) - 1] == '/')
		buf[strlen(buf) - 1] = '\0';
	if (!endpoint_ok(buf))
		return hv_err_set(e, HV_ECONFIG, "bad endpoint '%s': https://HOST[:PORT] "
		    "(http only to a loopback test server)", buf);
	if (credentials == NULL)
		return hv_err_set(e, HV_ECONFIG, "an s3:// target needs [backup] "
		    "credentials = FILE");
	if ((r = hv_curl_load(e)) < 0)
		return r;
	s = hv_xcalloc(1, sizeof *s);
	s->endpoint = hv_xstrdup(buf);
	snprintf(buf, sizeof buf, "aws:amz:%s:s3", region);
	s->sigv4 = hv_xstrdup(buf);
	s->ca_file = ca_file ? hv_xstrdup(ca_file) : NULL;
	if ((r = load_credentials(s, credentials, e)) < 0)
		goto fail;
	if ((s->curl = curl_easy_init()) == NULL) {
		r = hv_err_set(e, HV_ETEMP, "cannot initialise libcurl: out of memory");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	hv_s3_free(s);
	return r;
}

void
hv_s3_free(struct hv_s3 *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->userpwd != NULL)
		hv_secure_free(s->userpwd, s->userpwd_size);
	free(s->endpoint);
	free(s->sigv4);
	free(s->ca_file);
	free(s);
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n;
	ssize_t got;

	if (q->body != NULL) {
		if (want > q->body_len - q->body_sent)
			want = q->body_len - q->body_sent;
		memcpy(p, q->body + q->body_sent, want);
		q->body_sent += want;
		return want;
	}
	if ((long long)want > q->in_len - q->in_sent)
		want = (size_t)(q->in_len - q->in_sent);
	if (want == 0)
		return 0;
	do
		got = pread(q->in_fd, p, want, (off_t)(q->in_off + q->in_sent));
	while (got < 0 && errno == EINTR);
	/* A file that shrank under us must not end the body early. */
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	q->in_sent += got;
	return (size_t)got;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;

	if (q->status / 100 == 2 && (q->out_fd >= 0 || q->out_hash != NULL)) {
		if (q->out_fd >= 0 && hv_write_all(q->out_fd, p, len) < 0) {
			q->write_failed = errno;
			return 0;
		}
		if (q->out_hash != NULL)
			hv_sha256_update(q->out_hash, p, len);
		q->out_len += (long long)len;
		return len;
	}
	return hv_buf_add(&q->resp, p, len) < 0 ? 0 : len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, v;
	char line[256];

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new status line: remember its code for on_write. */
		const char *sp = memchr(p, ' ', len);
		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		q->length = -1;
		return len;
	}
	if (len >= sizeof line)
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "content-length:", 15) == 0) {
		char *end;
		long long l = strtoll(line + 15, &end, 10);
		q->length = end != line + 15 && l >= 0 ? l : -1;
	} else if (strncasecmp(line, "etag:", 5) == 0) {
		for (v = 5; line[v] == ' '; v++)
			;
		/* An ETag too long to keep is as good as none: the part fails. */
		if (strlen(line + v) < sizeof q->etag)
			memcpy(q->etag, line + v, strlen(line + v) + 1);
	}
	return len;
}

static int
object_url(struct hv_buf *u, const struct hv_s3 *s, const struct req *q)
{
	hv_buf_addf(u, "%s/%s", s->endpoint, q->bucket);
	if (q->key != NULL)
		hv_buf_addf(u, "/%s", q->key);
	if (q->query != NULL)
		hv_buf_addf(u, "?%s", q->query);
	return u->len > 0 ? 0 : HV_EINTERNAL;
}

static struct curl_slist *
request_headers(const struct req *q)
{
	struct curl_slist *l = NULL;
	char h[128];

	snprintf(h, sizeof h, "x-amz-content-sha256: %s", q->sha);
	l = curl_slist_append(l, h);
	/* No "Expect:" to suppress 100-continue: libcurl would sign the
	 * empty header it never sends, and S3 would refuse the signature. */
	if (q->body != NULL && q->body_len > 0)
		l = curl_slist_append(l, "Content-Type: application/xml");
	else if (q->in_fd >= 0)
		l = curl_slist_append(l, "Content-Type: application/octet-stream");
	return l;
}

static void
set_method(CURL *c, struct req *q)
{
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (q->in_fd >= 0 || (q->body != NULL && strcmp(q->method, "PUT") == 0)) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(q->in_fd >= 0 ? q->in_len : (long long)q->body_len));
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

static void
set_policy(struct hv_s3 *s, CURL *c)
{
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	/* No whole-request limit (a large object takes its time), but a
	 * transfer that stalls below 1 KiB/s for a minute is given up. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hv/" HV_VERSION);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
}

/* The <Code> and <Message> of an S3 error body, printable, bounded. */
static void
error_detail(const struct hv_buf *b, char *code, size_t codelen, char *msg, size_t msglen)
{
	const char *names[2] = { "<Code>", "<Message>" }, *p, *end;
	char *outs[2] = { code, msg };
	size_t lens[2] = { codelen, msglen }, i, j;

	for (i = 0; i < 2; i++) {
		outs[i][0] = '\0';
		if (b->data == NULL || (p = strstr(b->data, names[i])) == NULL)
			continue;
		p += strlen(names[i]);
		if ((end = strchr(p, '<')) == NULL)
			continue;
		for (j = 0; p < end && j + 1 < lens[i]; p++)
			outs[i][j++] = isprint((unsigned char)*p) ? *p : '?';
		outs[i][j] = '\0';
	}
}

static int
is_perm_code(const char *code)
{
	return strcmp(code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(code, "InvalidAccessKeyId") == 0 || strcmp(code, "AccessDenied") == 0 ||
	    strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0 ||
	    strcmp(code, "RequestTimeTooSkewed") == 0;
}

static int
status_error(struct req *q, const char *what, struct hv_err *e)
{
	char code[64], msg[200];
	int r;

	error_detail(&q->resp, code, sizeof code, msg, sizeof msg);
	if (q->status >= 500 || q->status == 429 || strcmp(code, "SlowDown") == 0)
		r = HV_ETEMP;
	else if (q->status == 403 || q->status == 401 || is_perm_code(code))
		r = HV_EPERM;
	else if (q->status == 404)
		r = HV_ENOINPUT;
	else
		r = HV_EPROTO;
	return hv_err_set(e, r, "%s: %ld%s%s%s%s", what, q->status, *code ? " " : "",
	    code, *msg ? ": " : "", msg);
}

static int
curl_error(struct hv_s3 *s, CURLcode c, struct req *q, const char *what, struct hv_err *e)
{
	const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(c);

	/* The module's one mapping (hv_http_status), with what S3 adds: a
	 * write to the local file that failed, a file that changed. */
	switch (c) {
	case CURLE_WRITE_ERROR:
		if (q->write_failed)
			return hv_err_errno(e, HV_EIO, q->write_failed, "%s: write error", what);
		return hv_err_set(e, HV_EPROTO, "%s: answer larger than expected", what);
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		return hv_err_set(e, HV_EIO, "%s: the file changed while it was sent", what);
	default:
		if (hv_http_status(c) == HV_EPROTO)
			return hv_err_set(e, HV_EPROTO, "%s: TLS: %s", what, why);
		return hv_err_set(e, hv_http_status(c), "%s: %s", what, why);
	}
}

static int
perform_once(struct hv_s3 *s, struct req *q, const char *what, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(HV_S3_KEY_MAX * 4);
	struct curl_slist *headers = request_headers(q);
	CURL *c = s->curl;
	CURLcode rc;
	int r;

	object_url(&url, s, q);
	curl_easy_reset(c);
	s->errbuf[0] = '\0';
	hv_buf_release(&q->resp);
	hv_buf_init(&q->resp, q->resp_max);
	q->status = 0;
	q->length = -1;
	q->etag[0] = '\0';
	q->in_sent = 0;
	q->body_sent = 0;
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	set_policy(s, c);
	set_method(c, q);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	if (rc != CURLE_OK)
		r = curl_error(s, rc, q, what, e);
	else if (q->status / 100 != 2)
		r = status_error(q, what, e);
	else
		r = 0;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	/* libcurl keeps a copy of USERPWD until the next reset; drop it now. */
	curl_easy_reset(c);
	curl_slist_free_all(headers);
	hv_buf_release(&url);
	return r;
}

/* Retry a temporary failure while nothing has been handed downstream. */
static int
perform(struct hv_s3 *s, struct req *q, struct hv_err *e)
{
	char what[HV_S3_KEY_MAX + 256];
	int r, i;

	snprintf(what, sizeof what, "%s s3://%s/%s", q->method, q->bucket,
	    q->key ? q->key : "");
	if (q->sha[0] == '\0')
		snprintf(q->sha, sizeof q->sha, "%s", empty_sha256);
	for (i = 1;; i++) {
		r = perform_once(s, q, what, e);
		if (r != HV_ETEMP || i == ATTEMPTS || q->out_len > 0)
			break;
		sleep((unsigned)i);
	}
	return r;
}

static void
req_init(struct req *q, const char *method, const char *bucket, const char *key)
{
	memset(q, 0, sizeof *q);
	q->method = method;
	q->bucket = bucket;
	q->key = key;
	q->in_fd = -1;
	q->out_fd = -1;
	q->length = -1;
	q->resp_max = ERR_BODY_MAX;
	hv_buf_init(&q->resp, q->resp_max);
}

static int
check_names(const char *bucket, const char *key, struct hv_err *e)
{
	if (!hv_s3_name_ok(bucket) || strchr(bucket, '/') != NULL)
		return hv_err_set(e, HV_EUSAGE, "bad bucket name '%s'", bucket);
	if (key != NULL && !hv_s3_name_ok(key))
		return hv_err_set(e, HV_EUSAGE, "bad object name '%s'", key);
	return 0;
}

/* SHA-256 of len bytes of fd from off, in hex. */
static int
hash_range(int fd, long long off, long long len, char out[65], struct hv_err *e)
{
	struct hv_sha256 *h = hv_sha256_new();
	uint8_t *buf = hv_xmalloc(1 << 16), md[32];
	ssize_t got;
	int r = 0;

	while (len > 0) {
		got = pread(fd, buf, len < (1 << 16) ? (size_t)len : (1 << 16), (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? hv_err_errno(e, HV_EIO, errno, "read error") :
			    hv_err_set(e, HV_EIO, "the file shrank while it was read");
			break;
		}
		hv_sha256_update(h, buf, (size_t)got);
		off += got;
		len -= got;
	}
	hv_sha256_final(h, md);
	hv_sha256_free(h);
	free(buf);
	hex(out, md, 32);
	return r;
}

static int
put_single(struct hv_s3 *s, const char *bucket, const char *key, int fd,
    long long size, struct hv_err *e)
{
	struct req q;
	int r;

	req_init(&q, "PUT", bucket, key);
	q.in_fd = fd;
	q.in_len = size;
	if ((r = hash_range(fd, 0, size, q.sha, e)) == 0)
		r = perform(s, &q, e);
	hv_buf_release(&q.resp);
	return r;
}

/* The text of the first <name> element in b, unescaped only as S3 needs. */
static int
xml_field(const struct hv_buf *b, const char *name, char *out, size_t outlen)
{
	char open[64], close_[64];
	const char *p, *end;

	snprintf(open, sizeof open, "<%s>", name);
	snprintf(close_, sizeof close_, "</%s>", name);
	if (b->data == NULL || (p = strstr(b->data, open)) == NULL)
		return HV_EPROTO;
	p += strlen(open);
	if ((end = strstr(p, close_)) == NULL || (size_t)(end - p) >= outlen || end == p)
		return HV_EPROTO;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

static int
upload_id_ok(const char *id)
{
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && strchr("._-~+/=", *id) == NULL)
			return 0;
	return 1;
}

static int
mp_start(struct hv_s3 *s, const char *bucket, const char *key, char *id, size_t idlen,
    struct hv_err *e)
{
	struct req q;
	int r;

	req_init(&q, "POST", bucket, key);
	q.query = "uploads=";
	q.body = "";
	if ((r = perform(s, &q, e)) == 0 &&
	    (xml_field(&q.resp, "UploadId", id, idlen) < 0 || !upload_id_ok(id)))
		r = hv_err_set(e, HV_EPROTO, "POST s3://%s/%s?uploads: no usable "
		    "UploadId in the answer", bucket, key);
	hv_buf_release(&q.resp);
	return r;
}

static void
mp_abort(struct hv_s3 *s, const char *bucket, const char *key, const char *query)
{
	struct req q;

	req_init(&q, "DELETE", bucket, key);
	q.query = query;
	(void)perform(s, &q, NULL);
	hv_buf_release(&q.resp);
}

static int
mp_part(struct hv_s3 *s, const char *bucket, const char *key, const char *eid, int fd,
    long long off, long long len, int n, struct hv_buf *done, struct hv_err *e)
{
	struct hv_buf query = HV_BUF_INIT(4096);
	struct req q;
	int r;

	hv_buf_addf(&query, "partNumber=%d&uploadId=%s", n, eid);
	req_init(&q, "PUT", bucket, key);
	q.query = query.data;
	q.in_fd = fd;
	q.in_off = off;
	q.in_len = len;
	if ((r = hash_range(fd, off, len, q.sha, e)) == 0 && (r = perform(s, &q, e)) == 0) {
		if (q.etag[0] == '\0' || strpbrk(q.etag, "<>&") != NULL)
			r = hv_err_set(e, HV_EPROTO, "PUT s3://%s/%s part %d: no ETag",
			    bucket, key, n);
		else if (hv_buf_addf(done, "<Part><PartNumber>%d</PartNumber>"
		    "<ETag>%s</ETag></Part>", n, q.etag) < 0)
			r = hv_err_set(e, HV_EINTERNAL, "too many parts");
	}
	hv_buf_release(&q.resp);
	hv_buf_release(&query);
	return r;
}

static int
mp_complete(struct hv_s3 *s, const char *bucket, const char *key, const char *query,
    struct hv_buf *parts, struct hv_err *e)
{
	struct req q;
	uint8_t md[32];
	int r;

	hv_buf_adds(parts, "</CompleteMultipartUpload>");
	req_init(&q, "POST", bucket, key);
	q.query = query;
	q.body = parts->data;
	q.body_len = parts->len;
	hv_sha256(md, parts->data, parts->len);
	hex(q.sha, md, 32);
	r = perform(s, &q, e);
	/* A 200 may still carry an error: S3 reports late failures so. */
	if (r == 0 && q.resp.data != NULL && strstr(q.resp.data, "<Error>") != NULL) {
		q.status = 500;
		r = status_error(&q, "POST complete multipart upload", e);
	}
	hv_buf_release(&q.resp);
	return r;
}

static int
put_multipart(struct hv_s3 *s, const char *bucket, const char *key, int fd,
    long long size, struct hv_err *e)
{
	struct hv_buf eid = HV_BUF_INIT(2048), query = HV_BUF_INIT(2048);
	struct hv_buf parts = HV_BUF_INIT(MAX_PARTS * 200);
	long long part = HV_S3_PART_SIZE, off;
	char id[1024];
	int r, n;

	while ((size + part - 1) / part > MAX_PARTS)
		part *= 2;
	if ((r = mp_start(s, bucket, key, id, sizeof id, e)) < 0)
		return r;
	hv_http_escape(&eid, id);
	hv_buf_addf(&query, "uploadId=%s", eid.data);
	hv_buf_adds(&parts, "<CompleteMultipartUpload>");
	for (off = 0, n = 1; r == 0 && off < size; off += part, n++)
		r = mp_part(s, bucket, key, eid.data, fd, off,
		    size - off < part ? size - off : part, n, &parts, e);
	if (r == 0)
		r = mp_complete(s, bucket, key, query.data, &parts, e);
	if (r < 0)
		mp_abort(s, bucket, key, query.data);
	hv_buf_release(&eid);
	hv_buf_release(&query);
	hv_buf_release(&parts);
	return r;
}

int
hv_s3_put(struct hv_s3 *s, const char *bucket, const char *key, int fd, struct hv_err *e)
{
	struct stat st;
	int r;

	if ((r = check_names(bucket, key, e)) < 0)
		return r;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return hv_err_set(e, HV_EINTERNAL, "hv_s3_put needs a regular file");
	if (st.st_size <= HV_S3_PART_SIZE)
		return put_single(s, bucket, key, fd, (long long)st.st_size, e);
	return put_multipart(s, bucket, key, fd, (long long)st.st_size, e);
}

static int
get_into(struct hv_s3 *s, const char *bucket, const char *key, int fd,
    struct hv_sha256 *h, long long *size, struct hv_err *e)
{
	struct req q;
	int r;

	if ((r = check_names(bucket, key, e)) < 0)
		return r;
	req_init(&q, "GET", bucket, key);
	q.out_fd = fd;
	q.out_hash = h;
	r = perform(s, &q, e);
	if (r == 0 && q.length >= 0 && q.length != q.out_len)
		r = hv_err_set(e, HV_ETEMP, "GET s3://%s/%s: %lld bytes of %lld arrived",
		    bucket, key, q.out_len, q.length);
	if (size != NULL)
		*size = q.out_len;
	hv_buf_release(&q.resp);
	return r;
}

int
hv_s3_get(struct hv_s3 *s, const char *bucket, const char *key, int fd, struct hv_err *e)
{
	return get_into(s, bucket, key, fd, NULL, NULL, e);
}

int
hv_s3_sha256(struct hv_s3 *s, const char *bucket, const char *key,
    long long *size, uint8_t hash[32], struct hv_err *e)
{
	struct hv_sha256 *h = hv_sha256_new();
	int r = get_into(s, bucket, key, -1, h, size, e);

	hv_sha256_final(h, hash);
	hv_sha256_free(h);
	return r;
}

int
hv_s3_head(struct hv_s3 *s, const char *bucket, const char *key, long long *size,
    struct hv_err *e)
{
	struct req q;
	int r;

	*size = -1;
	if ((r = check_names(bucket, key, e)) < 0)
		return r;
	req_init(&q, "HEAD", bucket, key);
	if ((r = perform(s, &q, e)) == 0 && q.length < 0)
		r = hv_err_set(e, HV_EPROTO, "HEAD s3://%s/%s: no Content-Length", bucket, key);
	*size = q.length;
	hv_buf_release(&q.resp);
	return r;
}

int
hv_s3_delete(struct hv_s3 *s, const char *bucket, const char *key, struct hv_err *e)
{
	struct req q;
	int r;

	if ((r = check_names(bucket, key, e)) < 0)
		return r;
	req_init(&q, "DELETE", bucket, key);
	r = perform(s, &q, e);
	hv_buf_release(&q.resp);
	return r;
}

int
hv_s3_list(struct hv_s3 *s, const char *bucket, const char *prefix,
    hv_s3_list_fn fn, void *arg, struct hv_err *e)
{
	struct hv_buf query = HV_BUF_INIT(8192), token = HV_BUF_INIT(2048);
	struct req q;
	int r, truncated = 1, pages = 0;

	if ((r = check_names(bucket, NULL, e)) < 0)
		return r;
	if (*prefix != '\0' && !hv_s3_name_ok(prefix))
		return hv_err_set(e, HV_EUSAGE, "bad prefix '%s'", prefix);
	while (r == 0 && truncated) {
		hv_buf_reset(&query);
		if (token.len > 0) {
			hv_buf_adds(&query, "continuation-token=");
			hv_http_escape(&query, token.data);
			hv_buf_adds(&query, "&");
		}
		hv_buf_adds(&query, "list-type=2&prefix=");
		hv_http_escape(&query, prefix);
		req_init(&q, "GET", bucket, NULL);
		q.query = query.data;
		q.resp_max = HV_S3_LIST_MAX;
		hv_buf_release(&token);
		if ((r = perform(s, &q, e)) == 0) {
			r = hv_s3_list_parse(q.resp.data ? q.resp.data : "", q.resp.len, fn,
			    arg, &truncated, &token, e);
			if (r == 0 && truncated && (token.len == 0 || ++pages > 100000))
				r = hv_err_set(e, HV_EPROTO, "s3://%s: listing truncated "
				    "without a usable continuation token", bucket);
		}
		hv_buf_release(&q.resp);
	}
	hv_buf_release(&query);
	hv_buf_release(&token);
	return r;
}
