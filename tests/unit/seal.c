/*
 * seal: round trips in both modes, every refusal the format promises, the
 * fd driver's all-or-nothing output, and the known answers of hv-seal(5).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"
#include "seal.h"
#include "tap.h"

#define SEG 65536

static struct hv_seal_key *sym, *sym2, *ident, *ident2, *rcpt;

static void
fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 31 + seed) % 251);
}

/* Seal n pattern bytes; the caller releases out. */
static void
seal(const struct hv_seal_key *k, const char *ctx, size_t n, unsigned seed, struct hv_buf *out)
{
	uint8_t *p = malloc(n ? n : 1);

	fill(p, n, seed);
	hv_buf_init(out, 1 << 24);
	if (hv_seal_mem(k, ctx, strlen(ctx), p, n, out, NULL) < 0)
		printf("# seal failed\n");
	free(p);
}

/* Open p and say how: 0 with the plaintext's length in *n, or the code. */
static int
open_as(const struct hv_seal_key *k, const char *ctx, const void *p, size_t len,
    size_t *n, struct hv_err *e)
{
	struct hv_buf out;
	int r;

	hv_buf_init(&out, 1 << 24);
	r = hv_open_mem(k, ctx, strlen(ctx), p, len, &out, e);
	if (n)
		*n = out.len;
	if (r < 0 && out.len != 0)
		r = -9999;	/* plaintext left behind after a failure */
	hv_buf_release(&out);
	return r;
}

static void
test_round_trips(void)
{
	static const size_t sizes[] = { 0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 7 };
	struct hv_buf s, o;
	uint8_t *want;
	size_t i, nseg;
	int mode;

	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			const struct hv_seal_key *to = mode ? rcpt : sym, *with = mode ? ident : sym;

			seal(to, "ctx", sizes[i], 7, &s);
			nseg = sizes[i] == 0 ? 1 : (sizes[i] + SEG - 1) / SEG;
			is_int(s.len, (mode ? HV_SEAL_HDR_RECIPIENT : HV_SEAL_HDR_SYMMETRIC) +
			    sizes[i] + 16 * nseg, "%s %zu bytes: sealed length",
			    mode ? "recipient" : "symmetric", sizes[i]);
			hv_buf_init(&o, 1 << 24);
			want = malloc(sizes[i] + 1);
			fill(want, sizes[i], 7);
			ok(hv_open_mem(with, "ctx", 3, s.data, s.len, &o, NULL) == 0 &&
			    o.len == sizes[i] && memcmp(o.data ? o.data : "", want, sizes[i]) == 0,
			    "%s %zu bytes: opens to the same bytes",
			    mode ? "recipient" : "symmetric", sizes[i]);
			free(want);
			hv_buf_release(&o);
			hv_buf_release(&s);
		}
	}
}

static void
test_keys_and_contexts(void)
{
	struct hv_buf s, t;
	struct hv_err e = { 0 };

	seal(sym, "spool:a@example.com:18c2", 1000, 1, &s);
	is_int(open_as(sym, "spool:b@example.com:18c2", s.data, s.len, NULL, &e), HV_EDATA,
	    "another context is refused (65)");
	is_int(open_as(sym, "", s.data, s.len, NULL, &e), HV_EDATA, "no context is refused");
	is_int(open_as(sym2, "spool:a@example.com:18c2", s.data, s.len, NULL, &e), HV_EPERM,
	    "another key is told by key id (77)");
	ok(strstr(e.msg, "sealed to another key (the file names key ") != NULL, "the message names the key id");
	is_int(open_as(ident, "spool:a@example.com:18c2", s.data, s.len, NULL, &e), HV_EPERM,
	    "an identity cannot open a symmetric file");
	hv_buf_release(&s);
	seal(rcpt, "backup", 1000, 1, &t);
	is_int(open_as(ident2, "backup", t.data, t.len, NULL, &e), HV_EPERM,
	    "another identity is refused (77)");
	is_int(open_as(rcpt, "backup", t.data, t.len, NULL, &e), HV_EPERM,
	    "a recipient alone cannot open");
	is_int(open_as(sym, "backup", t.data, t.len, NULL, &e), HV_EPERM,
	    "a symmetric key cannot open a recipient file");
	is_int(open_as(ident, "other", t.data, t.len, NULL, &e), HV_EDATA,
	    "recipient mode binds the context too");
	hv_buf_release(&t);
}

