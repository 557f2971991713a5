#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mime.h"
#include "banned.h"

#define HEADER_MAX (256 * 1024)	/* past this, the header section is cut */

/* Append s as UTF-8: itself when it is valid UTF-8, else read as Latin-1. */
static int
add_text(struct hv_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;
	int valid = 1;

	while (i < n && valid) {
		len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 :
		    (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n || (len == 2 && p[i] < 0xc2))
			valid = 0;
		for (k = 1; valid && k < len; k++)
			valid = (p[i + k] & 0xc0) == 0x80;
		i += len ? len : 1;
	}
	if (valid)
		return hv_buf_add(out, s, n);
	for (i = 0; i < n; i++) {
		char two[2] = { (char)(0xc0 | p[i] >> 6), (char)(0x80 | (p[i] & 0x3f)) };

		if (hv_buf_add(out, p[i] < 0x80 ? s + i : two, p[i] < 0x80 ? 1 : 2) < 0)
			return HV_EDATA;
	}
	return 0;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* The bytes an encoded word's text stands for. */
static int
word_bytes(struct hv_buf *out, char enc, const char *t, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t i;
	int bits = 0, hi, lo;
	char c;
	const char *v;

	for (i = 0; i < n; i++) {
		if (enc == 'Q') {
			c = t[i] == '_' ? ' ' : t[i];
			if (t[i] == '=' && i + 2 < n &&
			    (hi = hexval((unsigned char)t[i + 1])) >= 0 &&
			    (lo = hexval((unsigned char)t[i + 2])) >= 0) {
				c = (char)(hi << 4 | lo);
				i += 2;
			}
			if (hv_buf_add(out, &c, 1) < 0)
				return HV_EDATA;
			continue;
		}
		if (t[i] == '=')
			break;
		if ((v = strchr(b64, t[i])) == NULL || t[i] == '\0')
			return HV_EDATA;
		acc = acc << 6 | (uint32_t)(v - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			c = (char)(acc >> bits);
			if (hv_buf_add(out, &c, 1) < 0)
				return HV_EDATA;
		}
	}
	return 0;
}

/* Convert n bytes in charset to UTF-8; HV_EDATA for an unknown charset. */
static int
to_utf8(struct hv_buf *out, const char *charset, const char *s, size_t n)
{
	char buf[1024], *in = (char *)s, *o;
	size_t inleft = n, oleft;
	iconv_t cd;
	int r = 0;

	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0)
		return add_text(out, s, n);
	if ((cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return HV_EDATA;
	while (inleft > 0 && r == 0) {
		o = buf;
		oleft = sizeof buf;
		if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1 && errno != E2BIG) {
			/* A byte the charset does not have: skip it, keep going. */
			in++;
			inleft--;
		}
		r = hv_buf_add(out, buf, sizeof buf - oleft);
	}
	iconv_close(cd);
	return r;
}

/* At s: "=?charset?E?text?=" -> 1 and its parts, else 0. */
static int
parse_word(const char *s, size_t n, char *charset, size_t cs_max, char *enc,
    const char **text, size_t *tlen, size_t *wlen)
{
	const char *q1, *q2, *end;
	size_t cl;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	if ((q1 = memchr(s + 2, '?', n - 2)) == NULL || q1 + 3 >= s + n || q1[2] != '?')
		return 0;
	*enc = (char)toupper((unsigned char)q1[1]);
	if (*enc != 'B' && *enc != 'Q')
		return 0;
	q2 = q1 + 3;
	for (end = q2; end + 1 < s + n && !(end[0] == '?' && end[1] == '='); end++)
		if (*end == ' ' || *end == '\t')
			return 0;
	if (end + 1 >= s + n)
		return 0;
	cl = (size_t)(q1 - (s + 2));
	if (cl == 0 || cl >= cs_max)
		return 0;
	memcpy(charset, s + 2, cl);
	charset[cl] = '\0';
	/* RFC 2231 language tag: "utf-8*en". */
	if (strchr(charset, '*'))
		*strchr(charset, '*') = '\0';
	*text = q2;
	*tlen = (size_t)(end - q2);
	*wlen = (size_t)(end + 2 - s);
	return 1;
}

int
hv_mime_decode_words(struct hv_buf *out, const char *s, size_t n)
{
	struct hv_buf bytes = HV_BUF_INIT(HEADER_MAX);
	char charset[64], enc;
	const char *text;
	size_t i = 0, tlen, wlen, ws, pending = 0;
	int after_word = 0, r = 0;

	while (i < n && r == 0) {
		if (parse_word(s + i, n - i, charset, sizeof charset, &enc, &text, &tlen, &wlen)) {
			hv_buf_reset(&bytes);
			/* White space between two encoded words is not text. */
			if (!after_word && pending)
				r = add_text(out, s + i - pending, pending);
			pending = 0;
			if (r == 0 && (word_bytes(&bytes, enc, text, tlen) < 0 ||
			    to_utf8(out, charset, bytes.data ? bytes.data : "", bytes.len) < 0))
				r = add_text(out, s + i, wlen);
			i += wlen;
			after_word = 1;
			continue;
		}
		for (ws = 0; i + ws < n && (s[i + ws] == ' ' || s[i + ws] == '\t'); ws++)
			;
		if (ws > 0) {
			pending = ws;
			i += ws;
			continue;
		}
		if (pending)
			r = add_text(out, s + i - pending, pending);
		pending = 0;
		after_word = 0;
		for (ws = i; ws < n && s[ws] != ' ' && s[ws] != '\t' &&
		    !(s[ws] == '=' && ws + 1 < n && s[ws + 1] == '?'); ws++)
			;
		if (ws == i)
			ws++;
		if (r == 0)
			r = add_text(out, s + i, ws - i);
		i = ws;
	}
	hv_buf_release(&bytes);
	return r;
}

/* The next unfolded header of the section at *p; 0 at its end. */
static int
next_header(const char **p, const char *end, struct hv_buf *line, unsigned *flags)
{
	const char *s = *p, *nl;
	size_t n;

	hv_buf_reset(line);
	for (;;) {
		if (s >= end)
			break;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl ? nl : end) - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0 && line->len == 0) {
			s = end;	/* the blank line: the body starts */
			break;
		}
		if (line->len > 0 && (s[0] == ' ' || s[0] == '\t')) {
			(void)hv_buf_add(line, s, n);	/* a fold: keep the blank */
		} else if (line->len > 0) {
			break;
		} else if (n > 0 && (s[0] == ' ' || s[0] == '\t' || !memchr(s, ':', n))) {
			*flags |= HV_MIME_BAD_HEADER;
		} else {
			(void)hv_buf_add(line, s, n);
		}
		s = nl ? nl + 1 : end;
		if (n == 0)
			break;
	}
	*p = s;
	return line->len > 0;
}

