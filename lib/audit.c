#include <dirent.h>
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
#include "buf.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "banned.h"

/* The fixed places of hv-audit(5): a line starts and ends like this. */
#define VERSION_PREFIX "{\"v\":"
#define SEQ_KEY ",\"seq\":"
#define TIME_KEY ",\"time\":\""
#define ACTION_KEY "\",\"action\":\""
#define PREV_KEY ",\"prev\":\""
#define MAC_KEY ",\"mac\":\""
#define SIG_KEY ",\"sig\":\""
#define TIME_LEN 27
#define MAC_TAIL (sizeof MAC_KEY - 1 + 64 + 2)		/* ,"mac":"<64>"} */
#define PREV_TAIL (sizeof PREV_KEY - 1 + 64 + 1)	/* ,"prev":"<64>" */
#define SIG_TAIL (sizeof SIG_KEY - 1 + 128 + 1)		/* ,"sig":"<128>" */
#define CHECKPOINT_MSG "hv-audit checkpoint 1\n"
#define PUBKEY_PREFIX "hvsig1"

#define STATE_MAX 4096
/* More than a batch can write (HV_AUDIT_BATCH_MAX lines, with checkpoints). */
#define RECOVER_MAX (16 * 1024 * 1024)
#define READ_CHUNK (1024 * 1024)

static const char hexdigits[] = "0123456789abcdef";

static void
hex_encode(char *out, const uint8_t *in, size_t n)
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