/* Every single-bit flip anywhere fails; only the key id may read as 77. */
static void
test_bit_flips(const struct hv_seal_key *to, const struct hv_seal_key *with, const char *name)
{
	struct hv_buf s;
	size_t byte, bad = 0, leaked = 0, cases = 0;
	int bit, r;

	seal(to, "c", 150, 3, &s);
	for (byte = 0; byte < s.len; byte++) {
		for (bit = 0; bit < 8; bit++) {
			s.data[byte] ^= (char)(1 << bit);
			r = open_as(with, "c", s.data, s.len, NULL, NULL);
			s.data[byte] ^= (char)(1 << bit);
			cases++;
			if (r == -9999)
				leaked++;
			else if (!(r == HV_EDATA || (r == HV_EPERM && byte >= 10 && byte < 18)))
				bad++;
		}
	}
	ok(bad == 0 && leaked == 0, "%s: all %zu single-bit flips refused (65; 77 only in the "
	    "key id), no plaintext left", name, cases);
	if (bad || leaked)
		printf("#   %zu wrongly handled, %zu leaked\n", bad, leaked);
	hv_buf_release(&s);
}

static void
test_structure(void)
{
	struct hv_buf a, b;
	struct hv_err e = { 0 };
	uint8_t *m;
	size_t hdr = HV_SEAL_HDR_SYMMETRIC, cs = SEG + 16, n, cut, bad = 0;

	seal(sym, "c", 2 * SEG + 10, 1, &a);	/* three segments */
	seal(sym, "c", 2 * SEG + 10, 2, &b);	/* same key, same context */
	m = malloc(a.len + cs);

	is_int(open_as(sym, "c", a.data, a.len, &n, &e), 0, "the whole file opens");
	is_int(open_as(sym, "c", a.data, hdr, NULL, &e), HV_EDATA, "header alone: truncated");
	is_int(open_as(sym, "c", a.data, hdr + cs, NULL, &e), HV_EDATA,
	    "cut after segment 0 (a boundary)");
	is_int(open_as(sym, "c", a.data, hdr + 2 * cs, NULL, &e), HV_EDATA,
	    "cut after segment 1 (a boundary)");
	for (cut = 0; cut < a.len; cut += 997)
		if (open_as(sym, "c", a.data, cut, NULL, NULL) != HV_EDATA)
			bad++;
	ok(bad == 0, "every cut every 997 bytes is refused");
	for (cut = 0; cut < hdr; cut++)
		if (open_as(sym, "c", a.data, cut, NULL, NULL) != HV_EDATA)
			bad++;
	ok(bad == 0, "a header cut short at any byte is refused");

	memcpy(m, a.data, a.len);
	m[a.len] = 0;
	is_int(open_as(sym, "c", m, a.len + 1, NULL, &e), HV_EDATA, "one byte appended");
	memcpy(m + a.len, a.data + hdr, cs);
	is_int(open_as(sym, "c", m, a.len + cs, NULL, &e), HV_EDATA, "a whole segment appended");
	memcpy(m + a.len, a.data + a.len - 26, 26);
	is_int(open_as(sym, "c", m, a.len + 26, NULL, &e), HV_EDATA, "the last segment repeated");

	memcpy(m, a.data, a.len);
	memcpy(m + hdr, a.data + hdr + cs, cs);
	memcpy(m + hdr + cs, a.data + hdr, cs);
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA, "segments 0 and 1 swapped");
	memcpy(m, a.data, a.len);
	memcpy(m + hdr + cs, b.data + hdr + cs, cs);
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA,
	    "a segment spliced from another file of the same key");
	memcpy(m, b.data, hdr);
	memcpy(m + hdr, a.data + hdr, a.len - hdr);
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA,
	    "another file's header on this body");
	memcpy(m, a.data, hdr + cs);
	memcpy(m + hdr + cs, a.data + hdr + 2 * cs, a.len - hdr - 2 * cs);
	is_int(open_as(sym, "c", m, a.len - cs, NULL, &e), HV_EDATA, "a middle segment dropped");

	memcpy(m, a.data, a.len);
	m[6] = 2;
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA, "unknown version");
	is_str(e.msg, "unknown format version 2", "names the version");
	m[6] = 1;
	m[8] = 21;
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA, "segment size out of range");
	m[8] = 16;
	m[9] = 1;
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA, "reserved byte set");
	m[9] = 0;
	m[8] = 15;
	is_int(open_as(sym, "c", m, a.len, NULL, &e), HV_EDATA,
	    "another (valid) segment size is authenticated");
	is_int(open_as(sym, "c", "", 0, NULL, &e), HV_EDATA, "an empty file");
	is_int(open_as(sym, "c", "hvsea", 5, NULL, &e), HV_EDATA, "five bytes of magic");
	is_int(open_as(sym, "c", "PK\3\4 not sealed", 15, NULL, &e), HV_EDATA, "a foreign file");
	is_str(e.msg, "not a sealed file (bad magic)", "says it is not sealed");
	free(m);
	hv_buf_release(&a);
	hv_buf_release(&b);
}

