/* audit_format: the text of hv-audit(5) lines: hex, times, JSON strings,
 * the fixed places of a line, the checkpoint key's text. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "banned.h"

static const char hexdigits[] = "0123456789abcdef";

void
audit_hex_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
}

/* Each hex digit's value plus one; 0 for anything else.  A table, not
 * branches: digits and letters alternate at random in a hash. */
static const uint8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16,
};

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/*
 * Eight hex digits at a time, as bytes of a word: the verifier decodes two
 * hashes a line, and a byte at a time was a tenth of its time.  No byte
 * has its top bit set (checked first), so adding to a byte never carries
 * into the next: each range test is an add and a look at bit 7.  A digit
 * is its low nibble, a letter a-f its low nibble plus 9 (bit 6 set).
 */
static int
hex_decode8(uint8_t out[4], const unsigned char *in)
{
	uint64_t x, digit, letter, v;

	memcpy(&x, in, 8);
	x = le64toh(x);
	digit = (x + 0x50 * ONES) & ~(x + 0x46 * ONES);
	letter = (x + 0x1f * ONES) & ~(x + 0x19 * ONES);
	v = (x & 0x0f * ONES) + 9 * ((x >> 6) & ONES);
	v = (v << 4 | v >> 8);
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 32);
	out[3] = (uint8_t)(v >> 48);
	return (x & HIGH) == 0 && ((digit | letter) & HIGH) == HIGH ? 0 : -1;
}

/* 2n lowercase hex digits into n bytes: 0, or -1 for a bad digit. */
int
audit_hex_decode(uint8_t *out, const char *in, size_t n)
{
	const unsigned char *u = (const unsigned char *)in;
	unsigned bad = 0, hi, lo;
	size_t i;

	for (i = 0; i + 4 <= n; i += 4)
		bad |= hex_decode8(out + i, u + 2 * i) != 0;
	for (; i < n; i++) {
		hi = hexval[u[2 * i]];
		lo = hexval[u[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 15));
	}
	return bad ? -1 : 0;
}

int
audit_is_hex(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned bad = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bad |= hexval[u[i]] == 0;
	return !bad;
}

/* A full disk, or the user's quota: said as such, never as tampering. */
int
audit_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