/* 2n lowercase hex digits into n bytes: 0, or -1 for a bad digit. */
static int
hex_decode(uint8_t *out, const char *in, size_t n)
{
	const unsigned char *u = (const unsigned char *)in;
	unsigned bad = 0, hi, lo;
	size_t i;

	for (i = 0; i < n; i++) {
		hi = hexval[u[2 * i]];
		lo = hexval[u[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)((hi - 1) << 4 | ((lo - 1) & 15));
	}
	return bad ? -1 : 0;
}

static int
is_hex(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned bad = 0;
	size_t i;

	for (i = 0; i < n; i++)
		bad |= hexval[u[i]] == 0;
	return !bad;
}

/* A full disk, or the user's quota: said as such, never as tampering. */
static int
full(int err)
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
static int
add_string(struct hv_buf *b, const char *s, size_t max)
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

/* ---- the appender's state ---- */

struct paths {
	char *log, *state, *tmp, *lock, *key0;
};

static char *
concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = hv_xmalloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static void
paths_init(struct paths *p, const char *log)
{
	p->log = hv_xstrdup(log);
	p->state = concat(log, ".state");
	p->tmp = concat(log, ".state.tmp");
	p->lock = concat(log, ".lock");
	p->key0 = concat(log, ".key0");
}

static void
paths_free(struct paths *p)
{
	free(p->log);
	free(p->state);
	free(p->tmp);
	free(p->lock);
	free(p->key0);
}

struct state {
	uint64_t seq;		/* of the next line */
	uint64_t size;		/* bytes in the current file */
	uint8_t prev[32];	/* hash of the last line */
	uint8_t *key;		/* secure: the next line's MAC key */
	uint8_t *sign;		/* secure: Ed25519 seed (key + 32) */
	uint64_t ckpt_seq;	/* the last checkpoint */
	long long ckpt_time;	/* 0: none yet */
};

#define SECRETS 64

static int
state_field(char **s, const char *name, char **value)
{
	size_t n = strlen(name);
	char *nl;

	if (strncmp(*s, name, n) != 0 || (*s)[n] != ' ' || (nl = strchr(*s, '\n')) == NULL)
		return -1;
	*nl = '\0';
	*value = *s + n + 1;
	*s = nl + 1;
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
state_parse(struct state *st, char *s)
{
	char *v, *sp;
	uint64_t t;

	if (strncmp(s, "hv-audit-state 1\n", 17) != 0)
		return -1;
	s += 17;
	if (state_field(&s, "seq", &v) < 0 || parse_u64(v, &st->seq) < 0 ||
	    state_field(&s, "size", &v) < 0 || parse_u64(v, &st->size) < 0 ||
	    state_field(&s, "prev", &v) < 0 || strlen(v) != 64 || hex_decode(st->prev, v, 32) < 0 ||
	    state_field(&s, "key", &v) < 0 || strlen(v) != 64 || hex_decode(st->key, v, 32) < 0 ||
	    state_field(&s, "sign", &v) < 0 || strlen(v) != 64 || hex_decode(st->sign, v, 32) < 0 ||
	    state_field(&s, "checkpoint", &v) < 0 || (sp = strchr(v, ' ')) == NULL)
		return -1;
	*sp = '\0';
	if (parse_u64(v, &st->ckpt_seq) < 0 || parse_u64(sp + 1, &t) < 0 || *s != '\0')
		return -1;
	st->ckpt_time = (long long)t;
	return 0;
}

/* HV_ENOINPUT when there is no state file. */
static int
state_read(const struct paths *p, struct state *st, struct hv_err *e)
{
	struct hv_buf b;
	int r;

	if (access(p->state, F_OK) < 0 && errno == ENOENT)
		return HV_ENOINPUT;
	hv_buf_init_secret(&b, STATE_MAX);
	if ((r = hv_file_read_secret(p->state, &b, e)) == 0 &&
	    (b.data == NULL || state_parse(st, b.data) < 0))
		r = hv_err_set(e, HV_EDATA, "'%s' is not an hv-audit state file", p->state);
	hv_buf_release(&b);
	return r;
}

static int sync_dir(const char *path);

/* Replace the state: a temporary file, fdatasync, rename.  The caller
 * holds the lock, so the temporary name is ours alone.  An append leaves
 * the directory alone (a rename lost in a crash leaves the old state,
 * which the next append recovers from); a repair, which moves the state
 * back, syncs it, so the old state cannot come back. */
static int
state_write(const struct paths *p, const struct state *st, int syncdir, struct hv_err *e)
{
	struct hv_buf b;
	char hex[3][65];
	int fd, r = 0;

	hex_encode(hex[0], st->prev, 32);
	hex_encode(hex[1], st->key, 32);
	hex_encode(hex[2], st->sign, 32);
	hex[0][64] = hex[1][64] = hex[2][64] = '\0';
	hv_buf_init_secret(&b, STATE_MAX);
	hv_buf_addf(&b, "hv-audit-state 1\nseq %llu\nsize %llu\nprev %s\nkey %s\nsign %s\n"
	    "checkpoint %llu %lld\n", (unsigned long long)st->seq,
	    (unsigned long long)st->size, hex[0], hex[1], hex[2],
	    (unsigned long long)st->ckpt_seq, st->ckpt_time);
	hv_wipe(hex, sizeof hex);
	fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || hv_write_all(fd, b.data, b.len) < 0 || fdatasync(fd) < 0)
		r = full(errno) ? hv_err_set(e, HV_EIO, "audit log: no space left on device "
		    "(for '%s')", p->tmp) : hv_err_errno(e, HV_EIO, errno, "cannot write '%s'",
		    p->tmp);
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", p->tmp);
	if (r == 0 && rename(p->tmp, p->state) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot rename '%s'", p->tmp);
	if (r == 0 && syncdir && sync_dir(p->state) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot sync the directory of '%s'",
		    p->state);
	hv_buf_release(&b);
	return r;
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
	if (memcmp(t, MAC_KEY, 8) != 0 || hex_decode(l->macb, t + 8, 32) < 0 ||
	    memcmp(t + 72, "\"}", 2) != 0)
		return hv_err_set(e, HV_EDATA, "no mac where it belongs");
	l->mac = t + 8;
	l->bodylen = len - MAC_TAIL;
	t -= PREV_TAIL;
	if (memcmp(t, PREV_KEY, 9) != 0 || hex_decode(l->prevb, t + 9, 32) < 0 || t[73] != '"')
		return hv_err_set(e, HV_EDATA, "no prev where it belongs");
	l->prev = t + 9;
	if (!l->checkpoint)
		return 0;
	t -= SIG_TAIL;
	if (memcmp(t, SIG_KEY, 8) != 0 || !is_hex(t + 8, 128) || t[136] != '"')
		return hv_err_set(e, HV_EDATA, "checkpoint without a signature");
	l->sig = t + 8;
	return 0;
}

/* The text a checkpoint signs: its seq, its time and the chain before it. */
static size_t
checkpoint_msg(char *out, size_t max, uint64_t seq, const char *time, const char *prevhex)
{
	int n = snprintf(out, max, CHECKPOINT_MSG "%llu\n%.27s\n%.64s\n",
	    (unsigned long long)seq, time, prevhex);

	return n < 0 ? 0 : (size_t)n;
}

static void
line_hash(struct hv_sha256 *sha, uint8_t out[32], const char *line, size_t len)
{
	hv_sha256_update(sha, line, len);
	hv_sha256_update(sha, "\n", 1);
	hv_sha256_final(sha, out);
}

/* K_{i+1} = HMAC(K_i, "next"); the old key is overwritten in place. */
static void
ratchet(struct hv_hmac *h, uint8_t key[32])
{
	hv_hmac_mac(h, key, "next", 4, NULL, 0);
	hv_hmac_setkey(h, key);
}

/* ---- appending ---- */

/* Who appends: the same for every line of a process. */
struct ident {
	char host[256], user[64];
};

struct trail {
	struct paths p;
	struct state st;
	int lockfd, logfd, dirty;
	int syncdir;		/* the state's directory synced too (a repair) */
	int written;		/* lines went in at cut_to: taken back on failure */
	uint64_t cut_to;
	struct hv_hmac *hmac;
	struct hv_sha256 *sha;
	long every_events, every_secs;
	struct ident id;
	struct hv_buf out;	/* lines built and counted in st, not yet written */
};

struct event {
	const char *action;
	const struct hv_audit_field *fields;
	size_t n;
	enum hv_audit_outcome outcome;
	const char *error;
	const char *reason;	/* a checkpoint's, or NULL for an event */
};

static const char *const outcomes[] = { "ok", "fail", "refused" };

static void
who(struct ident *id)
{
	struct passwd *pw = getpwuid(getuid());

	if (gethostname(id->host, sizeof id->host) < 0)
		snprintf(id->host, sizeof id->host, "unknown");
	id->host[sizeof id->host - 1] = '\0';
	if (pw != NULL && strlen(pw->pw_name) < sizeof id->user)
		snprintf(id->user, sizeof id->user, "%s", pw->pw_name);
	else
		snprintf(id->user, sizeof id->user, "%u", (unsigned)getuid());
}

static int
add_target(struct hv_buf *b, const struct event *ev)
{
	size_t i;
	int r;

	if (ev->n == 0 && ev->reason == NULL)
		return 0;
	r = hv_buf_adds(b, ",\"target\":{");
	if (ev->reason != NULL && r == 0)
		r = hv_buf_addf(b, "\"reason\":\"%s\"", ev->reason);
	for (i = 0; i < ev->n && r == 0; i++) {
		r = hv_buf_addf(b, "%s\"%s\":", i > 0 ? "," : "", ev->fields[i].key);
		if (r == 0)
			r = add_string(b, ev->fields[i].value, HV_AUDIT_VALUE_MAX);
	}
	return r == 0 ? hv_buf_adds(b, "}") : r;
}

/* What a line says between its head and its integrity fields: target,
 * outcome, error.  It does not depend on the trail, so a batch renders
 * it when the event is queued. */
static int
add_body(struct hv_buf *b, const struct event *ev)
{
	int r = add_target(b, ev);

	r = r ? r : hv_buf_addf(b, ",\"outcome\":\"%s\"", outcomes[ev->outcome]);
	if (r == 0 && ev->error != NULL) {
		r = hv_buf_adds(b, ",\"error\":");
		r = r ? r : add_string(b, ev->error, HV_AUDIT_VALUE_MAX);
	}
	return r;
}

/* A line up to its body: version, seq, time, action and who. */
static int
add_head(struct hv_buf *b, const struct ident *id, uint64_t seq, const char *time,
    const char *action)
{
	int r;

	r = hv_buf_addf(b, "{\"v\":1,\"seq\":%llu,\"time\":\"%s\",\"action\":\"%s\",\"host\":",
	    (unsigned long long)seq, time, action);
	r = r ? r : add_string(b, id->host, 255);
	r = r ? r : hv_buf_adds(b, ",\"uid\":");
	r = r ? r : hv_buf_addf(b, "%u,\"user\":", (unsigned)getuid());
	r = r ? r : add_string(b, id->user, 64);
	r = r ? r : hv_buf_adds(b, ",\"tool\":");
	r = r ? r : add_string(b, hv_progname, 64);
	return r ? r : hv_buf_addf(b, ",\"pid\":%ld", (long)getpid());
}

/*
 * The whole line at the trail's next seq, newline included, appended to
 * b: head, body (blen bytes, from add_body), a checkpoint's signature
 * when reason is set, prev and the MAC over all before it.
 */
static int
build_line(struct trail *t, const char *action, const char *body, size_t blen,
    const char *reason, time_t now, long usec, struct hv_buf *b, struct hv_err *e)
{
	char time[28], prev[65], sig[129], msg[160];
	uint8_t raw[HV_ED25519_SIG], mac[32];
	size_t start = b->len;
	int r;

	hv_audit_format_time(time, now, usec);
	hex_encode(prev, t->st.prev, 32);
	prev[64] = '\0';
	r = add_head(b, &t->id, t->st.seq, time, action);
	r = r ? r : hv_buf_add(b, body, blen);
	if (r == 0 && reason != NULL) {
		if ((r = hv_ed25519_sign(raw, t->st.sign, msg,
		    checkpoint_msg(msg, sizeof msg, t->st.seq, time, prev), e)) < 0)
			return r;
		hex_encode(sig, raw, sizeof raw);
		sig[128] = '\0';
		r = hv_buf_addf(b, ",\"sig\":\"%s\"", sig);
	}
	r = r ? r : hv_buf_addf(b, ",\"prev\":\"%s\"", prev);
	if (r == 0) {
		hv_hmac_mac(t->hmac, mac, b->data + start, b->len - start, NULL, 0);
		hex_encode(prev, mac, 32);
		r = hv_buf_addf(b, ",\"mac\":\"%s\"}\n", prev);
	}
	if (r < 0 || b->len - start > HV_AUDIT_LINE_MAX)
		return hv_err_set(e, HV_EINTERNAL, "audit event longer than %d bytes",
		    HV_AUDIT_LINE_MAX);
	return 0;
}

/* The state moves past a line (built, or found in the file). */
static void
advance(struct trail *t, const char *line, size_t len, int checkpoint, long long when)
{
	line_hash(t->sha, t->st.prev, line, len);
	ratchet(t->hmac, t->st.key);
	if (checkpoint) {
		t->st.ckpt_seq = t->st.seq;
		t->st.ckpt_time = when;
	}
	t->st.seq++;
	t->st.size += len + 1;
	t->dirty = 1;
}

/* Build a line into t->out and move the state past it; trail_write puts
 * it in the file. */
static int
append(struct trail *t, const char *action, const char *body, size_t blen,
    const char *reason, struct hv_err *e)
{
	struct timespec ts;
	size_t start = t->out.len;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((r = build_line(t, action, body, blen, reason, ts.tv_sec, ts.tv_nsec / 1000,
	    &t->out, e)) < 0)
		return r;
	advance(t, t->out.data + start, t->out.len - start - 1, reason != NULL,
	    (long long)ts.tv_sec);
	return 0;
}

/*
 * Write the lines built so far, all at once.  O_APPEND and the lock make
 * the file's end ours; a short write (a signal, a full disk) goes on from
 * where it stopped, and a failure cuts off what part of the lines got in,
 * so no torn line is left behind.
 */
static int
trail_write(struct trail *t, struct hv_err *e)
{
	uint64_t base = t->st.size - t->out.len;
	size_t done = 0;
	ssize_t w;
	int r = 0;

	t->cut_to = base;
	t->written = 1;
	while (done < t->out.len) {
		w = write(t->logfd, t->out.data + done, t->out.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0 || full(errno))
				r = hv_err_set(e, HV_EIO, "audit log: no space left on device "
				    "('%s' not written)", t->p.log);
			else
				r = hv_err_errno(e, HV_EIO, errno, "cannot write '%s'", t->p.log);
			if (done > 0 && ftruncate(t->logfd, (off_t)base) < 0)
				hv_err_wrap(e, "and cannot cut the torn line");
			break;
		}
		done += (size_t)w;
	}
	hv_buf_reset(&t->out);
	return r;
}

static int
checkpoint_due(const struct trail *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return t->st.ckpt_time == 0 ||
	    t->st.seq - t->st.ckpt_seq > (uint64_t)t->every_events ||
	    (long long)ts.tv_sec - t->st.ckpt_time >= t->every_secs;
}

static int
append_checkpoint(struct trail *t, const char *reason, struct hv_err *e)
{
	struct event ev = { HV_AUDIT_CHECKPOINT, NULL, 0, HV_AUDIT_OK, NULL, reason };
	struct hv_buf body = HV_BUF_INIT(HV_AUDIT_LINE_MAX);
	int r;

	if ((r = add_body(&body, &ev)) == 0)
		r = append(t, ev.action, body.data, body.len, reason, e);
	hv_buf_release(&body);
	return r;
}

/* A line found past the state's end: adopt it when it continues the
 * chain under the state's key (a crash before the state was replaced). */
static int
adopt_line(struct trail *t, const char *line, size_t len, struct hv_err *e)
{
	struct hv_audit_line l;
	uint8_t mac[32];
	time_t when = 0;

	if (hv_audit_parse(&l, line, len, e) < 0 || l.seq != t->st.seq ||
	    !hv_ct_equal(l.prevb, t->st.prev, 32))
		return HV_EDATA;
	hv_hmac_mac(t->hmac, mac, line, l.bodylen, NULL, 0);
	if (!hv_ct_equal(mac, l.macb, 32))
		return HV_EDATA;
	if (l.checkpoint)
		(void)hv_audit_parse_time(l.time, TIME_LEN, &when);
	advance(t, line, len, l.checkpoint, (long long)when);
	return 0;
}

static int
recover(struct trail *t, uint64_t size, struct hv_err *e)
{
	uint64_t extra = size - t->st.size;
	char *buf, *p, *nl;
	ssize_t n;
	int fd, r = 0;

	if (extra > RECOVER_MAX)
		return hv_err_set(e, HV_EDATA, "'%s' holds %llu bytes its state does not "
		    "know of: written by something else?", t->p.log, (unsigned long long)extra);
	if ((fd = open(t->p.log, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", t->p.log);
	buf = hv_xmalloc(extra + 1);
	n = pread(fd, buf, extra, (off_t)t->st.size);
	close(fd);
	if (n != (ssize_t)extra) {
		free(buf);
		return hv_err_errno(e, HV_EIO, n < 0 ? errno : EIO, "cannot read '%s'", t->p.log);
	}
	for (p = buf; r == 0 && (nl = memchr(p, '\n', extra - (size_t)(p - buf))) != NULL; p = nl + 1) {
		/* hv writes no NUL (add_string escapes it): a hole a power cut
		 * left in pages written out of order, the start of the torn tail. */
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			break;
		if (adopt_line(t, p, (size_t)(nl - p), e) < 0)
			r = hv_err_set(e, HV_EDATA, "'%s': the line at byte %llu does not "
			    "continue the chain (seq %llu expected): written by something else?",
			    t->p.log, (unsigned long long)t->st.size, (unsigned long long)t->st.seq);
	}
	/* What is left was torn by a crash and never acknowledged: a line,
	 * or, from a batch, the lines after the first torn one. */
	if (r == 0 && p < buf + extra && ftruncate(t->logfd, (off_t)t->st.size) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot cut a torn line off '%s'", t->p.log);
	t->dirty = 1;
	free(buf);
	return r;
}

/* A fresh trail: the first key written for the verifier, the state set. */
static int
trail_create(struct trail *t, struct hv_err *e)
{
	struct hv_buf text;
	uint8_t pub[HV_ED25519_PUB];
	int r;

	memset(t->st.prev, 0, sizeof t->st.prev);
	t->st.seq = t->st.size = t->st.ckpt_seq = 0;
	t->st.ckpt_time = 0;
	hv_buf_init_secret(&text, HV_KEY_TEXT_MAX + 2);
	if ((r = hv_random(t->st.key, 32, e)) == 0 &&
	    (r = hv_ed25519_keygen(t->st.sign, pub, e)) == 0 &&
	    (r = hv_key_encode(&text, HV_KEY_SYMMETRIC, t->st.key)) == 0 &&
	    (r = hv_buf_adds(&text, "\n")) == 0)
		r = hv_file_create_excl(t->p.key0, text.data, text.len, 0600, e);
	hv_buf_release(&text);
	if (r == HV_ECANTCREAT)
		hv_err_set(e, r, "'%s' exists, but no trail does: move it away to "
		    "start a new trail", t->p.key0);
	t->dirty = 1;
	return r;
}

/* The log is gone but the newest rotated file ends where the state does:
 * a rotation that crashed before its state was written. */
static int
rotation_done(struct trail *t)
{
	char **files = NULL;
	struct stat sb;
	size_t n;
	int done = 0;

	if (hv_audit_files(t->p.log, &files, NULL) < 0)
		return 0;
	for (n = 0; files[n] != NULL; n++)
		;
	if (n > 0 && strcmp(files[n - 1], t->p.log) != 0 &&
	    stat(files[n - 1], &sb) == 0 && (uint64_t)sb.st_size == t->st.size) {
		t->st.size = 0;
		t->dirty = done = 1;
	}
	hv_audit_files_free(files);
	return done;
}

static char *
dir_of(const char *path)
{
	char *d = hv_xstrdup(path), *slash = strrchr(d, '/');

	if (slash == NULL) {
		free(d);
		return hv_xstrdup(".");
	}
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	return d;
}

/* fsync the directory holding path, so a rename or a file made in it
 * lasts a power cut. */
static int
sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, r = -1, err;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		r = fsync(fd);
		err = errno;
		close(fd);
		errno = err;
	}
	free(dir);
	return r;
}

/*
 * The file is as long as the state says; is its last line the one the
 * state hashed?  A power cut can keep the size and lose the pages (zeros
 * where the line was): appending after them would bury the damage under
 * good lines, where no repair can reach it.  One read of a line's worth.
 */
static int
last_line_ok(struct trail *t, struct hv_err *e)
{
	char buf[HV_AUDIT_LINE_MAX + 1];	/* the newline before the line too */
	size_t want = t->st.size < sizeof buf ? (size_t)t->st.size : sizeof buf, i;
	uint8_t hash[32];
	ssize_t n;
	int fd;

	if ((fd = open(t->p.log, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", t->p.log);
	n = pread(fd, buf, want, (off_t)(t->st.size - want));
	close(fd);
	if (n != (ssize_t)want)
		return hv_err_errno(e, HV_EIO, n < 0 ? errno : EIO, "cannot read '%s'", t->p.log);
	for (i = want - 1; i > 0 && buf[i - 1] != '\n'; i--)
		;
	if (buf[want - 1] == '\n' && (i > 0 || want == t->st.size)) {
		line_hash(t->sha, hash, buf + i, want - 1 - i);
		if (hv_ct_equal(hash, t->st.prev, 32))
			return 0;
	}
	if (buf[want - 1] != '\n' || memchr(buf + i, '\0', want - i) != NULL)
		return hv_err_set(e, HV_EDATA, "audit log '%s' lost its last line in a torn "
		    "write (seq %llu); run 'hv-audit repair'", t->p.log,
		    (unsigned long long)t->st.seq - 1);
	return hv_err_set(e, HV_EDATA, "audit log '%s': seq %llu is not the line its "
	    "state wrote: modified? ('hv-audit verify')", t->p.log,
	    (unsigned long long)t->st.seq - 1);
}

static int
open_log(struct trail *t, struct hv_err *e)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	struct stat sb;

	if (t->st.size == 0 || (t->logfd = open(t->p.log, flags)) < 0) {
		if (t->st.size > 0 && errno == ENOENT && !rotation_done(t))
			return hv_err_set(e, HV_EDATA, "'%s' is missing; its state expects "
			    "%llu bytes: deleted?", t->p.log, (unsigned long long)t->st.size);
		if ((t->logfd = open(t->p.log, flags | O_CREAT, 0600)) < 0)
			return hv_err_errno(e, errno == ENOENT ? HV_ECANTCREAT : HV_EIO,
			    errno, "cannot open '%s'", t->p.log);
	}
	if (fstat(t->logfd, &sb) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot stat '%s'", t->p.log);
	if (!S_ISREG(sb.st_mode))
		return hv_err_set(e, HV_EDATA, "'%s' is not a regular file", t->p.log);
	if ((uint64_t)sb.st_size < t->st.size)
		return hv_err_set(e, HV_EDATA, "audit log '%s' is cut short: %llu bytes its "
		    "state counts (lines up to seq %llu) are gone; after a torn write, run "
		    "'hv-audit repair'", t->p.log,
		    (unsigned long long)(t->st.size - (uint64_t)sb.st_size),
		    (unsigned long long)t->st.seq - 1);
	if ((uint64_t)sb.st_size > t->st.size)
		return recover(t, (uint64_t)sb.st_size, e);
	return t->st.size > 0 ? last_line_ok(t, e) : 0;
}

static void
trail_release(struct trail *t)
{
	if (t->logfd >= 0)
		close(t->logfd);
	if (t->lockfd >= 0)
		close(t->lockfd);
	t->logfd = t->lockfd = -1;
	hv_secure_free(t->st.key, SECRETS);
	t->st.key = t->st.sign = NULL;
	hv_hmac_free(t->hmac);
	hv_sha256_free(t->sha);
	t->hmac = NULL;
	t->sha = NULL;
	hv_buf_release(&t->out);
	paths_free(&t->p);
}

/* OPEN_REPAIR: the state only; the log is left for the repair to read. */
enum open_flags { OPEN_APPEND, OPEN_CREATE_ONLY, OPEN_REPAIR };

/* Lock the trail and bring its state in: created when there is none.
 * id is who appends, or NULL to find out. */
static int
trail_open(struct trail *t, const struct hv_config *c, const struct ident *id,
    enum open_flags how, struct hv_err *e)
{
	struct stat sb;
	char *dir;
	int r;

	memset(t, 0, sizeof *t);
	t->lockfd = t->logfd = -1;
	hv_buf_init(&t->out, RECOVER_MAX);
	if (c->paths.audit == NULL)
		return hv_err_set(e, HV_ECONFIG, "no audit log configured ([paths] audit)");
	paths_init(&t->p, c->paths.audit);
	t->st.key = hv_secure_alloc(SECRETS);
	t->st.sign = t->st.key + 32;
	t->hmac = hv_hmac_new();
	t->sha = hv_sha256_new();
	t->every_events = c->audit.checkpoint_events;
	t->every_secs = c->audit.checkpoint_interval;
	if (id != NULL)
		t->id = *id;
	else
		who(&t->id);
	dir = dir_of(t->p.log);
	/* The trail's keys live beside it: the directory is the user's alone. */
	if ((r = hv_mkdirs(dir, e)) == 0)
		r = hv_path_private(dir, e);
	free(dir);
	if (r == 0 && access(t->p.log, F_OK) == 0)
		r = hv_path_private(t->p.log, e);
	if (r < 0)
		return r;
	t->lockfd = open(t->p.lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t->lockfd < 0)
		return hv_err_errno(e, HV_ECANTCREAT, errno, "cannot open '%s'", t->p.lock);
	while ((r = flock(t->lockfd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot lock '%s'", t->p.lock);
	r = state_read(&t->p, &t->st, e);
	if (r == 0 && how == OPEN_CREATE_ONLY)
		return hv_err_set(e, HV_ECANTCREAT, "'%s' exists already", t->p.state);
	if (r == HV_ENOINPUT && how == OPEN_REPAIR)
		return hv_err_set(e, HV_ENOINPUT, "no trail at '%s' to repair (no state "
		    "'%s')", t->p.log, t->p.state);
	if (r == HV_ENOINPUT) {
		if (stat(t->p.log, &sb) == 0 && sb.st_size > 0)
			return hv_err_set(e, HV_EDATA, "'%s' has no state file '%s': restore "
			    "it, or move the log away to start a new trail", t->p.log, t->p.state);
		r = trail_create(t, e);
	}
	if (r < 0)
		return r;
	hv_hmac_setkey(t->hmac, t->st.key);
	if (how == OPEN_REPAIR)
		return 0;
	if ((r = open_log(t, e)) == 0 && t->st.seq == 0)
		r = append_checkpoint(t, "init", e);
	return r;
}

/* Write what was appended, make it durable, then the state; unlock.
 * Order is important: the state never runs ahead of the log on disk. */
static int
trail_close(struct trail *t, int r, struct hv_err *e)
{
	if (r == 0 && t->out.len > 0)
		r = trail_write(t, e);
	if (t->dirty && t->logfd >= 0 && fdatasync(t->logfd) < 0 && r == 0)
		r = full(errno) ? hv_err_set(e, HV_EIO, "audit log: no space left on device "
		    "('%s' not synced)", t->p.log) :
		    hv_err_errno(e, HV_EIO, errno, "cannot sync '%s'", t->p.log);
	if (t->dirty && r == 0)
		r = state_write(&t->p, &t->st, t->syncdir, e);
	/* Lines no state counts were never acknowledged: cut them rather than
	 * leave them for the next append to adopt, so that the log stays what
	 * its state says (a full disk fails here, the state unwritten). */
	if (r < 0 && t->written && t->logfd >= 0 && (ftruncate(t->logfd, (off_t)t->cut_to) < 0 ||
	    fdatasync(t->logfd) < 0))
		hv_err_wrap(e, "and the lines not acknowledged stay (the next append adopts "
		    "them)");
	trail_release(t);
	return r;
}

static int
valid_name(const char *s, size_t max, int dots)
{
	size_t i;

	if (s == NULL || *s < 'a' || *s > 'z')
		return 0;
	for (i = 0; s[i]; i++) {
		if (i >= max)
			return 0;
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
			continue;
		if (!dots || s[i] != '.' || s[i + 1] == '\0' || s[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* Keys that would put content or a secret in the trail. */
static const char *const forbidden[] = {
	"subject", "from", "to", "cc", "bcc", "reply_to", "sender", "body", "raw",
	"snippet", "content", "token", "access_token", "refresh_token", "secret",
	"password", "passphrase", "code", "key_text",
};

static int
check_event(const char *action, const struct hv_audit_field *f, size_t n,
    enum hv_audit_outcome outcome, struct hv_err *e)
{
	size_t i, j;

	if (!valid_name(action, 64, 1) || strcmp(action, HV_AUDIT_CHECKPOINT) == 0 ||
	    strcmp(action, HV_AUDIT_REPAIR) == 0)
		return hv_err_set(e, HV_EINTERNAL, "bad audit action '%s'", action ? action : "");
	if (n > HV_AUDIT_FIELDS_MAX || (n > 0 && f == NULL))
		return hv_err_set(e, HV_EINTERNAL, "too many audit fields");
	if ((unsigned)outcome > HV_AUDIT_REFUSED)
		return hv_err_set(e, HV_EINTERNAL, "bad audit outcome %d", (int)outcome);
	for (i = 0; i < n; i++) {
		if (!valid_name(f[i].key, 32, 0) || f[i].value == NULL || strcmp(f[i].key, "reason") == 0)
			return hv_err_set(e, HV_EINTERNAL, "bad audit field '%s'",
			    f[i].key ? f[i].key : "");
		for (j = 0; j < sizeof forbidden / sizeof forbidden[0]; j++)
			if (strcmp(f[i].key, forbidden[j]) == 0)
				return hv_err_set(e, HV_EINTERNAL, "audit field '%s' may not "
				    "be logged", f[i].key);
		if (strcmp(f[i].key, "msgid") == 0 && (strlen(f[i].value) != HV_AUDIT_MSGID_LEN ||
		    !is_hex(f[i].value, HV_AUDIT_MSGID_LEN)))
			return hv_err_set(e, HV_EINTERNAL, "audit field 'msgid' must be an HMAC "
			    "(hv_audit_msgid), not a Message-ID");
		for (j = 0; j < i; j++)
			if (strcmp(f[i].key, f[j].key) == 0)
				return hv_err_set(e, HV_EINTERNAL, "audit field '%s' twice", f[i].key);
	}
	return 0;
}

/* ---- batches ---- */

struct queued {
	size_t action;		/* offsets into the batch's text: the action, */
	size_t body, blen;	/* NUL-terminated, and the body (add_body) */
};

struct hv_audit_batch {
	const struct hv_config *c;	/* borrowed */
	const uint8_t *key;		/* borrowed: the audit purpose key, or NULL */
	struct ident id;
	size_t head;		/* bytes of a line's head at the largest seq, action aside */
	struct hv_buf text;	/* the queued events, rendered */
	struct queued *q;
	size_t n, cap;
};

struct hv_audit_batch *
hv_audit_batch_new(const struct hv_config *c, const uint8_t key[32])
{
	struct hv_audit_batch *b = hv_xcalloc(1, sizeof *b);
	struct hv_buf head = HV_BUF_INIT(2 * HV_AUDIT_LINE_MAX);

	b->c = c;
	b->key = key;
	who(&b->id);
	/* The head at the largest seq there can be: whether an event fits in
	 * a line is then known when it is queued, wherever the trail stands. */
	(void)add_head(&head, &b->id, UINT64_MAX, "0000-00-00T00:00:00.000000Z", "");
	b->head = head.len;
	hv_buf_release(&head);
	hv_buf_init(&b->text, (HV_AUDIT_BATCH_MAX + HV_AUDIT_FIELDS_MAX) *
	    (size_t)HV_AUDIT_LINE_MAX);
	return b;
}

int
hv_audit_batch_log(struct hv_audit_batch *b, const char *action,
    const struct hv_audit_field *fields, size_t n, enum hv_audit_outcome outcome,
    const char *error, struct hv_err *e)
{
	struct event ev = { action, fields, n, outcome, error, NULL };
	size_t start = b->text.len, alen;
	int r;

	if ((r = check_event(action, fields, n, outcome, e)) < 0)
		return r;
	if (b->n >= HV_AUDIT_BATCH_MAX)
		return hv_err_set(e, HV_EINTERNAL, "audit batch of more than %d events "
		    "(flush first)", HV_AUDIT_BATCH_MAX);
	alen = strlen(action);
	if ((r = hv_buf_add(&b->text, action, alen + 1)) == 0)
		r = add_body(&b->text, &ev);
	if (r < 0 || b->head + b->text.len - start - 1 + PREV_TAIL + MAC_TAIL + 1 >
	    HV_AUDIT_LINE_MAX) {
		b->text.len = start;
		if (b->text.data != NULL)
			b->text.data[start] = '\0';
		return hv_err_set(e, HV_EINTERNAL, "audit event longer than %d bytes",
		    HV_AUDIT_LINE_MAX);
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->q = hv_xrealloc(b->q, b->cap * sizeof *b->q);
	}
	b->q[b->n].action = start;
	b->q[b->n].body = start + alen + 1;
	b->q[b->n].blen = b->text.len - start - alen - 1;
	b->n++;
	return 0;
}

int
hv_audit_batch_message(struct hv_audit_batch *b, const char *action, const char *account,
    const char *team, const char *message_id, enum hv_audit_outcome outcome,
    const char *error, struct hv_err *e)
{
	char msgid[HV_AUDIT_MSGID_LEN + 1];
	struct hv_audit_field f[3] = {
		{ "account", account }, { "team", team }, { "msgid", msgid },
	};

	if (b->key == NULL || message_id == NULL)
		return hv_err_set(e, HV_EINTERNAL, "audit message event without %s",
		    b->key == NULL ? "a key" : "a Message-ID");
	hv_audit_msgid(msgid, b->key, message_id, strlen(message_id));
	return hv_audit_batch_log(b, action, f, 3, outcome, error, e);
}

size_t
hv_audit_batch_len(const struct hv_audit_batch *b)
{
	return b->n;
}

/* One lock, the lines built in memory as one append each would build
 * them (a checkpoint after any event that makes one due), one write, one
 * fdatasync, one state. */
int
hv_audit_batch_flush(struct hv_audit_batch *b, struct hv_err *e)
{
	const struct queued *q;
	struct trail t;
	size_t i;
	int r;

	if (b->n == 0)
		return 0;
	r = trail_open(&t, b->c, &b->id, OPEN_APPEND, e);
	for (i = 0; r == 0 && i < b->n; i++) {
		q = &b->q[i];
		r = append(&t, b->text.data + q->action, b->text.data + q->body, q->blen,
		    NULL, e);
		if (r == 0 && checkpoint_due(&t))
			r = append_checkpoint(&t, "due", e);
	}
	r = trail_close(&t, r, e);
	b->n = 0;
	hv_buf_reset(&b->text);
	return r;
}

void
hv_audit_batch_free(struct hv_audit_batch *b)
{
	if (b == NULL)
		return;
	hv_buf_release(&b->text);
	free(b->q);
	free(b);
}

int
hv_audit_log(const struct hv_config *c, const char *action,
    const struct hv_audit_field *fields, size_t n,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e)
{
	struct hv_audit_batch *b = hv_audit_batch_new(c, NULL);
	int r;

	if ((r = hv_audit_batch_log(b, action, fields, n, outcome, error, e)) == 0)
		r = hv_audit_batch_flush(b, e);
	hv_audit_batch_free(b);
	return r;
}

int
hv_audit_init(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;

	return trail_close(&t, trail_open(&t, c, NULL, OPEN_CREATE_ONLY, e), e);
}

int
hv_audit_ready(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;

	return trail_close(&t, trail_open(&t, c, NULL, OPEN_APPEND, e), e);
}

int
hv_audit_checkpoint(const struct hv_config *c, struct hv_err *e)
{
	struct trail t;
	int r;

	if ((r = trail_open(&t, c, NULL, OPEN_APPEND, e)) == 0)
		r = append_checkpoint(&t, "manual", e);
	return trail_close(&t, r, e);
}

/* The seq of the first line of path. */
static int
first_seq(const char *path, uint64_t *seq, struct hv_err *e)
{
	struct hv_audit_line l;
	char buf[HV_AUDIT_LINE_MAX];
	char *nl;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
	n = hv_read_full(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0 || (nl = memchr(buf, '\n', (size_t)n)) == NULL ||
	    hv_audit_parse(&l, buf, (size_t)(nl - buf), e) < 0)
		return hv_err_set(e, HV_EDATA, "'%s': no first line to name it by", path);
	*seq = l.seq;
	return 0;
}

int
hv_audit_rotate(const struct hv_config *c, char **rotated, struct hv_err *e)
{
	struct trail t;
	uint64_t seq = 0;
	char *name = NULL, *dir;
	int r, n;

	*rotated = NULL;
	if ((r = trail_open(&t, c, NULL, OPEN_APPEND, e)) == 0 &&
	    (r = append_checkpoint(&t, "rotate", e)) == 0 &&
	    (r = trail_write(&t, e)) == 0) {
		if (fdatasync(t.logfd) < 0)
			r = hv_err_errno(e, HV_EIO, errno, "cannot sync '%s'", t.p.log);
		else
			r = first_seq(t.p.log, &seq, e);
	}
	if (r == 0) {
		n = snprintf(NULL, 0, "%s.%llu", t.p.log, (unsigned long long)seq);
		name = hv_xmalloc((size_t)n + 1);
		snprintf(name, (size_t)n + 1, "%s.%llu", t.p.log, (unsigned long long)seq);
		if (access(name, F_OK) == 0 || errno != ENOENT)
			r = hv_err_set(e, HV_ECANTCREAT, "'%s' exists already", name);
		else if (rename(t.p.log, name) < 0)
			r = hv_err_errno(e, HV_EIO, errno, "cannot rename '%s'", t.p.log);
		else
			t.st.size = 0;
	}
	if (r == 0) {
		dir = dir_of(t.p.log);
		if ((n = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(n);
			close(n);
		}
		free(dir);
	}
	r = trail_close(&t, r, e);
	if (r == 0)
		*rotated = name;
	else
		free(name);
	return r;
}

/* ---- repair of a torn tail ---- */

static void
tail_bad(struct hv_audit_tail *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tail_bad(struct hv_audit_tail *t, const char *fmt, ...)
{
	va_list ap;

	t->kind = HV_AUDIT_TAIL_BAD;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof t->why, fmt, ap);
	va_end(ap);
}

/* A whole line that may be part of a torn tail: it holds a NUL (a hole a
 * power cut left), or it parses as a line of the lost seqs (whole, in a
 * page that reached the disk after one that did not).  Anything else
 * after the good lines was not written by a crash. */
static int
torn_line(const char *p, size_t n, const struct hv_audit_tail *t, uint64_t state_seq)
{
	struct hv_audit_line l;

	if (memchr(p, '\0', n) != NULL)
		return 1;
	return hv_audit_parse(&l, p, n, NULL) == 0 && l.seq >= t->good_next &&
	    l.seq < state_seq;
}

/* An earlier repair's line, which chains over the gap it records. */
static int
repaired(const struct hv_audit_line *l, const char *line, size_t len, uint64_t next)
{
	struct hv_audit_repair_info ri;

	return l->repair && hv_audit_parse_repair(line, len, &ri, NULL) == 0 &&
	    ri.first_lost == next && ri.last_lost + 1 == l->seq;
}

/* The whole lines that chain, from the start: good_*; 0, or -1 with the
 * verdict set for a whole line that parses and does not chain. */
static int
tail_good(const char *buf, size_t len, uint64_t state_size, const uint8_t *base_hash,
    struct hv_audit_tail *t, uint8_t at_state[32], int *have_at_state)
{
	struct hv_sha256 *sha = hv_sha256_new();
	struct hv_audit_line l;
	const char *p = buf, *end = buf + len, *nl;
	int have = base_hash != NULL, r = 0;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL ||
		    hv_audit_parse(&l, p, (size_t)(nl - p), NULL) < 0)
			break;
		if (have && ((l.seq != t->good_next && !repaired(&l, p, (size_t)(nl - p),
		    t->good_next)) || memcmp(l.prevb, t->good_hash, 32) != 0)) {
			tail_bad(t, "seq %llu (byte %llu) does not continue the chain after "
			    "seq %llu", (unsigned long long)l.seq, (unsigned long long)(p - buf),
			    (unsigned long long)t->good_next - 1);
			r = -1;
			break;
		}
		have = 1;
		line_hash(sha, t->good_hash, p, (size_t)(nl - p));
		t->good_next = l.seq + 1;
		t->good_lines++;
		t->good_bytes = (uint64_t)(nl + 1 - buf);
		if (t->good_bytes == state_size) {
			memcpy(at_state, t->good_hash, 32);
			*have_at_state = 1;
		}
	}
	if (r == 0 && !have)
		tail_bad(t, "no whole line left to continue the chain from");
	hv_sha256_free(sha);
	return t->kind == HV_AUDIT_TAIL_BAD ? -1 : 0;
}

void
hv_audit_tail_analyse(const char *buf, size_t len, uint64_t state_seq,
    uint64_t state_size, const uint8_t state_prev[32], uint64_t base_next,
    const uint8_t *base_hash, struct hv_audit_tail *t)
{
	const char *p, *end = buf + len, *nl;
	uint8_t at_state[32];
	int have_at_state = state_size == 0 && base_hash != NULL;

	memset(t, 0, sizeof *t);
	t->file_bytes = len;
	t->good_next = base_next;
	if (base_hash != NULL)
		memcpy(t->good_hash, base_hash, 32);
	if (have_at_state)
		memcpy(at_state, base_hash, 32);
	if (tail_good(buf, len, state_size, base_hash, t, at_state, &have_at_state) < 0)
		return;
	for (p = buf + t->good_bytes; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (!torn_line(p, (size_t)(nl - p), t, state_seq))
			return tail_bad(t, "the line at byte %llu is malformed, and no torn "
			    "write made it", (unsigned long long)(p - buf));
	}
	if (t->good_next >= state_seq) {
		/* The state's lines are all there: the rest was never
		 * acknowledged, and the next append recovers it. */
		if (!have_at_state || memcmp(at_state, state_prev, 32) != 0 ||
		    (t->good_next == state_seq && t->good_bytes != state_size))
			tail_bad(t, "seq %llu, the last its state wrote, is not the line "
			    "its state wrote", (unsigned long long)state_seq - 1);
		return;
	}
	if (t->good_bytes > state_size)
		return tail_bad(t, "seq %llu ends at byte %llu, past the %llu bytes its "
		    "state counts up to seq %llu", (unsigned long long)t->good_next - 1,
		    (unsigned long long)t->good_bytes, (unsigned long long)state_size,
		    (unsigned long long)state_seq - 1);
	if (state_seq - t->good_next > HV_AUDIT_REPAIR_MAX)
		return tail_bad(t, "seq %llu to %llu are gone: more than a torn write loses",
		    (unsigned long long)t->good_next, (unsigned long long)state_seq - 1);
	t->kind = HV_AUDIT_TAIL_TORN;
	t->first_lost = t->good_next;
	t->last_lost = state_seq - 1;
	t->lost_bytes = state_size - t->good_bytes;
	t->cut_bytes = len - t->good_bytes;
	hv_sha256(t->cut_sha256, buf + t->good_bytes, (size_t)t->cut_bytes);
}

/*
 * Where the current file starts: after the last line of the newest
 * rotated file (*known 1).  *known 0 when there is none (older files may
 * have been moved off the host: the first line is then taken as it is)
 * or it cannot be read.
 */
static void
tail_base(const char *log, uint64_t *next, uint8_t hash[32], int *known)
{
	char **files = NULL, buf[HV_AUDIT_LINE_MAX + 1], *nl, *start;
	struct hv_sha256 *sha;
	struct hv_audit_line l;
	size_t n = 0;
	off_t size;
	ssize_t got;
	int fd;

	*next = 0;
	memset(hash, 0, 32);
	*known = 0;
	if (hv_audit_files(log, &files, NULL) == 0)
		for (; files[n] != NULL; n++)
			;
	if (n > 0 && strcmp(files[n - 1], log) == 0)
		n--;
	if (n == 0) {
		hv_audit_files_free(files);
		return;
	}
	if ((fd = open(files[n - 1], O_RDONLY | O_CLOEXEC)) >= 0) {
		size = lseek(fd, 0, SEEK_END);
		got = size <= 0 ? -1 : pread(fd, buf, size < (off_t)sizeof buf - 1 ?
		    (size_t)size : sizeof buf - 1, size < (off_t)sizeof buf - 1 ? 0 :
		    size - (off_t)(sizeof buf - 1));
		close(fd);
		if (got > 0 && buf[got - 1] == '\n') {
			buf[got - 1] = '\0';
			start = (nl = strrchr(buf, '\n')) != NULL ? nl + 1 : buf;
			if (hv_audit_parse(&l, start, (size_t)(buf + got - 1 - start), NULL) == 0) {
				sha = hv_sha256_new();
				line_hash(sha, hash, start, (size_t)(buf + got - 1 - start));
				hv_sha256_free(sha);
				*next = l.seq + 1;
				*known = 1;
			}
		}
	}
	hv_audit_files_free(files);
}

/* The whole log, or nothing when it is gone (a crash can lose it too). */
static int
read_log(const char *path, char **buf, size_t *len, struct hv_err *e)
{
	struct stat sb;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : hv_err_errno(e, HV_EIO, errno, "cannot read '%s'",
		    path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return hv_err_set(e, HV_EDATA, "'%s' is not a regular file", path);
	}
	*buf = hv_xmalloc((size_t)sb.st_size + 1);
	n = hv_read_full(fd, *buf, (size_t)sb.st_size);
	close(fd);
	if (n < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", path);
	*len = (size_t)n;
	return 0;
}

/* The audit.repair event's body: its target fields, as hv-audit(5) says. */
static int
repair_body(struct hv_buf *b, const struct hv_audit_tail *tl, const char *torn_file)
{
	char v[5][24], hex[65];
	struct hv_audit_field f[6] = {
		{ "first_lost", v[0] }, { "last_lost", v[1] }, { "lost_bytes", v[2] },
		{ "cut_bytes", v[3] }, { "torn_sha256", hex }, { "torn_file", torn_file },
	};
	struct event ev = { HV_AUDIT_REPAIR, f, torn_file != NULL ? 6 : 5, HV_AUDIT_OK,
	    NULL, NULL };

	snprintf(v[0], sizeof v[0], "%llu", (unsigned long long)tl->first_lost);
	snprintf(v[1], sizeof v[1], "%llu", (unsigned long long)tl->last_lost);
	snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)tl->lost_bytes);
	snprintf(v[3], sizeof v[3], "%llu", (unsigned long long)tl->cut_bytes);
	hex_encode(hex, tl->cut_sha256, 32);
	hex[64] = '\0';
	return add_body(b, &ev);
}

/*
 * A repair cut short (a crash, a full disk) may have kept the torn bytes
 * already: when they were also cut off the log, the file holds them and
 * the tail, analysed again, shows none; attest the file's instead.  1 when
 * the file is there and is what this repair keeps, 0 when there is none,
 * HV_ECANTCREAT when it holds something else.
 */
static int
torn_kept(const char *path, struct hv_audit_tail *tl, const char *cut, struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(RECOVER_MAX);
	uint8_t sum[32];
	int r;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((r = hv_file_read(path, &b, e)) == 0) {
		hv_sha256(sum, b.data ? b.data : "", b.len);
		if (tl->cut_bytes == 0 && b.len > 0) {
			tl->cut_bytes = b.len;
			memcpy(tl->cut_sha256, sum, 32);
			r = 1;
		} else if (b.len > 0 && b.len == tl->cut_bytes && memcmp(b.data, cut, b.len) == 0)
			r = 1;
	}
	hv_buf_release(&b);
	if (r != 1)
		return hv_err_set(e, HV_ECANTCREAT, "'%s' exists and holds other bytes: move "
		    "it away, then repair", path);
	return 1;
}

/* Keep the torn bytes: a new 0600 file, synced with its directory. */
static int
keep_torn(const char *path, const char *data, size_t len, struct hv_err *e)
{
	int r;

	if ((r = hv_file_create_excl(path, data, len, 0600, e)) < 0)
		return r;
	if (sync_dir(path) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot sync the directory of '%s'", path);
	return 0;
}

/* Cut the log back to its good lines, durably, and open it to append. */
static int
cut_log(struct trail *t, uint64_t good, struct hv_err *e)
{
	int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;

	if ((t->logfd = open(t->p.log, flags)) < 0 && errno == ENOENT)
		t->logfd = open(t->p.log, flags | O_CREAT, 0600);
	if (t->logfd < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot open '%s'", t->p.log);
	if (ftruncate(t->logfd, (off_t)good) < 0 || fdatasync(t->logfd) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot cut '%s'", t->p.log);
	return 0;
}

/* buf: the log's text, or NULL when the torn bytes are kept already. */
static int
repair_apply(struct trail *t, struct hv_audit_repair_result *res, const char *buf,
    struct hv_err *e)
{
	const struct hv_audit_tail *tl = &res->tail;
	struct hv_buf body = HV_BUF_INIT(HV_AUDIT_LINE_MAX);
	int r;

	if ((res->torn_file != NULL && buf != NULL &&
	    (r = keep_torn(res->torn_file, buf + tl->good_bytes, (size_t)tl->cut_bytes, e)) < 0) ||
	    (r = cut_log(t, tl->good_bytes, e)) < 0)
		return r;
	/* The state keeps its seq and key: the key of that seq, as the
	 * ratchet stands.  Only where the chain goes on from moves back. */
	memcpy(t->st.prev, tl->good_hash, 32);
	t->st.size = tl->good_bytes;
	t->dirty = t->syncdir = 1;
	res->repair_seq = t->st.seq;
	if ((r = repair_body(&body, tl, res->torn_file)) == 0 &&
	    (r = append(t, HV_AUDIT_REPAIR, body.data, body.len, NULL, e)) == 0)
		r = append_checkpoint(t, "repair", e);
	hv_buf_release(&body);
	return r;
}

int
hv_audit_repair(const struct hv_config *c, hv_audit_confirm_fn confirm, void *arg,
    struct hv_audit_repair_result *res, struct hv_err *e)
{
	struct hv_audit_tail *tl = &res->tail;
	struct trail t;
	uint64_t base_next;
	uint8_t base_hash[32];
	char *buf = NULL;
	size_t len = 0;
	int known, kept, r;

	memset(res, 0, sizeof *res);
	if ((r = trail_open(&t, c, NULL, OPEN_REPAIR, e)) < 0)
		goto out;
	if (access(t.p.log, F_OK) < 0 && errno == ENOENT && t.st.size > 0)
		(void)rotation_done(&t);
	tail_base(t.p.log, &base_next, base_hash, &known);
	if ((r = read_log(t.p.log, &buf, &len, e)) < 0)
		goto out;
	hv_audit_tail_analyse(buf ? buf : "", len, t.st.seq, t.st.size, t.st.prev, base_next,
	    known ? base_hash : NULL, tl);
	if (tl->kind == HV_AUDIT_TAIL_BAD) {
		r = hv_err_set(e, HV_EDATA, "'%s': %s: not a torn tail, and a repair would "
		    "hide it ('hv-audit verify' names the damage)", t.p.log, tl->why);
		goto out;
	}
	if (tl->kind == HV_AUDIT_TAIL_OK)
		goto out;
	res->torn_file = hv_xmalloc(strlen(t.p.log) + 32);
	snprintf(res->torn_file, strlen(t.p.log) + 32, "%s.torn.%llu", t.p.log,
	    (unsigned long long)tl->first_lost);
	if ((kept = torn_kept(res->torn_file, tl, buf + tl->good_bytes, e)) < 0) {
		r = kept;
		goto out;
	}
	if (tl->cut_bytes == 0) {
		free(res->torn_file);
		res->torn_file = NULL;
	}
	if (confirm != NULL && (r = confirm(arg, tl, res->torn_file)) < 0)
		goto out;
	r = repair_apply(&t, res, kept ? NULL : buf, e);
out:
	free(buf);
	r = trail_close(&t, r, e);
	if (r < 0 && tl->kind != HV_AUDIT_TAIL_OK) {
		free(res->torn_file);
		res->torn_file = NULL;
	}
	return r;
}

void
hv_audit_repair_result_free(struct hv_audit_repair_result *res)
{
	if (res == NULL)
		return;
	free(res->torn_file);
	res->torn_file = NULL;
}

static int
pubkey_encode(struct hv_buf *out, const uint8_t pub[32])
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

int
hv_audit_pubkey(const struct hv_config *c, struct hv_buf *out, struct hv_err *e)
{
	struct paths p;
	struct state st;
	uint8_t pub[32];
	int r;

	if (c->paths.audit == NULL)
		return hv_err_set(e, HV_ECONFIG, "no audit log configured ([paths] audit)");
	paths_init(&p, c->paths.audit);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	r = state_read(&p, &st, e);
	if (r == HV_ENOINPUT)
		r = hv_err_set(e, HV_ENOINPUT, "no trail at '%s' yet (hv-audit init)", p.log);
	if (r == 0 && (r = hv_ed25519_public(pub, st.sign, e)) == 0)
		r = pubkey_encode(out, pub);
	hv_secure_free(st.key, SECRETS);
	paths_free(&p);
	return r;
}

int
hv_audit_state_tail(const char *log, uint64_t *next_seq, uint8_t last_hash[32],
    struct hv_err *e)
{
	struct paths p;
	struct state st;
	int r;

	paths_init(&p, log);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	if ((r = state_read(&p, &st, e)) == 0) {
		*next_seq = st.seq;
		memcpy(last_hash, st.prev, 32);
	}
	hv_secure_free(st.key, SECRETS);
	paths_free(&p);
	return r;
}

int
hv_audit_state_checkpoint(const char *log, uint64_t *seq, long long *time,
    struct hv_err *e)
{
	struct paths p;
	struct state st;
	int r;

	paths_init(&p, log);
	st.key = hv_secure_alloc(SECRETS);
	st.sign = st.key + 32;
	if ((r = state_read(&p, &st, e)) == 0) {
		*seq = st.ckpt_seq;
		*time = st.ckpt_time;
	}
	hv_secure_free(st.key, SECRETS);
	paths_free(&p);
	return r;
}

void
hv_audit_msgid(char out[HV_AUDIT_MSGID_LEN + 1], const uint8_t key[32],
    const char *msgid, size_t len)
{
	uint8_t mac[32];

	hv_hmac_sha256(mac, key, 32, msgid, len);
	hex_encode(out, mac, HV_AUDIT_MSGID_LEN / 2);
	out[HV_AUDIT_MSGID_LEN] = '\0';
}

int
hv_audit_message(const struct hv_config *c, const uint8_t key[32], const char *action,
    const char *account, const char *team, const char *message_id,
    enum hv_audit_outcome outcome, const char *error, struct hv_err *e)
{
	struct hv_audit_batch *b = hv_audit_batch_new(c, key);
	int r;

	if ((r = hv_audit_batch_message(b, action, account, team, message_id, outcome,
	    error, e)) == 0)
		r = hv_audit_batch_flush(b, e);
	hv_audit_batch_free(b);
	return r;
}

/* ---- the files of a trail ---- */

struct rotated {
	uint64_t seq;
	char *path;
};

static int
by_seq(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
hv_audit_files(const char *log, char ***files, struct hv_err *e)
{
	const char *base = strrchr(log, '/') ? strrchr(log, '/') + 1 : log;
	size_t blen = strlen(base), n = 0, i;
	int r;
	struct rotated *rot = NULL;
	struct dirent *d;
	char *dir = dir_of(log), **list;
	uint64_t seq;
	DIR *dp;

	*files = NULL;
	if ((dp = opendir(dir)) == NULL) {
		r = hv_err_errno(e, HV_ENOINPUT, errno, "cannot read '%s'", dir);
		free(dir);
		return r;
	}
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, base, blen) != 0 || d->d_name[blen] != '.' ||
		    parse_u64(d->d_name + blen + 1, &seq) < 0)
			continue;
		rot = hv_xrealloc(rot, (n + 1) * sizeof *rot);
		rot[n].seq = seq;
		rot[n].path = hv_xmalloc(strlen(dir) + strlen(d->d_name) + 2);
		snprintf(rot[n].path, strlen(dir) + strlen(d->d_name) + 2, "%s/%s", dir, d->d_name);
		n++;
	}
	closedir(dp);
	free(dir);
	if (n > 1)
		qsort(rot, n, sizeof *rot, by_seq);
	list = hv_xcalloc(n + 2, sizeof *list);
	for (i = 0; i < n; i++)
		list[i] = rot[i].path;
	free(rot);
	if (access(log, F_OK) == 0)
		list[n++] = hv_xstrdup(log);
	if (n == 0) {
		free(list);
		return hv_err_set(e, HV_ENOINPUT, "no audit log at '%s'", log);
	}
	*files = list;
	return 0;
}

void
hv_audit_files_free(char **files)
{
	size_t i;

	for (i = 0; files != NULL && files[i] != NULL; i++)
		free(files[i]);
	free(files);
}

/* ---- reading ---- */

struct hv_audit_reader {
	int fd;
	const char *name;
	char *buf;
	size_t cap, start, end;
	unsigned long lineno;
	int skipping;		/* inside a line over the cap */
};

struct hv_audit_reader *
hv_audit_reader_new(int fd, const char *name)
{
	struct hv_audit_reader *r = hv_xcalloc(1, sizeof *r);

	r->fd = fd;
	r->name = name;
	r->cap = READ_CHUNK + HV_AUDIT_LINE_MAX;
	r->buf = hv_xmalloc(r->cap);
	return r;
}

static int
fill(struct hv_audit_reader *r, struct hv_err *e)
{
	ssize_t n;

	if (r->skipping || r->end - r->start >= HV_AUDIT_LINE_MAX) {
		r->skipping = 1;
		r->start = r->end;
	}
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", r->name);
	r->end += (size_t)n;
	return n > 0;
}

int
hv_audit_read_line(struct hv_audit_reader *r, int follow, const char **line,
    size_t *len, unsigned long *lineno, struct hv_err *e)
{
	char *nl;
	int n;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*lineno = ++r->lineno;
			r->start = (size_t)(nl + 1 - r->buf);
			if (r->skipping || *len + 1 > HV_AUDIT_LINE_MAX) {
				r->skipping = 0;
				return hv_err_set(e, HV_EDATA, "'%s': line %lu: longer than "
				    "%d bytes", r->name, r->lineno, HV_AUDIT_LINE_MAX);
			}
			return 1;
		}
		if ((n = fill(r, e)) < 0)
			return n;
		if (n > 0)
			continue;
		if (r->end == r->start || follow)
			return 0;
		*lineno = ++r->lineno;
		r->start = r->end;
		r->skipping = 0;
		return hv_err_set(e, HV_EDATA, "'%s': line %lu: no newline at the end "
		    "(torn?)", r->name, r->lineno);
	}
}

void
hv_audit_reader_free(struct hv_audit_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/* ---- the audit.repair event ---- */

static int
repair_number(const struct hv_json *target, const char *key, uint64_t *out)
{
	size_t n;
	const char *s = hv_json_get_strn(target, key, &n);

	return s == NULL || n == 0 || n > 20 || strlen(s) != n || parse_u64(s, out) < 0 ?
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

/* ---- verification ---- */

enum pending { P_NONE, P_GAP, P_BAD };

struct hv_audit_verify {
	int have_key, have_pub, from_start, started, failed;
	uint8_t *key;		/* secure: the next line's MAC key */
	uint8_t pub[32];
	struct hv_hmac *hmac;
	struct hv_sha256 *sha;
	uint64_t next;		/* the seq expected */
	uint8_t prev[32];	/* hash of the last line accepted */
	struct hv_audit_verify_status s;
	enum pending pending;
	uint64_t pseq;		/* P_GAP: the seq found instead */
	char why[200];		/* P_BAD: the verdict unless the next line explains */
	struct gap {
		struct hv_audit_repair_info ri;
		uint64_t seq;	/* of the audit.repair line */
	} *gaps;		/* owned */
	size_t ngaps;
};

struct hv_audit_verify *
hv_audit_verify_new(const uint8_t *key0, const uint8_t *pub, int from_start)
{
	struct hv_audit_verify *v = hv_xcalloc(1, sizeof *v);

	v->key = hv_secure_alloc(32);
	v->hmac = hv_hmac_new();
	v->sha = hv_sha256_new();
	if (key0 != NULL) {
		v->have_key = 1;
		memcpy(v->key, key0, 32);
		hv_hmac_setkey(v->hmac, v->key);
	}
	if (pub != NULL) {
		v->have_pub = 1;
		memcpy(v->pub, pub, 32);
	}
	v->from_start = from_start;
	return v;
}

static int
fail(struct hv_audit_verify *v, struct hv_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct hv_audit_verify *v, struct hv_err *e, const char *fmt, ...)
{
	char msg[HV_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->failed = 1;
	return hv_err_set(e, HV_EDATA, "%s", msg);
}

/* Does l continue the chain as it stands (hash and MAC)? */
static int
chains(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line)
{
	uint8_t mac[32];

	if (memcmp(l->prevb, v->prev, 32) != 0)
		return 0;
	if (!v->have_key)
		return 1;
	hv_hmac_mac(v->hmac, mac, line, l->bodylen, NULL, 0);
	return hv_ct_equal(mac, l->macb, 32);
}

static int
deleted(struct hv_audit_verify *v, struct hv_err *e)
{
	if (v->pseq == v->next + 1)
		return fail(v, e, "seq %llu: deleted", (unsigned long long)v->next);
	return fail(v, e, "seq %llu to %llu: deleted", (unsigned long long)v->next,
	    (unsigned long long)v->pseq - 1);
}

/* The line after a problem decides what the problem was. */
static int
resolve(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    struct hv_err *e)
{
	if (v->pending == P_GAP) {
		if (l != NULL && l->seq == v->next)
			return fail(v, e, "seq %llu: reordered (found after seq %llu)",
			    (unsigned long long)v->next, (unsigned long long)v->pseq);
		return deleted(v, e);
	}
	if (l != NULL && l->seq == v->next && chains(v, l, line))
		return fail(v, e, "seq %llu: inserted (a line that does not chain comes "
		    "before it)", (unsigned long long)v->next);
	return fail(v, e, "%s", v->why);
}

static void
start(struct hv_audit_verify *v, const struct hv_audit_line *l)
{
	uint64_t i;

	v->started = 1;
	v->next = l->seq;
	v->s.first_seq = l->seq;
	memcpy(v->prev, l->prevb, 32);
	for (i = 0; v->have_key && i < l->seq; i++)
		ratchet(v->hmac, v->key);
}

static int
check_signature(struct hv_audit_verify *v, const struct hv_audit_line *l, struct hv_err *e)
{
	uint8_t sig[HV_ED25519_SIG];
	char msg[160];
	size_t n;

	if (!v->have_pub)
		return 0;
	hex_decode(sig, l->sig, sizeof sig);
	n = checkpoint_msg(msg, sizeof msg, l->seq, l->time, l->prev);
	if (hv_ed25519_verify(v->pub, sig, msg, n, NULL) < 0)
		return fail(v, e, "seq %llu: modified (the checkpoint signature does not "
		    "verify)", (unsigned long long)l->seq);
	v->s.signatures++;
	return 0;
}

static void
accept(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    size_t len)
{
	time_t t;

	line_hash(v->sha, v->prev, line, len);
	memcpy(v->s.last_hash, v->prev, 32);
	if (v->have_key)
		ratchet(v->hmac, v->key);
	if (l->checkpoint && hv_audit_parse_time(l->time, TIME_LEN, &t) == 0) {
		v->s.have_checkpoint = 1;
		v->s.checkpoint_seq = l->seq;
		v->s.checkpoint_time = t;
	}
	v->s.last_seq = l->seq;
	v->s.lines++;
	v->next++;
}

/* A line whose seq is not the one expected. */
static int
out_of_place(struct hv_audit_verify *v, const struct hv_audit_line *l, struct hv_err *e)
{
	if (l->seq > v->next) {
		v->pending = P_GAP;
		v->pseq = l->seq;
		return 0;
	}
	if (l->seq + 1 == v->next)
		return fail(v, e, "seq %llu: inserted (a second line with that seq)",
		    (unsigned long long)l->seq);
	return fail(v, e, "seq %llu: reordered (found after seq %llu)",
	    (unsigned long long)l->seq, (unsigned long long)v->next - 1);
}

/*
 * An audit.repair line: the seqs it says were lost must be exactly those
 * missing before it, it must chain to the line before them, and its MAC
 * is under the key of its own seq (the ratchet moved over the lost ones,
 * as the appender's did).
 */
static int
repair_gap(struct hv_audit_verify *v, const struct hv_audit_line *l, const char *line,
    size_t len, struct hv_err *e)
{
	struct hv_audit_repair_info ri;
	struct hv_err why = { 0 };
	uint64_t i;

	if (hv_audit_parse_repair(line, len, &ri, &why) < 0)
		return fail(v, e, "%s", why.msg);
	if (ri.first_lost != v->next || ri.last_lost + 1 != l->seq)
		return fail(v, e, "seq %llu: modified (an audit.repair saying seq %llu to "
		    "%llu were lost, after seq %llu)", (unsigned long long)l->seq,
		    (unsigned long long)ri.first_lost, (unsigned long long)ri.last_lost,
		    (unsigned long long)v->next - 1);
	if (memcmp(l->prevb, v->prev, 32) != 0)
		return fail(v, e, "seq %llu: modified (an audit.repair whose prev does not "
		    "match the hash of seq %llu)", (unsigned long long)l->seq,
		    (unsigned long long)v->next - 1);
	for (i = v->next; v->have_key && i < l->seq; i++)
		ratchet(v->hmac, v->key);
	v->next = l->seq;
	if (!chains(v, l, line))
		return fail(v, e, "seq %llu: modified (its MAC does not match)",
		    (unsigned long long)l->seq);
	v->gaps = hv_xrealloc(v->gaps, (v->ngaps + 1) * sizeof *v->gaps);
	v->gaps[v->ngaps].ri = ri;
	v->gaps[v->ngaps].seq = l->seq;
	v->ngaps++;
	v->s.repairs++;
	accept(v, l, line, len);
	return 0;
}

int
hv_audit_verify_line(struct hv_audit_verify *v, const char *line, size_t len,
    struct hv_err *e)
{
	struct hv_audit_line l;
	struct hv_err why = { 0 };

	if (v->failed)
		return HV_EDATA;
	if (hv_audit_parse(&l, line, len, &why) < 0) {
		if (v->pending != P_NONE)
			return resolve(v, NULL, line, e);
		if (!v->started)
			return fail(v, e, "first line: malformed: %s", why.msg);
		return fail(v, e, "line after seq %llu: malformed: %s",
		    (unsigned long long)v->next - 1, why.msg);
	}
	if (v->pending != P_NONE)
		return resolve(v, &l, line, e);
	/* A repair's gap shows only after the line before it; a file that
	 * starts with one is taken as any file starting anywhere. */
	if (l.repair && v->started)
		return repair_gap(v, &l, line, len, e);
	if (!v->started) {
		if (v->from_start && l.seq != 0)
			return fail(v, e, "seq 0: deleted (the trail starts at seq %llu)",
			    (unsigned long long)l.seq);
		start(v, &l);
		if (l.seq == 0)
			memset(v->prev, 0, 32);
	}
	if (l.seq != v->next)
		return out_of_place(v, &l, e);
	if (!chains(v, &l, line)) {
		v->pending = P_BAD;
		if (v->have_key && memcmp(l.prevb, v->prev, 32) == 0)
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its MAC does "
			    "not match)", (unsigned long long)l.seq);
		else if (v->have_key || l.seq == 0)
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its prev does not "
			    "match the hash of seq %llu)", (unsigned long long)l.seq,
			    (unsigned long long)l.seq - 1);
		else
			snprintf(v->why, sizeof v->why, "seq %llu: modified (its hash does not "
			    "match the prev of seq %llu)", (unsigned long long)l.seq - 1,
			    (unsigned long long)l.seq);
		return 0;
	}
	if (l.checkpoint && check_signature(v, &l, e) < 0)
		return HV_EDATA;
	accept(v, &l, line, len);
	return 0;
}

int
hv_audit_verify_end(struct hv_audit_verify *v, struct hv_err *e)
{
	if (v->failed)
		return HV_EDATA;
	if (v->pending != P_NONE)
		return resolve(v, NULL, NULL, e);
	return 0;
}

void
hv_audit_verify_status(const struct hv_audit_verify *v, struct hv_audit_verify_status *s)
{
	*s = v->s;
}

void
hv_audit_verify_free(struct hv_audit_verify *v)
{
	if (v == NULL)
		return;
	hv_secure_free(v->key, 32);
	hv_hmac_free(v->hmac);
	hv_sha256_free(v->sha);
	free(v->gaps);
	free(v);
}

int
hv_audit_verify_gap(const struct hv_audit_verify *v, size_t i,
    struct hv_audit_repair_info *g, uint64_t *repair_seq)
{
	if (i >= v->ngaps)
		return 0;
	*g = v->gaps[i].ri;
	*repair_seq = v->gaps[i].seq;
	return 1;
}
