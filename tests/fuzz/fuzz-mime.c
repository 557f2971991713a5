/*
 * fuzz-mime: the header reader of raw mail (Message-ID, Subject).
 *
 * Invariants: it never fails with a usable Gmail id; the Message-ID is
 * "<...>" without blanks or controls; the subject is valid UTF-8 of at
 * most HV_MIME_SUBJECT_MAX bytes with no control character; decoding a
 * header value alone yields valid UTF-8 too.
 */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mime.h"
#include "fuzz.h"
#include "banned.h"

static int
valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0, k, len;

	while (i < n) {
		len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 :
		    (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return 0;
		for (k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_mime_ids m;
	struct hv_buf words = HV_BUF_INIT(1 << 20);
	struct hv_err e = { 0 };
	size_t i, n;

	CHECK(hv_mime_ids(&m, data, size, "18c2f0a1b2", &e) == 0);
	n = strlen(m.message_id);
	CHECK(n >= 3 && m.message_id[0] == '<' && m.message_id[n - 1] == '>');
	for (i = 0; i < n; i++)
		CHECK((unsigned char)m.message_id[i] > ' ' && m.message_id[i] != 0x7f);
	CHECK(m.subject.len <= HV_MIME_SUBJECT_MAX);
	CHECK(valid_utf8((const unsigned char *)(m.subject.data ? m.subject.data : ""),
	    m.subject.len));
	for (i = 0; i < m.subject.len; i++)
		CHECK((unsigned char)m.subject.data[i] >= ' ' && m.subject.data[i] != 0x7f);
	hv_mime_ids_release(&m);

	if (size < 4096 && hv_mime_decode_words(&words, (const char *)data, size) == 0)
		CHECK(valid_utf8((const unsigned char *)(words.data ? words.data : ""),
		    words.len));
	hv_buf_release(&words);
	return 0;
}
