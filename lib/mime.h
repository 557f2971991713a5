/*
 * mime: the two headers hv keeps of a message, read from its raw bytes.
 *
 * Message-ID and Subject, from the header section of an RFC 5322 message
 * as Gmail hands it over (format=raw): folded lines unfolded, RFC 2047
 * encoded words decoded from any charset iconv knows into UTF-8, and 8-bit
 * text that is not UTF-8 taken as Latin-1.  Nothing else is kept; the
 * rest of the message is not looked at.
 */
#ifndef HV_MIME_H
#define HV_MIME_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HV_MIME_ID_MAX 998		/* a header line's limit */
#define HV_MIME_SUBJECT_MAX 4096	/* decoded UTF-8 bytes kept */

enum hv_mime_flags {
	HV_MIME_NO_ID = 1,		/* no usable Message-ID: one was made */
	HV_MIME_DUP_ID = 2,		/* Message-IDs that disagree: one was made */
	HV_MIME_BAD_HEADER = 4,		/* a line that is not a header was skipped */
	HV_MIME_SUBJECT_CUT = 8,	/* the subject was longer than kept */
};

struct hv_mime_ids {
	char message_id[HV_MIME_ID_MAX + 1];	/* "<...>" */
	struct hv_buf subject;			/* owned, UTF-8, may be empty */
	unsigned flags;				/* enum hv_mime_flags */
};

/*
 * Read raw (len bytes).  When the message has no single well-formed
 * Message-ID, a stable one is made from gmail_id ("<gmail-ID@hv.invalid>")
 * and a flag says why, so the caller can say so.  Never fails on
 * malformed input; returns 0, or HV_EDATA only when gmail_id is needed
 * and unusable.
 */
int hv_mime_ids(struct hv_mime_ids *m, const void *raw, size_t len, const char *gmail_id,
    struct hv_err *e);
void hv_mime_ids_release(struct hv_mime_ids *m);

/*
 * A Message-ID as a person types it, with or without its angle brackets
 * (a shell makes them a chore), in the form the header has and the index
 * keys: "<...>" into out, of size HV_MIME_ID_MAX + 1.  Blanks around it
 * are dropped.  HV_EUSAGE when it is empty, too long, has one bracket
 * without the other, or brackets or blanks inside.
 */
int hv_mime_id_canon(char out[HV_MIME_ID_MAX + 1], const char *in, struct hv_err *e);

/* Decode a header value's encoded words into UTF-8, appending to out. */
int hv_mime_decode_words(struct hv_buf *out, const char *s, size_t n);

#endif
