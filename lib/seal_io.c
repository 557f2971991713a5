/*
 * Whole-stream drivers for the seal core: fd to fd in constant memory, and
 * memory to memory.  Both hold one byte of lookahead past a batch of
 * segments, which is how a segment is known to be the last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "mem.h"
#include "seal.h"
#include "banned.h"

/* About half a megabyte of plaintext per read and write. */
#define BATCH_BYTES (512 * 1024)

static size_t
batch_segments(size_t segment)
{
	return segment >= BATCH_BYTES ? 1 : BATCH_BYTES / segment;
}

static int
read_error(struct hv_err *e)
{
	return hv_err_errno(e, HV_EIO, errno, "read error");
}

static int
write_error(struct hv_err *e)
{
	return hv_err_errno(e, HV_EIO, errno, "write error");
}

int
hv_seal_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e)
{
	struct hv_sealer *s = NULL;
	uint8_t hdr[HV_SEAL_HDR_MAX], *in = NULL, *out = NULL;
	size_t hdrlen, seg, nseg, cap, have = 0, i, n, off;
	ssize_t got;
	int r, eof;

	if ((r = hv_sealer_new(&s, k, ctx, ctxlen, NULL, hdr, &hdrlen, e)) < 0)
		return r;
	if (hv_write_all(out_fd, hdr, hdrlen) < 0) {
		r = write_error(e);
		goto out;
	}
	seg = hv_sealer_segment_size(s);
	nseg = batch_segments(seg);
	cap = nseg * seg + 1;
	in = hv_secure_alloc(cap);
	out = hv_xmalloc(nseg * (seg + HV_SEAL_TAG_LEN));
	for (;;) {
		got = hv_read_full(in_fd, in + have, cap - have);
		if (got < 0) {
			r = read_error(e);
			goto out;
		}
		have += (size_t)got;
		eof = have < cap;
		/* Without end of file, the one byte past the batch stays. */
		n = eof ? have : have - 1;
		for (i = off = 0; off < n || (eof && i == 0); i++) {
			size_t len = n - off < seg ? n - off : seg;
			int last = eof && off + len == n;

			r = hv_sealer_segment(s, in + off, len, last,
			    out + i * (seg + HV_SEAL_TAG_LEN), e);
			if (r < 0)
				goto out;
			off += len;
		}
		if (hv_write_all(out_fd, out, n + i * HV_SEAL_TAG_LEN) < 0) {
			r = write_error(e);
			goto out;
		}
		if (eof)
			break;
		in[0] = in[have - 1];
		have = 1;
	}
	r = 0;
out:
	hv_sealer_free(s);
	if (in != NULL)
		hv_secure_free(in, cap);
	free(out);
	return r;
}

/*
 * Read as much as the header can need: a symmetric header's length, and a
 * recipient header's when the mode byte says so.  Validation is the
 * opener's; a short read just leaves fewer bytes for it to refuse.
 */
static int
read_header(int fd, uint8_t *hdr, size_t *have, struct hv_err *e)
{
	ssize_t got;

	got = hv_read_full(fd, hdr, HV_SEAL_HDR_SYMMETRIC);
	if (got < 0)
		return read_error(e);
	*have = (size_t)got;
	if (*have < HV_SEAL_HDR_SYMMETRIC || hdr[7] != HV_SEAL_RECIPIENT)
		return 0;
	got = hv_read_full(fd, hdr + *have, HV_SEAL_HDR_RECIPIENT - *have);
	if (got < 0)
		return read_error(e);
	*have += (size_t)got;
	return 0;
}

/* Where this run's output begins: appends land at the end, whatever lseek says. */
static off_t
output_start(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;

	if (fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0)
		return st.st_size;
	return lseek(fd, 0, SEEK_CUR);
}