/* The first "<...>" of a Message-ID value, if well formed. */
static int
msgid_of(const char *v, size_t n, char *out)
{
	const char *lt = memchr(v, '<', n), *gt;
	size_t len, i;

	if (lt == NULL || (gt = memchr(lt, '>', (size_t)(v + n - lt))) == NULL)
		return 0;
	len = (size_t)(gt - lt + 1);
	if (len < 5 || len > HV_MIME_ID_MAX || !memchr(lt, '@', len))
		return 0;
	for (i = 1; i < len - 1; i++)
		if ((unsigned char)lt[i] <= ' ' || lt[i] == '<' || (unsigned char)lt[i] >= 0x7f)
			return 0;
	memcpy(out, lt, len);
	out[len] = '\0';
	return 1;
}

static int
header_is(const struct hv_buf *line, const char *name, const char **value, size_t *n)
{
	size_t k = strlen(name);
	const char *v;

	if (line->len <= k || strncasecmp(line->data, name, k) != 0 || line->data[k] != ':')
		return 0;
	for (v = line->data + k + 1; *v == ' ' || *v == '\t'; v++)
		;
	*value = v;
	*n = (size_t)(line->data + line->len - v);
	while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
		(*n)--;
	return 1;
}

int
hv_mime_ids(struct hv_mime_ids *m, const void *raw, size_t len, const char *gmail_id,
    struct hv_err *e)
{
	const char *p = raw, *end = p + (len > HEADER_MAX ? HEADER_MAX : len), *v;
	struct hv_buf line = HV_BUF_INIT(HEADER_MAX);
	char id[HV_MIME_ID_MAX + 1];
	size_t n, i;
	int ids = 0, subject = 0;

