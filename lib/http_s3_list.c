/*
 * The ListObjectsV2 answer, parsed by hand: a strict subset of XML (a
 * prolog, elements, attributes that are skipped, text with the five named
 * entities and character references) and nothing else.  Anything outside
 * that subset is refused rather than guessed at.
 */
#include <stdlib.h>
#include <string.h>

#include "http_s3.h"
#include "banned.h"

#define DEPTH_MAX 8
#define NAME_MAX_ 64
#define TEXT_MAX (HV_S3_KEY_MAX * 2)

enum tok { T_END_DOC, T_OPEN, T_CLOSE, T_EMPTY, T_TEXT };

struct xml {
	const char *p, *end;
	const char *name;	/* of the last tag */
	size_t namelen;
	const char *text;	/* raw text of the last T_TEXT */
	size_t textlen;
};

struct listing {
	char stack[DEPTH_MAX][NAME_MAX_];
	int depth;
	struct hv_buf text;	/* decoded text of the current element */
	struct hv_buf key;
	char modified[64];
	long long size;
	int have_key, have_size;
	hv_s3_list_fn fn;
	void *arg;
	int *truncated;
	struct hv_buf *next;
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-' || c == '.' || c == ':';
}

/* Skip attributes to the end of a tag; 1 when it was "/>". */
static int
skip_attributes(struct xml *x)
{
	char quote = 0;

	for (; x->p < x->end; x->p++) {
		if (quote) {
			if (*x->p == quote)
				quote = 0;
			else if (*x->p == '<')
				return HV_EPROTO;
		} else if (*x->p == '"' || *x->p == '\'') {
			quote = *x->p;
		} else if (*x->p == '>') {
			x->p++;
			return 0;
		} else if (*x->p == '/' && x->p + 1 < x->end && x->p[1] == '>') {
			x->p += 2;
			return 1;
		} else if (*x->p == '<') {
			return HV_EPROTO;
		}
	}
	return HV_EPROTO;
}

static int
read_tag(struct xml *x, enum tok *t)
{
	int close = 0, r;

	x->p++;
	if (x->p < x->end && *x->p == '/') {
		close = 1;
		x->p++;
	}
	x->name = x->p;
	while (x->p < x->end && name_char(*x->p))
		x->p++;
	x->namelen = (size_t)(x->p - x->name);
	if (x->namelen == 0 || x->namelen >= NAME_MAX_)
		return HV_EPROTO;
	if (close) {
		while (x->p < x->end && is_space(*x->p))
			x->p++;
		if (x->p >= x->end || *x->p != '>')
			return HV_EPROTO;
		x->p++;
		*t = T_CLOSE;
		return 0;
	}
	if (x->p < x->end && !is_space(*x->p) && *x->p != '>' && *x->p != '/')
		return HV_EPROTO;
	if ((r = skip_attributes(x)) < 0)
		return r;
	*t = r ? T_EMPTY : T_OPEN;
	return 0;
}

static int
next_token(struct xml *x, enum tok *t)
{
	const char *lt;

	if (x->p >= x->end) {
		*t = T_END_DOC;
		return 0;
	}
	if (*x->p != '<') {
		lt = memchr(x->p, '<', (size_t)(x->end - x->p));
		x->text = x->p;
		x->p = lt ? lt : x->end;
		x->textlen = (size_t)(x->p - x->text);
		*t = T_TEXT;
		return 0;
	}
	/* Comments, CDATA, DTDs and processing instructions past the prolog
	 * have no place in a listing. */
	if (x->p + 1 < x->end && (x->p[1] == '!' || x->p[1] == '?'))
		return HV_EPROTO;
	return read_tag(x, t);
}

static int
put_utf8(struct hv_buf *b, unsigned long c)
{
	char u[4];
	size_t n;

	if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return HV_EPROTO;
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	return hv_buf_add(b, u, n) < 0 ? HV_EPROTO : 0;
}

static int
char_ref(struct hv_buf *b, const char *s, size_t n)
{
	unsigned long c = 0;
	size_t i = 1;
	int base = 10, d;

	if (n > 1 && s[1] == 'x') {
		base = 16;
		i = 2;
	}
	if (i >= n || n - i > 8)
		return HV_EPROTO;
	for (; i < n; i++) {
		d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    base == 16 && s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 :
		    base == 16 && s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : -1;
		if (d < 0)
			return HV_EPROTO;
		c = c * (unsigned long)base + (unsigned long)d;
	}
	return put_utf8(b, c);
}

/* Append text (n bytes) to b with its entities decoded. */
static int
decode_text(struct hv_buf *b, const char *s, size_t n)
{
	static const char *const names[] = { "amp", "lt", "gt", "quot", "apos" };
	static const char chars[] = "&<>\"'";
	const char *semi;
	size_t len, i;

	while (n > 0) {
		if (*s != '&') {
			if (*s == '\0' || *s == '>' || hv_buf_add(b, s, 1) < 0)
				return HV_EPROTO;
			s++;
			n--;
			continue;
		}
		if ((semi = memchr(s, ';', n < 12 ? n : 12)) == NULL)
			return HV_EPROTO;
		len = (size_t)(semi - s - 1);
		for (i = 0; i < 5; i++)
			if (strlen(names[i]) == len && memcmp(s + 1, names[i], len) == 0)
				break;
		if (i < 5) {
			if (hv_buf_add(b, &chars[i], 1) < 0)
				return HV_EPROTO;
		} else if (len < 2 || s[1] != '#' || char_ref(b, s + 1, len) < 0) {
			return HV_EPROTO;
		}
		n -= len + 2;
		s = semi + 1;
	}
	return 0;
}