/* Undo a failed open's output where that can be done. */
static int
retract(int out_fd, off_t start)
{
	struct stat st;

	if (fstat(out_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (start < 0 || ftruncate(out_fd, start) < 0)
		return -1;
	return lseek(out_fd, start, SEEK_SET) == start ? 0 : -1;
}

int
hv_open_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e)
{
	struct hv_opener *o = NULL;
	uint8_t hdr[HV_SEAL_HDR_MAX], *in = NULL, *out = NULL;
	size_t hdrlen, have = 0, seg, cseg, nseg, cap = 0, i, n, off, outcap = 0;
	off_t start = output_start(out_fd);
	ssize_t got;
	int r, eof, wrote = 0;

	if ((r = read_header(in_fd, hdr, &have, e)) < 0)
		return r;
	if ((r = hv_opener_new(&o, k, ctx, ctxlen, hdr, have, &hdrlen, e)) < 0)
		return r;
	seg = hv_opener_segment_size(o);
	cseg = seg + HV_SEAL_TAG_LEN;
	nseg = batch_segments(seg);
	cap = nseg * cseg + 1;
	in = hv_xmalloc(cap);
	outcap = nseg * seg;
	out = hv_secure_alloc(outcap);
	/* The header read may have taken the first bytes of the body. */
	have -= hdrlen;
	memcpy(in, hdr + hdrlen, have);
	for (;;) {
		got = hv_read_full(in_fd, in + have, cap - have);
		if (got < 0) {
			r = read_error(e);
			goto out;
		}
		have += (size_t)got;
		eof = have < cap;
		n = eof ? have : have - 1;
		if (eof && n == 0 && !wrote) {
			r = hv_err_set(e, HV_EDATA, "truncated: no segment after the header");
			goto out;
		}
		for (i = off = 0; off < n; i++) {
			size_t len = n - off < cseg ? n - off : cseg;

			r = hv_opener_segment(o, in + off, len, eof && off + len == n,
			    out + i * seg, e);
			if (r < 0)
				goto out;
			off += len;
		}
		/* A write that fails half way has still written. */
		wrote = 1;
		if (hv_write_all(out_fd, out, n - i * HV_SEAL_TAG_LEN) < 0) {
			r = write_error(e);
			goto out;
		}
		if (eof)
			break;
		in[0] = in[have - 1];
		have = 1;
	}
	r = 0;
out:
	if (r < 0 && wrote && retract(out_fd, start) < 0)
		hv_err_wrap(e, "cannot remove the partial output");
	hv_opener_free(o);
	free(in);
	if (out != NULL)
		hv_secure_free(out, outcap);
	return r;
}

int
hv_seal_mem(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    const void *in, size_t n, struct hv_buf *out, struct hv_err *e)
{
	struct hv_sealer *s = NULL;
	uint8_t hdr[HV_SEAL_HDR_MAX];
	const uint8_t *p = in;
	size_t hdrlen, seg, off = 0, len;
	int r;

	if ((r = hv_sealer_new(&s, k, ctx, ctxlen, NULL, hdr, &hdrlen, e)) < 0)
		return r;
	seg = hv_sealer_segment_size(s);
	if ((r = hv_buf_add(out, hdr, hdrlen)) < 0)
		goto full;
	do {
		len = n - off < seg ? n - off : seg;
		if ((r = hv_buf_grow(out, len + HV_SEAL_TAG_LEN)) < 0)
			goto full;
		r = hv_sealer_segment(s, p + off, len, off + len == n,
		    (uint8_t *)out->data + out->len, e);
		if (r < 0)
			goto out;
		out->len += len + HV_SEAL_TAG_LEN;
		out->data[out->len] = '\0';
		off += len;
	} while (off < n);
	goto out;
full:
	r = hv_err_set(e, HV_EDATA, "sealed output larger than %zu bytes", out->max);
out:
	hv_sealer_free(s);
	return r;
}

int
hv_open_mem(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    const void *in, size_t n, struct hv_buf *out, struct hv_err *e)
{
	struct hv_opener *o = NULL;
	const uint8_t *p = in;
	size_t hdrlen, cseg, off, len, start = out->len;
	int r;

	if ((r = hv_opener_new(&o, k, ctx, ctxlen, p, n, &hdrlen, e)) < 0)
		return r;
	cseg = hv_opener_segment_size(o) + HV_SEAL_TAG_LEN;
	off = hdrlen;
	if (off == n) {
		r = hv_err_set(e, HV_EDATA, "truncated: no segment after the header");
		goto out;
	}
	while (off < n) {
		len = n - off < cseg ? n - off : cseg;
		if (len < HV_SEAL_TAG_LEN) {
			r = hv_err_set(e, HV_EDATA, "truncated: the last segment is cut short");
			goto out;
		}
		if ((r = hv_buf_grow(out, len - HV_SEAL_TAG_LEN)) < 0) {
			r = hv_err_set(e, HV_EDATA, "opened data larger than %zu bytes", out->max);
			goto out;
		}
		r = hv_opener_segment(o, p + off, len, off + len == n,
		    (uint8_t *)out->data + out->len, e);
		if (r < 0)
			goto out;
		out->len += len - HV_SEAL_TAG_LEN;
		out->data[out->len] = '\0';
		off += len;
	}
out:
	if (r < 0 && out->data != NULL) {
		hv_wipe(out->data + start, out->len - start);
		out->len = start;
		out->data[start] = '\0';
	}
	hv_opener_free(o);
	return r;
}