/* hv_open_fd to a regular file leaves nothing behind when it fails late. */
static void
test_fd_retract(void)
{
	char in[] = "/tmp/hv-seal-in.XXXXXX", out[] = "/tmp/hv-seal-out.XXXXXX";
	struct hv_buf s;
	struct hv_err e = { 0 };
	struct stat st;
	int ifd = mkstemp(in), ofd = mkstemp(out);

	seal(sym, "c", 20 * SEG, 5, &s);	/* past one batch of the driver */
	s.data[s.len - 1] ^= 1;
	ok(write(ifd, s.data, s.len) == (ssize_t)s.len && lseek(ifd, 0, SEEK_SET) == 0,
	    "write a file whose last segment is damaged");
	is_int(hv_open_fd(sym, "c", 1, ifd, ofd, &e), HV_EDATA, "the fd driver refuses it");
	ok(fstat(ofd, &st) == 0 && st.st_size == 0, "and cuts its regular-file output back to nothing");
	s.data[s.len - 1] ^= 1;
	lseek(ifd, 0, SEEK_SET);
	ok(write(ifd, s.data, s.len) == (ssize_t)s.len && lseek(ifd, 0, SEEK_SET) == 0,
	    "write it whole again");
	is_int(hv_open_fd(sym, "c", 1, ifd, ofd, &e), 0, "the fd driver opens it");
	ok(fstat(ofd, &st) == 0 && st.st_size == 20 * SEG, "all of it");
	hv_buf_release(&s);
	close(ifd);
	close(ofd);
	unlink(in);
	unlink(out);
}