static int
at(const struct listing *l, int depth, const char *name)
{
	return l->depth == depth && strcmp(l->stack[depth - 1], name) == 0;
}

static int
parse_size(const char *s, long long *out)
{
	long long v = 0;

	if (*s == '\0' || strlen(s) > 18)
		return HV_EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return HV_EPROTO;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* An element closes: what its text means depends on where it is. */
static int
element_end(struct listing *l)
{
	const char *t = l->text.data ? l->text.data : "";
	struct hv_s3_object o;

	if (at(l, 3, "Key") && strcmp(l->stack[1], "Contents") == 0) {
		if (l->text.len == 0 || l->text.len > HV_S3_KEY_MAX)
			return HV_EPROTO;
		hv_buf_reset(&l->key);
		l->have_key = hv_buf_add(&l->key, t, l->text.len) == 0;
	} else if (at(l, 3, "Size") && strcmp(l->stack[1], "Contents") == 0) {
		if (parse_size(t, &l->size) < 0)
			return HV_EPROTO;
		l->have_size = 1;
	} else if (at(l, 3, "LastModified") && strcmp(l->stack[1], "Contents") == 0) {
		if (l->text.len >= sizeof l->modified)
			return HV_EPROTO;
		memcpy(l->modified, t, l->text.len + 1);
	} else if (at(l, 2, "Contents")) {
		if (!l->have_key || !l->have_size)
			return HV_EPROTO;
		o.key = l->key.data;
		o.size = l->size;
		o.modified = l->modified;
		l->have_key = l->have_size = 0;
		l->modified[0] = '\0';
		return l->fn(&o, l->arg);
	} else if (at(l, 2, "IsTruncated")) {
		if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
			return HV_EPROTO;
		*l->truncated = t[0] == 't';
	} else if (at(l, 2, "NextContinuationToken")) {
		hv_buf_reset(l->next);
		if (hv_buf_add(l->next, t, l->text.len) < 0)
			return HV_EPROTO;
	}
	return 0;
}

static int
element_open(struct listing *l, const struct xml *x)
{
	if (l->depth == DEPTH_MAX)
		return HV_EPROTO;
	memcpy(l->stack[l->depth], x->name, x->namelen);
	l->stack[l->depth][x->namelen] = '\0';
	l->depth++;
	if (l->depth == 1 && strcmp(l->stack[0], "ListBucketResult") != 0)
		return HV_EPROTO;
	if (l->depth == 2 && strcmp(l->stack[1], "Contents") == 0) {
		l->have_key = l->have_size = 0;
		l->modified[0] = '\0';
	}
	hv_buf_reset(&l->text);
	return 0;
}

static int
element_close(struct listing *l, const struct xml *x)
{
	int r;

	if (l->depth == 0 || strlen(l->stack[l->depth - 1]) != x->namelen ||
	    memcmp(l->stack[l->depth - 1], x->name, x->namelen) != 0)
		return HV_EPROTO;
	r = element_end(l);
	l->depth--;
	hv_buf_reset(&l->text);
	return r;
}

static int
text(struct listing *l, const struct xml *x)
{
	size_t i;

	if (l->depth == 0) {
		for (i = 0; i < x->textlen; i++)
			if (!is_space(x->text[i]))
				return HV_EPROTO;
		return 0;
	}
	return decode_text(&l->text, x->text, x->textlen);
}

static int
walk(struct listing *l, struct xml *x)
{
	int r = 0, roots = 0;
	enum tok t;

	do {
		if ((r = next_token(x, &t)) < 0)
			return r;
		switch (t) {
		case T_OPEN:
			roots += l->depth == 0;
			r = roots > 1 ? HV_EPROTO : element_open(l, x);
			break;
		case T_EMPTY:
			if ((r = element_open(l, x)) == 0)
				r = element_close(l, x);
			break;
		case T_CLOSE:
			r = element_close(l, x);
			break;
		case T_TEXT:
			r = text(l, x);
			break;
		case T_END_DOC:
			r = l->depth == 0 && roots == 1 ? 0 : HV_EPROTO;
			break;
		}
	} while (r == 0 && t != T_END_DOC);
	return r;
}

static void
skip_prolog(struct xml *x)
{
	const char *q;

	while (x->p < x->end && is_space(*x->p))
		x->p++;
	if (x->end - x->p > 5 && memcmp(x->p, "<?xml", 5) == 0 &&
	    (q = memmem(x->p, (size_t)(x->end - x->p), "?>", 2)) != NULL)
		x->p = q + 2;
}

int
hv_s3_list_parse(const char *xml, size_t len, hv_s3_list_fn fn, void *arg,
    int *truncated, struct hv_buf *next, struct hv_err *e)
{
	struct listing l;
	struct xml x = { xml, xml + len, NULL, 0, NULL, 0 };
	int r;

	memset(&l, 0, sizeof l);
	hv_buf_init(&l.text, TEXT_MAX);
	hv_buf_init(&l.key, HV_S3_KEY_MAX);
	l.fn = fn;
	l.arg = arg;
	l.truncated = truncated;
	l.next = next;
	*truncated = 0;
	skip_prolog(&x);
	r = walk(&l, &x);
	if (r == HV_EPROTO)
		hv_err_set(e, HV_EPROTO, "the object listing is not a well-formed "
		    "ListObjectsV2 answer (near byte %zu)", (size_t)(x.p - xml));
	hv_buf_release(&l.text);
	hv_buf_release(&l.key);
	return r;
}
