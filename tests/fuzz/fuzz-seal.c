/*
 * fuzz-seal: the hv-seal(5) reader.  Each input is parsed as a header and
 * opened, memory to memory and descriptor to descriptor, with a fixed
 * symmetric key and a fixed identity (their files are corpus/keys/; the
 * seeds are real files sealed to them by mkseeds-seal), so mutations reach
 * the segment code behind an authentic header.
 *
 * Invariants: a header that parses is one of the two documented shapes;
 * an open succeeds only behind a header that parses, and then yields
 * exactly what the segment arithmetic says, the same through both
 * drivers, and seals and opens back to itself; a failed open leaves no
 * output at all and says why in one line, as HV_EDATA or HV_EPERM.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "keys.h"
#include "seal.h"
#include "fuzz.h"
#include "banned.h"

#define CONTEXT "fuzz"
#define OUT_MAX (2 * 1024 * 1024)

static const char key_text[] = "hvkey1j3r0lFX0Eo1m4pGbcLbmZWiGnT-IfmPjFJTPbIAvq2KYJvht";
static const char id_text[] = "hvid1rw29XUmw-vOJ_MSvbRlWC8i-DNVVFsLL8rpCQDG5hcYxSopG";

static struct hv_seal_key *keys[2];	/* symmetric, identity */

static void
load_keys(void)
{
	uint8_t raw[HV_KEY_LEN];
	struct hv_err e = { 0 };

	if (hv_key_decode(key_text, strlen(key_text), HV_KEY_SYMMETRIC, raw, &e) < 0 ||
	    hv_seal_key_symmetric(&keys[0], raw, &e) < 0 ||
	    hv_key_decode(id_text, strlen(id_text), HV_KEY_IDENTITY, raw, &e) < 0 ||
	    hv_seal_key_identity(&keys[1], raw, &e) < 0) {
		fprintf(stderr, "fuzz-seal: fixed keys: %s\n", e.msg);
		abort();
	}
}

static void
check_header(const struct hv_seal_header *h, size_t size)
{
	CHECK(h->version == HV_SEAL_VERSION);
	CHECK(h->mode == HV_SEAL_SYMMETRIC || h->mode == HV_SEAL_RECIPIENT);
	CHECK(h->log2_segment >= HV_SEAL_LOG2_MIN && h->log2_segment <= HV_SEAL_LOG2_MAX);
	CHECK(h->len == (h->mode == HV_SEAL_RECIPIENT ? HV_SEAL_HDR_RECIPIENT :
	    HV_SEAL_HDR_SYMMETRIC));
	CHECK(h->len <= size);
}

/* Plaintext length of a stream of size bytes after its header. */
static size_t
expected_plain(const struct hv_seal_header *h, size_t size)
{
	size_t body = size - h->len, cseg = ((size_t)1 << h->log2_segment) + HV_SEAL_TAG_LEN;
	size_t nseg = body / cseg + (body % cseg != 0);

	return body - nseg * HV_SEAL_TAG_LEN;
}

static int
memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-seal", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(size == 0 || hv_write_all(fd, data, size) == 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* hv_open_fd must agree with hv_open_mem: same status, same bytes. */
static void
check_fd(const struct hv_seal_key *k, const uint8_t *data, size_t size, int r,
    const struct hv_buf *plain)
{
	struct hv_err e = { 0 };
	struct stat st;
	int in = memfd_with(data, size), out = memfd_with(NULL, 0), r2;
	uint8_t *back;

	r2 = hv_open_fd(k, CONTEXT, strlen(CONTEXT), in, out, &e);
	CHECK(r2 == r);
	CHECK(fstat(out, &st) == 0);
	if (r < 0) {
		CHECK(st.st_size == 0);
	} else {
		CHECK((size_t)st.st_size == plain->len);
		back = malloc(plain->len + 1);
		CHECK(back != NULL);
		CHECK(pread(out, back, plain->len, 0) == (ssize_t)plain->len);
		CHECK(memcmp(back, plain->data, plain->len) == 0);
		free(back);
	}
	close(in);
	close(out);
}

/* What opened must seal and open back to itself under the same key. */
static void
check_reseal(const struct hv_seal_key *k, const struct hv_buf *plain)
{
	struct hv_buf sealed = HV_BUF_INIT(OUT_MAX), again;
	struct hv_err e = { 0 };
	size_t nseg = plain->len / 65536 + (plain->len % 65536 != 0);

	hv_buf_init_secret(&again, OUT_MAX);
	CHECK(hv_seal_mem(k, CONTEXT, strlen(CONTEXT), plain->data, plain->len,
	    &sealed, &e) == 0);
	CHECK(sealed.len == (k->mode == HV_SEAL_RECIPIENT ? HV_SEAL_HDR_RECIPIENT :
	    HV_SEAL_HDR_SYMMETRIC) + plain->len + (nseg ? nseg : 1) * HV_SEAL_TAG_LEN);
	CHECK(hv_open_mem(k, CONTEXT, strlen(CONTEXT), sealed.data, sealed.len,
	    &again, &e) == 0);
	CHECK(again.len == plain->len);
	CHECK(memcmp(again.data, plain->data, plain->len) == 0);
	hv_buf_release(&sealed);
	hv_buf_release(&again);
}

static void
open_with(const struct hv_seal_key *k, const uint8_t *data, size_t size,
    int parsed, const struct hv_seal_header *h)
{
	struct hv_buf plain;
	struct hv_err e = { 0 };
	int r;

	hv_buf_init_secret(&plain, OUT_MAX);
	r = hv_open_mem(k, CONTEXT, strlen(CONTEXT), data, size, &plain, &e);
	if (r == 0) {
		CHECK(parsed && h->mode == k->mode);
		CHECK(size > h->len);
		CHECK(plain.len == expected_plain(h, size));
		CHECK(plain.data != NULL && plain.data[plain.len] == '\0');
	} else {
		CHECK(r == HV_EDATA || r == HV_EPERM);
		CHECK(e.code == r && one_line(e.msg));
		CHECK(parsed || r == HV_EDATA);
		CHECK(plain.len == 0);
		CHECK(plain.data == NULL || plain.data[0] == '\0');
	}
	check_fd(k, data, size, r, &plain);
	if (r == 0)
		check_reseal(k, &plain);
	hv_buf_release(&plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_seal_header h;
	struct hv_err e = { 0 };
	int r;

	if (keys[0] == NULL)
		load_keys();
	r = hv_seal_header_parse(&h, data, size, &e);
	if (r == 0)
		check_header(&h, size);
	else
		CHECK(r == HV_EDATA && e.code == HV_EDATA && one_line(e.msg));
	open_with(keys[0], data, size, r == 0, &h);
	open_with(keys[1], data, size, r == 0, &h);
	return 0;
}