	m->message_id[0] = '\0';
	m->flags = 0;
	/* Room for the whole header; the cut to HV_MIME_SUBJECT_MAX comes after. */
	hv_buf_init(&m->subject, HEADER_MAX);
	while (next_header(&p, end, &line, &m->flags)) {
		if (header_is(&line, "Message-ID", &v, &n)) {
			if (!msgid_of(v, n, id))
				continue;
			if (ids++ == 0)
				memcpy(m->message_id, id, strlen(id) + 1);
			else if (strcmp(id, m->message_id) != 0)
				m->flags |= HV_MIME_DUP_ID;
		} else if (!subject && header_is(&line, "Subject", &v, &n)) {
			subject = 1;
			(void)hv_mime_decode_words(&m->subject, v, n);
		}
	}
	hv_buf_release(&line);
	if (m->subject.len > HV_MIME_SUBJECT_MAX) {
		/* Cut on a character boundary. */
		for (n = HV_MIME_SUBJECT_MAX; n > 0 && (m->subject.data[n] & 0xc0) == 0x80; n--)
			;
		m->subject.len = n;
		m->subject.data[n] = '\0';
		m->flags |= HV_MIME_SUBJECT_CUT;
	}
	/* Control characters would break a terminal or a log line. */
	for (i = 0; i < m->subject.len; i++)
		if ((unsigned char)m->subject.data[i] < ' ' || m->subject.data[i] == 0x7f)
			m->subject.data[i] = ' ';
	if (ids == 0)
		m->flags |= HV_MIME_NO_ID;
	if (ids == 0 || (m->flags & HV_MIME_DUP_ID)) {
		for (i = 0; gmail_id[i]; i++)
			if (!isalnum((unsigned char)gmail_id[i]) || i > 64)
				return hv_err_set(e, HV_EDATA, "unusable Gmail id '%.70s'", gmail_id);
		if (i == 0)
			return hv_err_set(e, HV_EDATA, "no Gmail id to make a Message-ID from");
		snprintf(m->message_id, sizeof m->message_id, "<gmail-%s@hv.invalid>", gmail_id);
	}
	return 0;
}

void
hv_mime_ids_release(struct hv_mime_ids *m)
{
	hv_buf_release(&m->subject);
}

int
hv_mime_id_canon(char out[HV_MIME_ID_MAX + 1], const char *in, struct hv_err *e)
{
	const char *p = in, *end;
	size_t n, i;

	out[0] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
		end--;
	if (end > p && (*p == '<') != (end[-1] == '>'))
		return hv_err_set(e, HV_EUSAGE, "'%s': a Message-ID has both its angle "
		    "brackets or neither", in);
	if (end > p && *p == '<') {
		p++;
		end--;
	}
	n = (size_t)(end - p);
	if (n == 0 || n + 2 > HV_MIME_ID_MAX)
		return hv_err_set(e, HV_EUSAGE, "'%s' is not a Message-ID", in);
	for (i = 0; i < n; i++)
		if (p[i] == '<' || p[i] == '>' || p[i] == ' ' || p[i] == '\t')
			return hv_err_set(e, HV_EUSAGE, "'%s' is not a Message-ID", in);
	snprintf(out, HV_MIME_ID_MAX + 1, "<%.*s>", (int)n, p);
	return 0;
}
