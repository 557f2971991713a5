/* mime: Message-ID and Subject from real-world headers, odd ones included. */
#include <string.h>

#include "mime.h"
#include "tap.h"

static const struct {
	const char *name, *raw, *id, *subject;
	unsigned flags;
} cases[] = {
	{ "plain", "Message-ID: <a@b>\r\nSubject: Hello\r\n\r\nbody",
	    "<a@b>", "Hello", 0 },
	{ "LF only, lower-case names", "message-id: <x.1@host>\nsubject: hi there\n\nSubject: not this",
	    "<x.1@host>", "hi there", 0 },
	{ "folded subject", "Subject: a long\r\n  subject line\r\nMessage-Id: <f@g>\r\n\r\n",
	    "<f@g>", "a long  subject line", 0 },
	{ "folded Message-ID", "Message-ID:\r\n <folded@example.com>\r\n\r\n",
	    "<folded@example.com>", "", 0 },
	{ "base64 UTF-8 word", "Subject: =?UTF-8?B?w6l0w6k=?=\n\n",
	    "<gmail-1a2b@hv.invalid>", "\xc3\xa9t\xc3\xa9", 1 },
	{ "Q word with underscore", "Message-ID: <q@x>\nSubject: =?iso-8859-1?Q?caf=E9_cr=E8me?=\n\n",
	    "<q@x>", "caf\xc3\xa9 cr\xc3\xa8me", 0 },
	{ "adjacent words join", "Message-ID: <j@x>\nSubject: =?UTF-8?Q?a?= =?UTF-8?Q?b?=\n\n",
	    "<j@x>", "ab", 0 },
	{ "words and text", "Message-ID: <w@x>\nSubject: Re: =?utf-8?q?na=C3=AFve?= idea\n\n",
	    "<w@x>", "Re: na\xc3\xafve idea", 0 },
	{ "folded words", "Message-ID: <fw@x>\nSubject: =?UTF-8?B?SGVs?=\n =?UTF-8?B?bG8=?=\n\n",
	    "<fw@x>", "Hello", 0 },
	{ "Shift_JIS", "Message-ID: <sj@x>\nSubject: =?Shift_JIS?B?k/qWe4zq?=\n\n",
	    "<sj@x>", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0 },
	{ "KOI8-R", "Message-ID: <k@x>\nSubject: =?koi8-r?B?8NLJ18XU?=\n\n",
	    "<k@x>", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0 },
	{ "language tag", "Message-ID: <l@x>\nSubject: =?utf-8*en?Q?hi?=\n\n",
	    "<l@x>", "hi", 0 },
	{ "unknown charset kept as is", "Message-ID: <u@x>\nSubject: =?x-nope?Q?a?=\n\n",
	    "<u@x>", "=?x-nope?Q?a?=", 0 },
	{ "broken word kept as is", "Message-ID: <b@x>\nSubject: =?utf-8?B?@@@?=\n\n",
	    "<b@x>", "=?utf-8?B?@@@?=", 0 },
	{ "raw 8-bit Latin-1", "Message-ID: <r@x>\nSubject: caf\xe9\n\n",
	    "<r@x>", "caf\xc3\xa9", 0 },
	{ "raw UTF-8 kept", "Message-ID: <u8@x>\nSubject: \xe2\x82\xac 5\n\n",
	    "<u8@x>", "\xe2\x82\xac 5", 0 },
	{ "control characters blanked", "Message-ID: <c@x>\nSubject: a\x1b[31mred\n\n",
	    "<c@x>", "a [31mred", 0 },
	{ "no Message-ID", "Subject: x\n\n", "<gmail-1a2b@hv.invalid>", "x", 1 },
	{ "a Message-ID without brackets", "Message-ID: a@b\nSubject: x\n\n",
	    "<gmail-1a2b@hv.invalid>", "x", 1 },
	{ "duplicate, differing", "Message-ID: <a@b>\nMessage-ID: <c@d>\n\n",
	    "<gmail-1a2b@hv.invalid>", "", 2 },
	{ "duplicate, same", "Message-ID: <a@b>\nMessage-ID: <a@b>\n\n", "<a@b>", "", 0 },
	{ "Message-ID with a comment", "Message-ID: (c) <cm@x> (more)\n\n", "<cm@x>", "", 0 },
	{ "garbage line skipped", "From x@y Mon\nMessage-ID: <g@x>\n\n", "<g@x>", "", 4 },
	{ "header in the body ignored", "Subject: s\n\nMessage-ID: <body@x>\n",
	    "<gmail-1a2b@hv.invalid>", "s", 1 },
	{ "empty input", "", "<gmail-1a2b@hv.invalid>", "", 1 },
	{ "no blank line", "Message-ID: <nb@x>\nSubject: end", "<nb@x>", "end", 0 },
};

/* A Message-ID as typed: with or without brackets, the same key. */
static void
test_id_canon(void)
{
	static const char *const same[] = { "<a@b>", "a@b", " <a@b> ", "\ta@b\t" };
	static const char *const bad[] = { "", "<>", "<a@b", "a@b>", "a b", "<a<b>" };
	struct hv_err e = { 0 };
	char out[HV_MIME_ID_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		is_int(hv_mime_id_canon(out, same[i], &e), 0, "id '%s' taken", same[i]);
		is_str(out, "<a@b>", "as <a@b>");
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(hv_mime_id_canon(out, bad[i], &e), HV_EUSAGE, "id '%s' refused", bad[i]);
}

int
main(void)
{
	struct hv_mime_ids m;
	struct hv_err e = { 0 };
	char big[20000];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		is_int(hv_mime_ids(&m, cases[i].raw, strlen(cases[i].raw), "1a2b", &e), 0,
		    "%s: parses", cases[i].name);
		is_str(m.message_id, cases[i].id, "%s: Message-ID", cases[i].name);
		is_str(m.subject.data ? m.subject.data : "", cases[i].subject, "%s: Subject",
		    cases[i].name);
		is_int(m.flags, cases[i].flags, "%s: flags", cases[i].name);
		hv_mime_ids_release(&m);
	}
	memcpy(big, "Message-ID: <big@x>\nSubject: ", 29);
	memset(big + 29, 'x', sizeof big - 29 - 3);
	memcpy(big + sizeof big - 3, "\n\n", 3);
	is_int(hv_mime_ids(&m, big, sizeof big - 1, "1", &e), 0, "a huge subject");
	ok(m.subject.len == HV_MIME_SUBJECT_MAX && (m.flags & HV_MIME_SUBJECT_CUT), "is cut and flagged");
	hv_mime_ids_release(&m);
	is_int(hv_mime_ids(&m, "Subject: x\n\n", 12, "../etc", &e), HV_EDATA,
	    "an unusable Gmail id when one is needed");
	hv_mime_ids_release(&m);
	test_id_canon();
	return tap_done();
}