/* A pipe that a child feeds n bytes of p in chunks of odd sizes. */
static int
dribble(const uint8_t *p, size_t n, pid_t *pid)
{
	int fds[2];
	size_t off, len;

	if (pipe(fds) < 0 || (*pid = fork()) < 0)
		return -1;
	if (*pid == 0) {
		close(fds[0]);
		for (off = 0; off < n; off += len) {
			len = n - off < 4093 ? n - off : 4093;
			if (write(fds[1], p + off, len) != (ssize_t)len)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

/*
 * hv_seal_fd and hv_open_fd round trips around the driver's batches (four
 * segments) from a pipe that delivers short reads, to a regular file.
 */
static void
test_fd_round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 4 * SEG - 1, 4 * SEG, 4 * SEG + 1,
	    8 * SEG, 9 * SEG + 5 };
	char sp[] = "/tmp/hv-seal-s.XXXXXX", op[] = "/tmp/hv-seal-o.XXXXXX";
	struct hv_err e = { 0 };
	struct stat st;
	uint8_t *p, *q;
	size_t i, n;
	pid_t pid = -1;
	int sfd = mkstemp(sp), ofd = mkstemp(op), in, r, status;

	p = malloc(9 * SEG + 5);
	q = malloc(9 * SEG + 5);
	fill(p, 9 * SEG + 5, 3);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		n = sizes[i];
		if (ftruncate(sfd, 0) < 0 || ftruncate(ofd, 0) < 0)
			printf("# cannot truncate\n");
		lseek(sfd, 0, SEEK_SET);
		lseek(ofd, 0, SEEK_SET);
		in = dribble(p, n, &pid);
		r = hv_seal_fd(rcpt, "c", 1, in, sfd, &e);
		close(in);
		waitpid(pid, &status, 0);
		is_int(r, 0, "fd seal of %zu bytes from a pipe", n);
		lseek(sfd, 0, SEEK_SET);
		is_int(hv_open_fd(ident, "c", 1, sfd, ofd, &e), 0, "fd open of %zu bytes", n);
		ok(fstat(ofd, &st) == 0 && (size_t)st.st_size == n &&
		    pread(ofd, q, n, 0) == (ssize_t)n && memcmp(p, q, n) == 0,
		    "gives the %zu bytes back", n);
	}
	free(p);
	free(q);
	close(sfd);
	close(ofd);
	unlink(sp);
	unlink(op);
}

/* A failed write, from the writer thread too, is an I/O error. */
static void
test_fd_write_error(void)
{
	char in[] = "/tmp/hv-seal-in.XXXXXX";
	struct hv_buf s;
	struct hv_err e = { 0 };
	int ifd = mkstemp(in), full = open("/dev/full", O_WRONLY);

	seal(sym, "c", 20 * SEG, 5, &s);
	ok(write(ifd, s.data, s.len) == (ssize_t)s.len && lseek(ifd, 0, SEEK_SET) == 0,
	    "write a file of many batches");
	is_int(hv_seal_fd(sym, "c", 1, ifd, full, &e), HV_EIO, "sealing to a full device fails");
	ok(strstr(e.msg, "No space left") != NULL, "and says why: %s", e.msg);
	lseek(ifd, 0, SEEK_SET);
	is_int(hv_open_fd(sym, "c", 1, ifd, full, &e), HV_EIO, "opening to a full device fails");
	ok(strstr(e.msg, "No space left") != NULL, "and says why: %s", e.msg);
	hv_buf_release(&s);
	close(full);
	close(ifd);
	unlink(in);
}

#include "vectors.h"

int
main(void)
{
	uint8_t k1[32], k2[32], i1[32], i2[32];

	hv_random(k1, 32, NULL);
	hv_random(k2, 32, NULL);
	hv_random(i1, 32, NULL);
	hv_random(i2, 32, NULL);
	hv_seal_key_symmetric(&sym, k1, NULL);
	hv_seal_key_symmetric(&sym2, k2, NULL);
	hv_seal_key_identity(&ident, i1, NULL);
	hv_seal_key_identity(&ident2, i2, NULL);
	hv_seal_key_recipient(&rcpt, ident->pub, NULL);

	test_round_trips();
	test_keys_and_contexts();
	test_bit_flips(sym, sym, "symmetric");
	test_bit_flips(rcpt, ident, "recipient");
	test_structure();
	test_fd_retract();
	test_fd_round_trips();
	test_fd_write_error();
	test_vectors();

	hv_seal_key_free(sym);
	hv_seal_key_free(sym2);
	hv_seal_key_free(ident);
	hv_seal_key_free(ident2);
	hv_seal_key_free(rcpt);
	return tap_done();
}