void
hv_audit_format_time(char out[28], time_t t, long usec)
{
	struct tm tm;
	char buf[96];

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		memset(&tm, 0, sizeof tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec % 1000000);
	memcpy(out, buf, 27);
	out[27] = '\0';
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

int
hv_audit_parse_time(const char *s, size_t len, time_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t i = 19;

	memset(&tm, 0, sizeof tm);
	if (len < 10 || digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &d) < 0)
		return HV_EDATA;
	if (len > 10) {
		if (len < 20 || s[10] != 'T' || digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
		    digits(s + 14, 2, &mi) < 0 || s[16] != ':' || digits(s + 17, 2, &sec) < 0)
			return HV_EDATA;
		if (s[i] == '.')
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				;
		if (i != len - 1 || s[i] != 'Z')
			return HV_EDATA;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return HV_EDATA;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

/*
 * A JSON string of at most max bytes of s: escapes as RFC 8259 requires,
 * bytes that are not UTF-8 replaced by U+FFFD, longer text cut at a
 * character boundary and marked with "...".
 */
int
audit_add_string(struct hv_buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0, n, i;
	uint32_t cp;
	int r = hv_buf_add(b, "\"", 1);

	while (r == 0 && *p) {
		n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		cp = n == 1 ? *p : n == 2 ? *p & 0x1fu : n == 3 ? *p & 0x0fu : *p & 0x07u;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if (n == 0 || (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
			n = 1;
			cp = 0xfffd;
		}
		if (used + n > max) {
			r = hv_buf_adds(b, "...");
			break;
		}
		used += n;
		if (cp == 0xfffd && (*p & 0x80) && n == 1)
			r = hv_buf_adds(b, "\xef\xbf\xbd");
		else if (cp == '"' || cp == '\\')
			r = hv_buf_addf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			r = hv_buf_adds(b, "\\n");
		else if (cp == '\t')
			r = hv_buf_adds(b, "\\t");
		else if (cp == '\r')
			r = hv_buf_adds(b, "\\r");
		else if (cp < 0x20 || cp == 0x7f)
			r = hv_buf_addf(b, "\\u%04x", (unsigned)cp);
		else
			r = hv_buf_add(b, p, n);
		p += n;
	}
	return r == 0 ? hv_buf_add(b, "\"", 1) : r;
}


int
audit_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}
/* ---- lines ---- */

int
hv_audit_parse(struct hv_audit_line *l, const char *s, size_t len, struct hv_err *e)
{
	const char *p = s, *end = s + len, *t;
	int v;
	size_t i;

	memset(l, 0, sizeof *l);
	if (len < sizeof VERSION_PREFIX - 1 || memcmp(s, VERSION_PREFIX, 5) != 0)
		return hv_err_set(e, HV_EDATA, "not an hv-audit(5) line");
	for (p += 5, v = 0, i = 0; p < end && *p >= '0' && *p <= '9' && i < 6; p++, i++)
		v = v * 10 + (*p - '0');
	if (i == 0)
		return hv_err_set(e, HV_EDATA, "not an hv-audit(5) line");
	if (v != 1)
		return hv_err_set(e, HV_EDATA, "unknown version %d", v);
	if ((size_t)(end - p) < sizeof SEQ_KEY - 1 || memcmp(p, SEQ_KEY, 7) != 0)
		return hv_err_set(e, HV_EDATA, "no seq where it belongs");
	for (p += 7, i = 0; p < end && *p >= '0' && *p <= '9' && i < 19; p++, i++)
		l->seq = l->seq * 10 + (uint64_t)(*p - '0');
	if (i == 0 || (i > 1 && p[-(long)i] == '0'))
		return hv_err_set(e, HV_EDATA, "bad seq");
	t = p + sizeof TIME_KEY - 1;
	if ((size_t)(end - p) < sizeof TIME_KEY - 1 + TIME_LEN + sizeof ACTION_KEY - 1 ||
	    memcmp(p, TIME_KEY, sizeof TIME_KEY - 1) != 0 ||
	    memcmp(t + TIME_LEN, ACTION_KEY, sizeof ACTION_KEY - 1) != 0)
		return hv_err_set(e, HV_EDATA, "no time where it belongs");
	for (i = 0; i < TIME_LEN; i++)
		if (("dddd-dd-ddTdd:dd:dd.ddddddZ"[i] == 'd') ? (t[i] < '0' || t[i] > '9') :
		    t[i] != "dddd-dd-ddTdd:dd:dd.ddddddZ"[i])
			return hv_err_set(e, HV_EDATA, "bad time");
	l->time = t;
	p = t + TIME_LEN + sizeof ACTION_KEY - 1;
	l->checkpoint = (size_t)(end - p) > 17 && memcmp(p, "audit.checkpoint\"", 17) == 0;
	l->repair = (size_t)(end - p) > 13 && memcmp(p, "audit.repair\"", 13) == 0;
	if ((size_t)(end - p) < PREV_TAIL + MAC_TAIL + (l->checkpoint ? SIG_TAIL : 0))
		return hv_err_set(e, HV_EDATA, "too short");
	t = end - MAC_TAIL;
	if (memcmp(t, MAC_KEY, 8) != 0 || audit_hex_decode(l->macb, t + 8, 32) < 0 ||
	    memcmp(t + 72, "\"}", 2) != 0)
		return hv_err_set(e, HV_EDATA, "no mac where it belongs");
	l->mac = t + 8;
	l->bodylen = len - MAC_TAIL;
	t -= PREV_TAIL;
	if (memcmp(t, PREV_KEY, 9) != 0 || audit_hex_decode(l->prevb, t + 9, 32) < 0 || t[73] != '"')
		return hv_err_set(e, HV_EDATA, "no prev where it belongs");
	l->prev = t + 9;
	if (!l->checkpoint)
		return 0;
	t -= SIG_TAIL;
	if (memcmp(t, SIG_KEY, 8) != 0 || !audit_is_hex(t + 8, 128) || t[136] != '"')
		return hv_err_set(e, HV_EDATA, "checkpoint without a signature");
	l->sig = t + 8;
	return 0;
}

/* The text a checkpoint signs: its seq, its time and the chain before it. */
size_t
audit_checkpoint_msg(char *out, size_t max, uint64_t seq, const char *time, const char *prevhex)
{
	int n = snprintf(out, max, CHECKPOINT_MSG "%llu\n%.27s\n%.64s\n",
	    (unsigned long long)seq, time, prevhex);

	return n < 0 ? 0 : (size_t)n;
}

void
audit_line_hash(struct hv_sha256 *sha, uint8_t out[32], const char *line, size_t len)
{
	hv_sha256_update(sha, line, len);
	hv_sha256_update(sha, "\n", 1);
	hv_sha256_final(sha, out);
}

/* K_{i+1} = HMAC(K_i, "next"); the old key is overwritten in place. */
void
audit_ratchet(struct hv_hmac *h, uint8_t key[32])
{
	hv_hmac_mac(h, key, "next", 4, NULL, 0);
	hv_hmac_setkey(h, key);
}

int
audit_pubkey_encode(struct hv_buf *out, const uint8_t pub[32])
{
	uint8_t raw[36], sum[32];
	uint8_t in[sizeof PUBKEY_PREFIX - 1 + 32];

	memcpy(in, PUBKEY_PREFIX, sizeof PUBKEY_PREFIX - 1);
	memcpy(in + sizeof PUBKEY_PREFIX - 1, pub, 32);
	hv_sha256(sum, in, sizeof in);
	memcpy(raw, pub, 32);
	memcpy(raw + 32, sum, 4);
	if (hv_buf_adds(out, PUBKEY_PREFIX) < 0)
		return HV_EDATA;
	return hv_b64url_encode(out, raw, sizeof raw);
}

int
hv_audit_pubkey_decode(const char *text, size_t len, uint8_t pub[32], struct hv_err *e)
{
	const size_t plen = sizeof PUBKEY_PREFIX - 1;
	uint8_t raw[36], sum[32], in[sizeof PUBKEY_PREFIX - 1 + 32];
	size_t n;

	while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r'))
		text++, len--;
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
	    text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len < plen || memcmp(text, PUBKEY_PREFIX, plen) != 0)
		return hv_err_set(e, HV_EDATA, "not a checkpoint key (hvsig1...)");
	if (hv_b64url_decode(text + plen, len - plen, raw, sizeof raw, &n) < 0 || n != 36)
		return hv_err_set(e, HV_EDATA, "checkpoint key: bad characters or length");
	memcpy(in, PUBKEY_PREFIX, plen);
	memcpy(in + plen, raw, 32);
	hv_sha256(sum, in, sizeof in);
	if (memcmp(sum, raw + 32, 4) != 0)
		return hv_err_set(e, HV_EDATA, "checkpoint key: bad checksum (mistyped?)");
	memcpy(pub, raw, 32);
	return 0;
}

void
hv_audit_msgid(char out[HV_AUDIT_MSGID_LEN + 1], const uint8_t key[32],
    const char *msgid, size_t len)
{
	uint8_t mac[32];

	hv_hmac_sha256(mac, key, 32, msgid, len);
	audit_hex_encode(out, mac, HV_AUDIT_MSGID_LEN / 2);
	out[HV_AUDIT_MSGID_LEN] = '\0';
}


/* ---- the audit.repair event ---- */

static int
repair_number(const struct hv_json *target, const char *key, uint64_t *out)
{
	size_t n;
	const char *s = hv_json_get_strn(target, key, &n);

	return s == NULL || n == 0 || n > 20 || strlen(s) != n || audit_parse_u64(s, out) < 0 ?
	    -1 : 0;
}

int
hv_audit_parse_repair(const char *line, size_t len, struct hv_audit_repair_info *ri,
    struct hv_err *e)
{
	struct hv_audit_line l;
	struct hv_json *j = NULL, *target = NULL;
	const char *user;
	size_t i;
	int r = HV_EDATA;

	memset(ri, 0, sizeof *ri);
	if (hv_audit_parse(&l, line, len, e) < 0)
		return HV_EDATA;
	if (!l.repair)
		return hv_err_set(e, HV_EDATA, "seq %llu: not an audit.repair line",
		    (unsigned long long)l.seq);
	if (hv_json_parse(line, len, &j, NULL) < 0 || (target = hv_json_get(j, "target")) == NULL ||
	    repair_number(target, "first_lost", &ri->first_lost) < 0 ||
	    repair_number(target, "last_lost", &ri->last_lost) < 0)
		hv_err_set(e, HV_EDATA, "seq %llu: malformed (an audit.repair without its "
		    "first_lost and last_lost)", (unsigned long long)l.seq);
	else if (ri->first_lost > ri->last_lost || ri->last_lost >= l.seq ||
	    l.seq - ri->first_lost > HV_AUDIT_REPAIR_MAX)
		hv_err_set(e, HV_EDATA, "seq %llu: malformed (an audit.repair of seq %llu to "
		    "%llu)", (unsigned long long)l.seq, (unsigned long long)ri->first_lost,
		    (unsigned long long)ri->last_lost);
	else
		r = 0;
	if (r == 0) {
		/* For messages: printable ASCII only, whatever the line holds. */
		user = hv_json_get_str(j, "user");
		snprintf(ri->user, sizeof ri->user, "%s", user != NULL ? user : "?");
		for (i = 0; ri->user[i]; i++)
			if (ri->user[i] < 0x21 || ri->user[i] > 0x7e)
				ri->user[i] = '?';
		memcpy(ri->time, l.time, TIME_LEN);
		ri->time[TIME_LEN] = '\0';
	}
	hv_json_free(target);
	hv_json_free(j);
	return r;
}
