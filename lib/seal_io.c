/*
 * Whole-stream drivers for the seal core: fd to fd in constant memory, and
 * memory to memory.  Both hold one byte of lookahead past a batch of
 * segments, which is how a segment is known to be the last.
 *
 * The fd drivers work in place, in two batch buffers laid out as on the
 * wire (each segment followed by its tag): plaintext is read into the
 * segment slots and sealed where it lies, ciphertext is read whole and
 * opened where it lies.  While one buffer is being filled and processed,
 * a writer thread writes the other, so the kernel's copy of the output
 * overlaps the cipher.  Streams of one batch, most of them, are written
 * from the calling thread and start no thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file.h"
#include "mem.h"
#include "seal.h"
#include "banned.h"

/* A quarter megabyte of plaintext per read and write. */
#define BATCH_BYTES (256 * 1024)

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
write_error(struct hv_err *e, int errnum)
{
	return hv_err_errno(e, HV_EIO, errnum, "write error");
}

/* Fill iov[0..cnt) from fd, to its end; the bytes read, or -1. */
static ssize_t
readv_full(int fd, struct iovec *iov, int cnt)
{
	size_t got = 0;
	ssize_t r;

	while (cnt > 0) {
		r = readv(fd, iov, cnt);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
		for (; cnt > 0 && (size_t)r >= iov->iov_len; iov++, cnt--)
			r -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return (ssize_t)got;
}

/* Write all of iov[0..cnt) (which it consumes) to fd: 0, or an errno. */
static int
writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t w;

	while (cnt > 0) {
		w = writev(fd, iov, cnt);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		for (; cnt > 0 && (size_t)w >= iov->iov_len; iov++, cnt--)
			w -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * A batch: nseg slots of cseg bytes and one byte of lookahead, in locked
 * memory since it holds plaintext, and the vector that writes it out.
 */
struct batch {
	uint8_t *p;		/* owned: cap bytes, secure */
	size_t cap;
	struct iovec *iov;	/* owned: nseg + 1 entries */
	int iovcnt;
};

static void
batch_init(struct batch *b, size_t nseg, size_t cseg)
{
	b->cap = nseg * cseg + 1;
	b->p = hv_secure_alloc(b->cap);
	b->iov = hv_xcalloc(nseg + 1, sizeof *b->iov);
	b->iovcnt = 0;
}

static void
batch_release(struct batch *b)
{
	if (b->p != NULL)
		hv_secure_free(b->p, b->cap);
	free(b->iov);
	b->p = NULL;
	b->iov = NULL;
}

/*
 * The writer: one job at a time, handed over by writer_put() once the
 * previous one is written.  Until writer_start() succeeds, or when no
 * thread can be had, writer_put() writes from the calling thread.  The
 * first write error stops all later writes and is reported to the next
 * writer_put() and to writer_stop().
 */
struct writer {
	int fd;
	int running;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *job;	/* borrowed: being written, or NULL */
	int quit;
	int err;		/* errno of the first failed write, or 0 */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct batch *b;
	int err;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->job == NULL && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if ((b = w->job) == NULL)
			break;
		pthread_mutex_unlock(&w->lock);
		err = w->err ? 0 : writev_all(w->fd, b->iov, b->iovcnt);
		pthread_mutex_lock(&w->lock);
		if (err != 0)
			w->err = err;
		w->job = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void
writer_init(struct writer *w, int fd)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
}

static void
writer_start(struct writer *w)
{
	if (w->running || pthread_mutex_init(&w->lock, NULL) != 0)
		return;
	if (pthread_cond_init(&w->cond, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		return;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		return;
	}
	w->running = 1;
}

/* Hand b over to be written: 0, or the errno of a failed write. */
static int
writer_put(struct writer *w, struct batch *b)
{
	int err;

	if (!w->running)
		return w->err = writev_all(w->fd, b->iov, b->iovcnt);
	pthread_mutex_lock(&w->lock);
	while (w->job != NULL)
		pthread_cond_wait(&w->cond, &w->lock);
	if ((err = w->err) == 0) {
		w->job = b;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

/* Wait for the last job and join the thread: 0, or the first write's errno. */
static int
writer_stop(struct writer *w)
{
	if (!w->running)
		return w->err;
	pthread_mutex_lock(&w->lock);
	while (w->job != NULL)
		pthread_cond_wait(&w->cond, &w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	w->running = 0;
	return w->err;
}

/*
 * Read plaintext into the segment slots of b, have bytes of the first
 * already there, then the lookahead byte.  Sets *n to the plaintext bytes
 * of this batch and *eof when the input ended within it.
 */
static int
seal_read(struct batch *b, int fd, size_t nseg, size_t seg, size_t have,
    size_t *n, int *eof)
{
	size_t cseg = seg + HV_SEAL_TAG_LEN, i, want = nseg * seg + 1;
	ssize_t got;

	for (i = 0; i < nseg; i++) {
		b->iov[i].iov_base = b->p + i * cseg;
		b->iov[i].iov_len = seg;
	}
	b->iov[0].iov_base = b->p + have;
	b->iov[0].iov_len -= have;
	b->iov[nseg].iov_base = b->p + nseg * cseg;
	b->iov[nseg].iov_len = 1;
	if ((got = readv_full(fd, b->iov, (int)nseg + 1)) < 0)
		return -1;
	have += (size_t)got;
	*eof = have < want;
	*n = *eof ? have : have - 1;
	return 0;
}

/* Seal the n bytes of plaintext in b where they lie; set b's vector. */
static int
seal_batch(struct hv_sealer *s, struct batch *b, size_t n, int eof, struct hv_err *e)
{
	size_t seg = hv_sealer_segment_size(s), cseg = seg + HV_SEAL_TAG_LEN, i, off, len;
	int r;

	/* An empty stream is one empty last segment. */
	for (i = off = 0; off < n || (eof && i == 0); i++) {
		len = n - off < seg ? n - off : seg;
		r = hv_sealer_segment(s, b->p + i * cseg, len, eof && off + len == n,
		    b->p + i * cseg, e);
		if (r < 0)
			return r;
		off += len;
	}
	b->iov[0].iov_base = b->p;
	b->iov[0].iov_len = n + i * HV_SEAL_TAG_LEN;
	b->iovcnt = 1;
	return 0;
}

int
hv_seal_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e)
{
	struct hv_sealer *s = NULL;
	struct batch b[2] = { { NULL, 0, NULL, 0 }, { NULL, 0, NULL, 0 } };
	struct writer w;
	uint8_t hdr[HV_SEAL_HDR_MAX];
	size_t hdrlen, seg, nseg, n, have = 0;
	int r, err, eof, cur = 0;

	writer_init(&w, out_fd);
	if ((r = hv_sealer_new(&s, k, ctx, ctxlen, NULL, hdr, &hdrlen, e)) < 0)
		return r;
	if (hv_write_all(out_fd, hdr, hdrlen) < 0) {
		r = write_error(e, errno);
		goto out;
	}
	seg = hv_sealer_segment_size(s);
	nseg = batch_segments(seg);
	batch_init(&b[0], nseg, seg + HV_SEAL_TAG_LEN);
	for (;;) {
		if (seal_read(&b[cur], in_fd, nseg, seg, have, &n, &eof) < 0) {
			r = read_error(e);
			goto out;
		}
		if ((r = seal_batch(s, &b[cur], n, eof, e)) < 0)
			goto out;
		if (!eof && b[1].p == NULL) {
			batch_init(&b[1], nseg, seg + HV_SEAL_TAG_LEN);
			writer_start(&w);
		}
		if ((err = writer_put(&w, &b[cur])) != 0) {
			r = write_error(e, err);
			goto out;
		}
		if (eof)
			break;
		/* The lookahead byte opens the next batch. */
		b[!cur].p[0] = b[cur].p[b[cur].cap - 1];
		have = 1;
		cur = !cur;
	}
	r = 0;
out:
	if ((err = writer_stop(&w)) != 0 && r == 0)
		r = write_error(e, err);
	hv_sealer_free(s);
	batch_release(&b[0]);
	batch_release(&b[1]);
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

/*
 * Open the n bytes of ciphertext in b where they lie, and point b's vector
 * at the plaintext of each segment.
 */
static int
open_batch(struct hv_opener *o, struct batch *b, size_t n, int eof, struct hv_err *e)
{
	size_t cseg = hv_opener_segment_size(o) + HV_SEAL_TAG_LEN, off, len;
	int r, i;

	for (i = 0, off = 0; off < n; i++) {
		len = n - off < cseg ? n - off : cseg;
		r = hv_opener_segment(o, b->p + off, len, eof && off + len == n,
		    b->p + off, e);
		if (r < 0)
			return r;
		b->iov[i].iov_base = b->p + off;
		b->iov[i].iov_len = len - HV_SEAL_TAG_LEN;
		off += len;
	}
	b->iovcnt = i;
	return 0;
}

int
hv_open_fd(const struct hv_seal_key *k, const void *ctx, size_t ctxlen,
    int in_fd, int out_fd, struct hv_err *e)
{
	struct hv_opener *o = NULL;
	struct batch b[2] = { { NULL, 0, NULL, 0 }, { NULL, 0, NULL, 0 } };
	struct writer w;
	uint8_t hdr[HV_SEAL_HDR_MAX];
	size_t hdrlen, have = 0, cseg, nseg, n;
	off_t start = output_start(out_fd);
	ssize_t got;
	int r, err, eof, cur = 0, wrote = 0;

	writer_init(&w, out_fd);
	if ((r = read_header(in_fd, hdr, &have, e)) < 0)
		return r;
	if ((r = hv_opener_new(&o, k, ctx, ctxlen, hdr, have, &hdrlen, e)) < 0)
		return r;
	cseg = hv_opener_segment_size(o) + HV_SEAL_TAG_LEN;
	nseg = batch_segments(cseg - HV_SEAL_TAG_LEN);
	batch_init(&b[0], nseg, cseg);
	/* The header read may have taken the first bytes of the body. */
	have -= hdrlen;
	memcpy(b[0].p, hdr + hdrlen, have);
	for (;;) {
		got = hv_read_full(in_fd, b[cur].p + have, b[cur].cap - have);
		if (got < 0) {
			r = read_error(e);
			goto out;
		}
		have += (size_t)got;
		eof = have < b[cur].cap;
		n = eof ? have : have - 1;
		if (eof && n == 0 && !wrote) {
			r = hv_err_set(e, HV_EDATA, "truncated: no segment after the header");
			goto out;
		}
		if ((r = open_batch(o, &b[cur], n, eof, e)) < 0)
			goto out;
		if (!eof && b[1].p == NULL) {
			batch_init(&b[1], nseg, cseg);
			writer_start(&w);
		}
		/* A write that fails half way has still written. */
		wrote = 1;
		if ((err = writer_put(&w, &b[cur])) != 0) {
			r = write_error(e, err);
			goto out;
		}
		if (eof)
			break;
		b[!cur].p[0] = b[cur].p[b[cur].cap - 1];
		have = 1;
		cur = !cur;
	}
	r = 0;
out:
	/* The writer is done with the output before any of it is taken back. */
	if ((err = writer_stop(&w)) != 0 && r == 0)
		r = write_error(e, err);
	if (r < 0 && wrote && retract(out_fd, start) < 0)
		hv_err_wrap(e, "cannot remove the partial output");
	hv_opener_free(o);
	batch_release(&b[0]);
	batch_release(&b[1]);
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
