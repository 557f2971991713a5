/* audit: lines, the chain, tampering of every kind, forward integrity,
 * concurrent appenders, crash repair; and the crypto and jq it uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "crypto_sign.h"
#include "json_jq.h"
#include "keys.h"
#include "tap.h"

#define MAXLINES 9000

static char dir[] = "/tmp/hv-audit-unit.XXXXXX";
static char *lines[MAXLINES];
static size_t nlines;

static void
unhex(uint8_t *out, const char *hex, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* A trail under dir/name; extra is more configuration text, or "". */
static int
config_with(struct hv_config *c, const char *name, const char *extra)
{
	char text[1024];
	struct hv_err e;

	snprintf(text, sizeof text, "[paths]\naudit = %s/%s/audit.log\n%s", dir, name, extra);
	return hv_config_parse(c, "test", text, strlen(text), &e);
}

static int
config(struct hv_config *c, const char *name)
{
	return config_with(c, name, "");
}

static void
load(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[HV_AUDIT_LINE_MAX + 2];

	while (nlines > 0)
		free(lines[--nlines]);
	while (f != NULL && nlines < MAXLINES && fgets(buf, sizeof buf, f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		lines[nlines++] = strdup(buf);
	}
	if (f != NULL)
		fclose(f);
}

struct keys {
	uint8_t key0[32], pub[32];
};

static void
load_keys(const char *name, struct keys *k)
{
	struct hv_config c;
	struct hv_buf b = HV_BUF_INIT(256);
	char path[512], text[128] = "";
	struct hv_err e;
	FILE *f;

	config(&c, name);
	snprintf(path, sizeof path, "%s.key0", c.paths.audit);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(text, sizeof text, f) == NULL)
			text[0] = '\0';
		fclose(f);
	}
	hv_key_decode(text, strlen(text), HV_KEY_SYMMETRIC, k->key0, &e);
	hv_audit_pubkey(&c, &b, &e);
	hv_audit_pubkey_decode(b.data ? b.data : "", b.len, k->pub, &e);
	hv_buf_release(&b);
	hv_config_free(&c);
}

/* Verify an array of lines: 0, or HV_EDATA with the verdict in e. */
static int
verify(char **l, size_t n, const uint8_t *key0, const uint8_t *pub, struct hv_err *e)
{
	struct hv_audit_verify *v = hv_audit_verify_new(key0, pub, 1);
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++)
		r = hv_audit_verify_line(v, l[i], strlen(l[i]), e);
	if (r == 0)
		r = hv_audit_verify_end(v, e);
	hv_audit_verify_free(v);
	return r;
}

static void
test_crypto(void)
{
	static const char *seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char *pub_hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char *sig_hex = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0652249015"
	    "55fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	uint8_t seed[32], pub[32], want[32], sig[64], wsig[64], key[32], a[32], b[32];
	struct hv_hmac *h = hv_hmac_new();
	struct hv_err e;

	unhex(seed, seed_hex, 32);
	unhex(want, pub_hex, 32);
	unhex(wsig, sig_hex, 64);
	ok(hv_ed25519_public(pub, seed, &e) == 0 && memcmp(pub, want, 32) == 0,
	    "Ed25519 public key: RFC 8032 test 1");
	ok(hv_ed25519_sign(sig, seed, "", 0, &e) == 0 && memcmp(sig, wsig, 64) == 0,
	    "Ed25519 signature: RFC 8032 test 1");
	is_int(hv_ed25519_verify(pub, sig, "", 0, &e), 0, "it verifies");
	sig[10] ^= 1;
	is_int(hv_ed25519_verify(pub, sig, "", 0, &e), HV_EDATA, "a forged signature does not");
	is_int(hv_ed25519_verify(pub, wsig, "x", 1, &e), HV_EDATA, "nor another message");
	memset(key, 7, sizeof key);
	hv_hmac_setkey(h, key);
	hv_hmac_mac(h, a, "hello, ", 7, "world", 5);
	hv_hmac_sha256(b, key, 32, "hello, world", 12);
	ok(memcmp(a, b, 32) == 0, "HMAC with a set-up key equals one-shot HMAC");
	hv_hmac_mac(h, a, "hello, world", 12, NULL, 0);
	ok(memcmp(a, b, 32) == 0, "and again, in one piece");
	hv_hmac_free(h);
}

static void
test_jq(void)
{
	struct hv_jq *q;
	struct hv_buf out = HV_BUF_INIT(4096);
	const char *set[] = { "p", "x\"y", NULL };
	struct hv_err e;
	size_t n;

	is_int(hv_jq_compile(&q, "select(", &e), HV_EUSAGE, "a filter that does not compile");
	ok(strstr(e.msg, "bad jq filter") != NULL, "says so: %s", e.msg);
	hv_jq_compile(&q, ".a, .b, {p}", &e);
	is_int(hv_jq_run(q, "{\"a\":1.0,\"b\":null}", 18, set, &out, &n, &e), 0, "run a filter");
	is_str(out.data, "1\nnull\n{\"p\":\"x\\\"y\"}\n", "outputs as jq -c prints them");
	is_int(n, 2, "null is not a match");
	is_int(hv_jq_run(q, "{", 1, NULL, &out, &n, &e), HV_EDATA, "bad JSON is refused");
	hv_jq_free(q);
	hv_jq_compile(&q, ".a | error", &e);
	is_int(hv_jq_run(q, "{\"a\":\"boom\"}", 12, NULL, NULL, &n, &e), HV_EDATA,
	    "an error raised by the filter");
	is_str(e.msg, "jq: error: boom", "is jq's message");
	hv_jq_free(q);
	hv_jq_compile(&q, ".[] | .", &e);
	hv_buf_reset(&out);
	is_int(hv_jq_strings(q, "[\"a\",1,\"b\"]", 11, &out, &n, &e), 0, "collect strings");
	ok(n == 2 && out.len == 4 && strcmp(out.data + 2, "b") == 0, "only the strings");
	hv_jq_free(q);
	hv_buf_release(&out);
}

static void
test_parse(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "", "not an hv-audit(5) line" },
		{ "hello", "not an hv-audit(5) line" },
		{ "{\"v\":2,\"seq\":1}", "unknown version 2" },
		{ "{\"v\":1,\"seq\":01,\"time\":\"x\"}", "bad seq" },
		{ "{\"v\":1,\"seq\":1,\"time\":\"2026-01-01T00:00:00.000000Z\",\"action\":\"x\"}",
		    "too short" },
		{ "{\"v\":1,\"seq\":1,\"time\":\"2026-01-01 00:00:00.000000Z\",\"action\":\"x\"}",
		    "bad time" },
	};
	static const struct {
		const char *s;
		long long t;
	} times[] = {
		{ "1970-01-01", 0 }, { "2026-05-01T12:00:00Z", 1777636800 },
		{ "2026-05-01T12:00:00.123456Z", 1777636800 }, { "2026-13-01", -1 },
		{ "2026-05-01T12:00:00", -1 }, { "yesterday", -1 },
	};
	struct hv_audit_line l;
	struct hv_err e;
	time_t t;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		is_int(hv_audit_parse(&l, bad[i].line, strlen(bad[i].line), &e), HV_EDATA,
		    "bad line %zu refused", i);
		is_str(e.msg, bad[i].why, "with the reason");
	}
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		int r = hv_audit_parse_time(times[i].s, strlen(times[i].s), &t);

		ok(times[i].t < 0 ? r == HV_EDATA : (r == 0 && t == times[i].t),
		    "time '%s'", times[i].s);
	}
}

static void
test_refusals(void)
{
	static const struct {
		const char *action, *key, *value;
	} bad[] = {
		{ "Message.fetch", "account", "a" }, { "message..fetch", "account", "a" },
		{ "audit.checkpoint", "account", "a" }, { "message.fetch", "subject", "hi" },
		{ "message.fetch", "from", "a@b" }, { "message.fetch", "token", "ya29" },
		{ "message.fetch", "msgid", "<abc@example.com>" }, { "message.fetch", "Bad", "x" },
		{ "message.fetch", "reason", "x" },
	};
	struct hv_audit_field f;
	struct hv_config c;
	struct hv_err e;
	size_t i;

	config(&c, "refuse");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f.key = bad[i].key;
		f.value = bad[i].value;
		is_int(hv_audit_log(&c, bad[i].action, &f, 1, HV_AUDIT_OK, NULL, &e),
		    HV_EINTERNAL, "refused: %s %s=%s", bad[i].action, f.key, f.value);
	}
	ok(access(c.paths.audit, F_OK) < 0, "and nothing was written");
	hv_config_free(&c);
}

static void
append_some(struct hv_config *c, int n)
{
	char acct[32];
	struct hv_audit_field f[] = { { "account", acct } };
	struct hv_err e;
	int i, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		snprintf(acct, sizeof acct, "user%d@example.com", i);
		r = hv_audit_log(c, HV_AUDIT_MSG_FETCH, f, 1, HV_AUDIT_OK, NULL, &e);
	}
	ok(r == 0, "%d events appended", n);
}

/* The kinds of tampering, each done to a copy of a clean trail. */
enum op { MODIFY, DELETE, SWAP, DUPLICATE, INSERT_FORGED };

static size_t
tamper(char **out, enum op op, size_t k)
{
	size_t i, n = 0;
	char *p;

	for (i = 0; i < nlines; i++) {
		if (i == k && op == DELETE)
			continue;
		if (i == k && op == INSERT_FORGED) {
			out[n] = strdup(lines[i]);
			memcpy(strstr(out[n], "user"), "evil", 4);
			n++;
		}
		out[n] = strdup(lines[op == SWAP && i == k ? k + 1 : op == SWAP && i == k + 1 ? k : i]);
		if (i == k && op == MODIFY && (p = strstr(out[n], "user")) != NULL)
			p[0] = 'U';
		n++;
		if (i == k && op == DUPLICATE)
			out[n++] = strdup(lines[i]);
	}
	return n;
}

static void
test_tamper(void)
{
	static const struct {
		enum op op;
		size_t line;
		const char *with_key, *without;
	} cases[] = {
		{ MODIFY, 5, "seq 5: modified (its MAC", "seq 5: modified (its hash" },
		{ MODIFY, 20, "seq 20: modified (its MAC", "seq 20: modified" },
		{ DELETE, 7, "seq 7: deleted", "seq 7: deleted" },
		{ SWAP, 9, "seq 9: reordered", "seq 9: reordered" },
		{ DUPLICATE, 4, "seq 4: inserted (a second", "seq 4: inserted (a second" },
		{ INSERT_FORGED, 6, "seq 6: inserted", "seq 6: inserted" },
		{ DELETE, 0, "seq 0: deleted", "seq 0: deleted" },
	};
	char *copy[MAXLINES];
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	size_t i, j, n;

	config(&c, "tamper");
	append_some(&c, 30);
	load(c.paths.audit);
	load_keys("tamper", &k);
	is_int(nlines, 31, "the first checkpoint and 30 events");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "the clean trail verifies");
	is_int(verify(lines, nlines, NULL, k.pub, &e), 0, "without the first key too");
	is_int(verify(lines, nlines, NULL, NULL, &e), 0, "and with no key at all");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = tamper(copy, cases[i].op, cases[i].line);
		is_int(verify(copy, n, k.key0, k.pub, &e), HV_EDATA, "tamper %zu: found", i);
		ok(strncmp(e.msg, cases[i].with_key, strlen(cases[i].with_key)) == 0,
		    "named with the key: %s", e.msg);
		is_int(verify(copy, n, NULL, NULL, &e), HV_EDATA, "tamper %zu: found without keys", i);
		ok(strncmp(e.msg, cases[i].without, strlen(cases[i].without)) == 0,
		    "named without: %s", e.msg);
		for (j = 0; j < n; j++)
			free(copy[j]);
	}
	n = tamper(copy, DELETE, nlines - 1);
	is_int(verify(copy, n, k.key0, k.pub, &e), 0,
	    "a cut tail looks whole to the lines alone (the state and --max-age catch it)");
	for (j = 0; j < n; j++)
		free(copy[j]);
	hv_config_free(&c);
}

/* Rewrite line k and every line after it with the keys the host holds
 * today: hashes and MACs all consistent, as an intruder would make them. */
static void
rewrite_from(size_t k, const uint8_t today[32])
{
	uint8_t prev[32], mac[32];
	char hex[65];
	size_t i, len;
	int j;
	char *l, *p;

	for (i = k; i < nlines; i++) {
		l = lines[i];
		len = strlen(l);
		if (i == k && (p = strstr(l, "user")) != NULL)
			memcpy(p, "evil", 4);
		if (i > k) {
			for (j = 0; j < 32; j++)
				snprintf(hex + 2 * j, 3, "%02x", prev[j]);
			memcpy(l + len - 74 - 65, hex, 64);
		}
		hv_hmac_sha256(mac, today, 32, l, len - 74);
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", mac[j]);
		memcpy(l + len - 66, hex, 64);
		l[len] = '\n';
		hv_sha256(prev, l, len + 1);
		l[len] = '\0';
	}
}

static void
test_forward(void)
{
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	char path[512], buf[1024], *p;
	uint8_t today[32];
	FILE *f;

	config(&c, "forward");
	append_some(&c, 12);
	load_keys("forward", &k);
	snprintf(path, sizeof path, "%s.state", c.paths.audit);
	f = fopen(path, "r");
	while (f != NULL && fgets(buf, sizeof buf, f) != NULL)
		if (strncmp(buf, "key ", 4) == 0)
			unhex(today, buf + 4, 32);
	if (f != NULL)
		fclose(f);
	load(c.paths.audit);
	rewrite_from(3, today);
	p = strstr(lines[3], "evil");
	ok(p != NULL, "an old line rewritten with today's key");
	is_int(verify(lines, 8, NULL, NULL, &e), 0, "the hash chain alone cannot tell");
	is_int(verify(lines, nlines, k.key0, NULL, &e), HV_EDATA, "the first key can");
	ok(strncmp(e.msg, "seq 3: modified (its MAC", 24) == 0, "naming the line: %s", e.msg);
	hv_config_free(&c);
}

static void
test_concurrent(void)
{
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	pid_t pids[8];
	int i, st, all = 1;

	config(&c, "concurrent");
	hv_audit_checkpoint(&c, &e);
	for (i = 0; i < 8; i++)
		if ((pids[i] = fork()) == 0) {
			struct hv_audit_field f[] = { { "account", "x@example.com" } };
			int j, r = 0;

			for (j = 0; j < 1000 && r == 0; j++)
				r = hv_audit_log(&c, HV_AUDIT_MSG_IMPORT, f, 1, HV_AUDIT_OK, NULL, &e);
			_exit(r != 0);
		}
	for (i = 0; i < 8; i++)
		all &= waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	ok(all, "8 processes appended 1,000 events each");
	load(c.paths.audit);
	load_keys("concurrent", &k);
	is_int(nlines, 1 + 1 + 8000 + 8, "every event, the checkpoints, one line each");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and the trail verifies");
	hv_config_free(&c);
}

static void
test_repair(void)
{
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	char state[512], saved[512], cmd[1200];
	FILE *f;

	config(&c, "repair");
	append_some(&c, 3);
	snprintf(state, sizeof state, "%s.state", c.paths.audit);
	snprintf(saved, sizeof saved, "%s.saved", c.paths.audit);
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", state, saved);
	ok(system(cmd) == 0, "keep the state as it is");
	append_some(&c, 2);
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", saved, state);
	ok(system(cmd) == 0, "a crash: the state written before the last two lines");
	f = fopen(c.paths.audit, "a");
	fputs("{\"v\":1,\"seq\":6,\"time\":\"torn", f);
	fclose(f);
	append_some(&c, 1);
	load(c.paths.audit);
	load_keys("repair", &k);
	is_int(nlines, 7, "the lines were adopted, the torn one cut off");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and the trail verifies");
	f = fopen(c.paths.audit, "a");
	fputs(lines[2], f);
	fputc('\n', f);
	fclose(f);
	is_int(hv_audit_log(&c, "message.fetch", NULL, 0, HV_AUDIT_OK, NULL, &e), HV_EDATA,
	    "a foreign line past the state is refused");
	ok(strstr(e.msg, "does not continue the chain") != NULL, "%s", e.msg);
	hv_config_free(&c);
}

/* The whole file at path into a new buffer (NUL-terminated); *len. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *b = calloc(1, 1 << 20);

	*len = f != NULL ? fread(b, 1, (1 << 20) - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	return b;
}

static size_t
line_start(const char *b, size_t len, size_t nth_from_end)
{
	size_t i = len - 1, seen = 0;

	while (i > 0) {
		if (b[i - 1] == '\n' && ++seen == nth_from_end)
			return i;
		i--;
	}
	return 0;
}

/* The tail analysis on the text of a clean trail, damaged in each way. */
static void
test_tail(void)
{
	struct hv_audit_tail t;
	struct hv_config c;
	struct hv_err e;
	uint8_t prev[32], sum[32];
	uint64_t next;
	size_t len, last, n;
	char *b, *d;

	config(&c, "tail");
	append_some(&c, 6);
	b = slurp(c.paths.audit, &len);
	hv_audit_state_tail(c.paths.audit, &next, prev, &e);
	last = line_start(b, len, 1);
	d = malloc(len + 1);

	hv_audit_tail_analyse(b, len, next, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_OK, "a clean trail: nothing to repair");
	is_int(t.good_next, next, "every line good");

	n = last + (len - last) / 2;
	hv_audit_tail_analyse(b, n, next, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_TORN, "the last line cut in half: torn");
	ok(t.first_lost == next - 1 && t.last_lost == next - 1, "seq %llu lost",
	    (unsigned long long)t.first_lost);
	is_int(t.lost_bytes, len - last, "the state's bytes past the good lines");
	is_int(t.cut_bytes, n - last, "the torn half is cut");
	hv_sha256(sum, b + last, n - last);
	ok(memcmp(sum, t.cut_sha256, 32) == 0, "and hashed");
	is_int(t.good_bytes, last, "the good lines end where the torn one starts");

	n = line_start(b, len, 2);
	hv_audit_tail_analyse(b, n, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_TORN && t.first_lost == next - 2 && t.last_lost == next - 1 &&
	    t.cut_bytes == 0, "two whole lines gone: torn, seq %llu to %llu, nothing cut",
	    (unsigned long long)t.first_lost, (unsigned long long)t.last_lost);

	memcpy(d, b, len);
	memset(d + len - 100, 0, 100);
	hv_audit_tail_analyse(d, len, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_TORN && t.first_lost == next - 1 && t.cut_bytes == len - last,
	    "NUL bytes where the last page was, the size kept: torn");

	memcpy(d, b, len);
	memset(d + last - 50, 0, len - last + 50);
	hv_audit_tail_analyse(d, len, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_TORN && t.first_lost == next - 2, "NULs across two lines: "
	    "both lost");

	memcpy(d, b, len);
	memset(d + last - 100, 0, 20);
	hv_audit_tail_analyse(d, len, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_TORN && t.first_lost == next - 2,
	    "a hole, then a whole line of the lost seqs: torn, both lost");

	memcpy(d, b, len);
	*strstr(d + line_start(b, len, 4), "user") = 'U';
	hv_audit_tail_analyse(d, last + 10, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_BAD && strstr(t.why, "does not continue the chain"),
	    "a line modified in the middle, the tail cut: not torn (%s)", t.why);

	memcpy(d, b, len);
	n = line_start(b, len, 4);
	memmove(d + n, b + line_start(b, len, 3), len - line_start(b, len, 3));
	hv_audit_tail_analyse(d, len - (line_start(b, len, 3) - n), next, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "a line deleted in the middle: not torn");

	memcpy(d, b, last);
	memcpy(d + last, "hello world\n", 12);
	hv_audit_tail_analyse(d, last + 12, next, len, prev, 0, NULL, &t);
	ok(t.kind == HV_AUDIT_TAIL_BAD && strstr(t.why, "malformed"),
	    "the last line replaced by another whole line: not torn (%s)", t.why);

	memcpy(d, b, len);
	*strstr(d + last, "user") = 'U';
	hv_audit_tail_analyse(d, len, next, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "the last line modified, the size kept: not torn");

	hv_audit_tail_analyse(b, len, next - 1, last, (const uint8_t *)b, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "a state whose hash is not the line's: not torn");

	hv_audit_tail_analyse(b, last + 30, next + HV_AUDIT_REPAIR_MAX, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "more lost than a repair may record: refused");

	memset(sum, 0, 32);
	hv_audit_tail_analyse(b, len, next, len, prev, 0, sum, &t);
	is_int(t.kind, HV_AUDIT_TAIL_OK, "a base of seq 0 and no hash: the first trail file");
	sum[0] = 1;
	hv_audit_tail_analyse(b, len, next, len, prev, 0, sum, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "a base the first line does not chain to: refused");
	hv_audit_tail_analyse(b, 0, next, len, prev, 0, NULL, &t);
	is_int(t.kind, HV_AUDIT_TAIL_BAD, "nothing left and no base: refused");
	free(d);
	free(b);
	hv_config_free(&c);
}

static int
confirm_yes(void *arg, const struct hv_audit_tail *t, const char *torn_file)
{
	(void)t;
	(void)torn_file;
	++*(int *)arg;
	return 0;
}

static int
confirm_no(void *arg, const struct hv_audit_tail *t, const char *torn_file)
{
	(void)arg;
	(void)t;
	(void)torn_file;
	return HV_ENO;
}

/* hv_audit_repair end to end in the library, and the verifier on its line. */
static void
test_torn_repair(void)
{
	struct hv_audit_repair_result res;
	struct hv_audit_repair_info ri;
	struct hv_audit_verify *v;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	size_t len, last, i;
	uint64_t seq;
	int asked = 0, r;
	char *b, *p;
	FILE *f;

	config(&c, "torn");
	append_some(&c, 5);
	load_keys("torn", &k);
	b = slurp(c.paths.audit, &len);
	last = line_start(b, len, 1);
	ok(truncate(c.paths.audit, (off_t)(last + 20)) == 0, "the last line cut");
	is_int(hv_audit_log(&c, "message.fetch", NULL, 0, HV_AUDIT_OK, NULL, &e), HV_EDATA,
	    "a cut tail: appends refused");
	ok(strstr(e.msg, "hv-audit repair") != NULL, "naming the repair: %s", e.msg);
	is_int(hv_audit_ready(&c, &e), HV_EDATA, "and so is a run about to start");
	is_int(hv_audit_repair(&c, confirm_no, NULL, &res, &e), HV_ENO, "repair declined");
	hv_audit_repair_result_free(&res);
	is_int(hv_audit_log(&c, "message.fetch", NULL, 0, HV_AUDIT_OK, NULL, &e), HV_EDATA,
	    "nothing changed");
	r = hv_audit_repair(&c, confirm_yes, &asked, &res, &e);
	ok(r == 0 && asked == 1 && res.tail.kind == HV_AUDIT_TAIL_TORN, "repaired, asked once");
	ok(res.torn_file != NULL && strstr(res.torn_file, ".torn.") != NULL, "torn bytes kept in %s",
	    res.torn_file ? res.torn_file : "(none)");
	hv_audit_repair_result_free(&res);
	is_int(hv_audit_log(&c, "message.fetch", NULL, 0, HV_AUDIT_OK, NULL, &e), 0,
	    "appends work again");
	load(c.paths.audit);
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "the trail verifies with key0 and pub");
	v = hv_audit_verify_new(k.key0, k.pub, 1);
	for (i = 0; i < nlines; i++)
		hv_audit_verify_line(v, lines[i], strlen(lines[i]), &e);
	ok(hv_audit_verify_gap(v, 0, &ri, &seq) == 1 && ri.first_lost == ri.last_lost &&
	    seq == ri.last_lost + 1, "the gap is reported: seq %llu, repaired at seq %llu",
	    (unsigned long long)ri.first_lost, (unsigned long long)seq);
	ok(hv_audit_verify_gap(v, 1, &ri, &seq) == 0, "one gap only");
	hv_audit_verify_free(v);
	is_int(hv_audit_repair(&c, confirm_yes, &asked, &res, &e), 0, "a second repair");
	ok(res.tail.kind == HV_AUDIT_TAIL_OK && asked == 1, "finds nothing to do, asks nothing");
	hv_audit_repair_result_free(&res);

	for (i = 0; i < nlines && strstr(lines[i], "audit.repair") == NULL; i++)
		;
	ok(hv_audit_parse_repair(lines[i], strlen(lines[i]), &ri, &e) == 0, "its line parses");
	p = strstr(lines[i], "\"last_lost\":\"") + 13;
	*p = *p == '9' ? '8' : (char)(*p + 1);
	ok(verify(lines, nlines, k.key0, NULL, &e) == HV_EDATA && strstr(e.msg, "audit.repair"),
	    "a repair line made to claim another gap: %s", e.msg);
	*p = *p == '8' ? '9' : (char)(*p - 1);
	p = strstr(lines[i], "\"pid\":") + 6;
	*p = *p == '9' ? '8' : (char)(*p + 1);
	ok(verify(lines, nlines, k.key0, NULL, &e) == HV_EDATA && strstr(e.msg, "MAC"),
	    "a repair line otherwise modified: %s", e.msg);
	is_int(hv_audit_log(&c, "audit.repair", NULL, 0, HV_AUDIT_OK, NULL, &e), HV_EINTERNAL,
	    "a tool may not log an audit.repair");

	f = fopen(c.paths.audit, "r+");
	fseek(f, 300, SEEK_SET);
	fputc('X', f);
	fclose(f);
	ok(truncate(c.paths.audit, (off_t)(len - 10)) == 0, "and the tail cut");
	is_int(hv_audit_repair(&c, confirm_yes, &asked, &res, &e), HV_EDATA,
	    "tampering in the middle is not repaired");
	ok(strstr(e.msg, "not a torn tail") != NULL, "%s", e.msg);
	hv_audit_repair_result_free(&res);
	free(b);
	hv_config_free(&c);
}

/* A repair cut short after it kept the torn bytes: the next one goes on. */
static void
test_repair_again(void)
{
	struct hv_audit_repair_result res;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	char torn[600], *b;
	size_t len, last;
	int asked = 0;
	FILE *f;

	config(&c, "again");
	append_some(&c, 4);
	load_keys("again", &k);
	b = slurp(c.paths.audit, &len);
	last = line_start(b, len, 1);
	ok(truncate(c.paths.audit, (off_t)(last + 30)) == 0, "the last line cut");
	load(c.paths.audit);
	snprintf(torn, sizeof torn, "%s.torn.%zu", c.paths.audit, nlines - 1);
	f = fopen(torn, "w");
	fwrite(b + last, 1, 30, f);
	fclose(f);
	ok(hv_audit_repair(&c, confirm_yes, &asked, &res, &e) == 0 &&
	    res.tail.cut_bytes == 30, "the torn bytes kept already, the log not cut: repaired");
	hv_audit_repair_result_free(&res);
	load(c.paths.audit);
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "the trail verifies");

	append_some(&c, 2);
	free(b);
	b = slurp(c.paths.audit, &len);
	last = line_start(b, len, 1);
	ok(truncate(c.paths.audit, (off_t)last) == 0, "the last line gone");
	load(c.paths.audit);
	snprintf(torn, sizeof torn, "%s.torn.%llu", c.paths.audit,
	    (unsigned long long)nlines + 1);
	f = fopen(torn, "w");
	fputs("torn bytes", f);
	fclose(f);
	ok(hv_audit_repair(&c, confirm_yes, &asked, &res, &e) == 0 &&
	    res.tail.cut_bytes == 10 && res.torn_file != NULL,
	    "the torn bytes kept and cut already: the file attested (%s)", e.msg);
	hv_audit_repair_result_free(&res);
	load(c.paths.audit);
	ok(strstr(lines[nlines - 2], "\"cut_bytes\":\"10\"") != NULL, "in the event");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "the trail verifies");
	free(b);
	hv_config_free(&c);
}

static void
test_parse_repair(void)
{
	static const char head[] = "{\"v\":1,\"seq\":9,\"time\":\"2026-01-01T00:00:00.000000Z\","
	    "\"action\":\"audit.repair\",\"host\":\"h\",\"uid\":1,\"user\":\"u\\u0001x\","
	    "\"tool\":\"t\",\"pid\":1,";
	static const char tail[] = ",\"outcome\":\"ok\",\"prev\":\"0000000000000000000000000000"
	    "000000000000000000000000000000000000\",\"mac\":\"000000000000000000000000000000000"
	    "0000000000000000000000000000000\"}";
	static const struct {
		const char *target;
		int want;
	} cases[] = {
		{ "\"target\":{\"first_lost\":\"4\",\"last_lost\":\"8\"}", 0 },
		{ "\"target\":{\"first_lost\":\"8\",\"last_lost\":\"8\"}", 0 },
		{ "\"target\":{\"first_lost\":\"5\",\"last_lost\":\"4\"}", HV_EDATA },
		{ "\"target\":{\"first_lost\":\"4\",\"last_lost\":\"9\"}", HV_EDATA },
		{ "\"target\":{\"first_lost\":4,\"last_lost\":\"8\"}", HV_EDATA },
		{ "\"target\":{\"first_lost\":\"-4\",\"last_lost\":\"8\"}", HV_EDATA },
		{ "\"target\":{\"first_lost\":\"4\\u0000\",\"last_lost\":\"8\"}", HV_EDATA },
		{ "\"target\":{\"last_lost\":\"8\"}", HV_EDATA },
		{ "\"target\":[1]", HV_EDATA },
		{ "\"x\":1", HV_EDATA },
	};
	struct hv_audit_repair_info ri;
	struct hv_err e;
	char line[1024];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(line, sizeof line, "%s%s%s", head, cases[i].target, tail);
		is_int(hv_audit_parse_repair(line, strlen(line), &ri, &e), cases[i].want,
		    "repair line %s", cases[i].target);
	}
	snprintf(line, sizeof line, "%s%s%s", head, cases[0].target, tail);
	hv_audit_parse_repair(line, strlen(line), &ri, &e);
	is_str(ri.user, "u?x", "a user name printed safely");
}

static void
test_rotate(void)
{
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	struct hv_audit_verify *v;
	char **files = NULL, *rotated = NULL;
	size_t i, j;
	int r = 0;

	config(&c, "rotate");
	append_some(&c, 3);
	is_int(hv_audit_rotate(&c, &rotated, &e), 0, "rotate");
	ok(rotated != NULL && strstr(rotated, "audit.log.0") != NULL, "to audit.log.0");
	free(rotated);
	append_some(&c, 2);
	is_int(hv_audit_rotate(&c, &rotated, &e), 0, "rotate again");
	append_some(&c, 1);
	is_int(hv_audit_files(c.paths.audit, &files, &e), 0, "list the files");
	ok(files[0] && files[1] && files[2] && !files[3] &&
	    strstr(files[1], "audit.log.5") != NULL, "in order");
	load_keys("rotate", &k);
	v = hv_audit_verify_new(k.key0, k.pub, 1);
	for (i = 0; r == 0 && files[i] != NULL; i++) {
		load(files[i]);
		for (j = 0; r == 0 && j < nlines; j++)
			r = hv_audit_verify_line(v, lines[j], strlen(lines[j]), &e);
	}
	is_int(r == 0 ? hv_audit_verify_end(v, &e) : r, 0, "verify walks across the files");
	hv_audit_verify_free(v);
	hv_audit_files_free(files);
	free(rotated);
	hv_config_free(&c);
}


/* ---- batches ---- */

static const uint8_t audit_key[32] = { 7, 7, 7 };

/* Queue n message events on b, numbered from first; 0 or the first error. */
static int
queue(struct hv_audit_batch *b, int first, int n, struct hv_err *e)
{
	char mid[64];
	int i, r = 0;

	for (i = first; i < first + n && r == 0; i++) {
		snprintf(mid, sizeof mid, "<m%d@example.com>", i);
		r = hv_audit_batch_message(b, HV_AUDIT_MSG_IMPORT, "member@example.com",
		    "support", mid, i % 3 ? HV_AUDIT_OK : HV_AUDIT_FAIL,
		    i % 3 ? NULL : "quota \"exceeded\"\n", e);
	}
	return r;
}

/* Line l with what only its place in the trail decides (seq, time, prev,
 * mac) blanked, so two lines can be compared field by field. */
static char *
shape(const char *l)
{
	struct hv_audit_line pl;
	struct hv_err e;
	char *s = strdup(l), *p;
	size_t n;

	if (hv_audit_parse(&pl, s, strlen(s), &e) < 0)
		return s;
	memset(s + (pl.time - s), 'T', 27);
	memset(s + (pl.prev - s), 'P', 64);
	memset(s + (pl.mac - s), 'M', 64);
	p = strstr(s, "\"seq\":") + 6;
	n = strspn(p, "0123456789");
	*p = 'S';
	memmove(p + 1, p + n, strlen(p + n) + 1);
	return s;
}

/* The indexes of the checkpoint lines of the loaded trail, as text. */
static void
checkpoints(char *out, size_t max)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < nlines && n + 12 < max; i++)
		if (strstr(lines[i], "\"action\":\"audit.checkpoint\"") != NULL)
			n += (size_t)snprintf(out + n, max - n, "%zu ", i);
}

static void
test_batch(void)
{
	struct hv_audit_batch *b;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	char *one, *many;
	int r;

	config(&c, "batch");
	b = hv_audit_batch_new(&c, audit_key);
	is_int(hv_audit_batch_len(b), 0, "a new batch is empty");
	is_int(hv_audit_batch_flush(b, &e), 0, "an empty flush");
	ok(access(c.paths.audit, F_OK) < 0, "creates no trail");
	is_int(queue(b, 0, 100, &e), 0, "100 events queued");
	is_int(hv_audit_batch_len(b), 100, "and counted");
	ok(access(c.paths.audit, F_OK) < 0, "nothing written yet");
	is_int(hv_audit_batch_flush(b, &e), 0, "flushed");
	is_int(hv_audit_batch_len(b), 0, "the queue is empty after");
	load(c.paths.audit);
	is_int(nlines, 101, "the first checkpoint and 100 events, a line each");
	r = hv_audit_message(&c, audit_key, HV_AUDIT_MSG_IMPORT, "member@example.com",
	    "support", "<m0@example.com>", HV_AUDIT_FAIL, "quota \"exceeded\"\n", &e);
	is_int(r, 0, "a single append of the batch's first event");
	load(c.paths.audit);
	one = shape(lines[nlines - 1]);
	many = shape(lines[1]);
	is_str(many, one, "a batch's line is a single append's, field for field");
	free(one);
	free(many);
	ok(strstr(lines[1], "\"seq\":1,") != NULL && strstr(lines[100], "\"seq\":100,") != NULL,
	    "each line its own seq");

	/* Interleaved: singles, batches of several sizes, a batch of one. */
	append_some(&c, 3);
	is_int(queue(b, 100, 17, &e) || hv_audit_batch_flush(b, &e), 0, "a batch of 17");
	append_some(&c, 1);
	is_int(queue(b, 117, 1, &e) || hv_audit_batch_flush(b, &e), 0, "a batch of 1");
	is_int(queue(b, 118, 8, &e) || hv_audit_batch_flush(b, &e), 0, "a batch of 8");
	is_int(hv_audit_batch_flush(b, &e), 0, "an empty flush on a trail");
	load(c.paths.audit);
	load_keys("batch", &k);
	is_int(nlines, 101 + 1 + 3 + 17 + 1 + 1 + 8, "every event once");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "the trail verifies: %s",
	    e.msg);
	hv_audit_batch_free(b);
	hv_audit_batch_free(NULL);
	hv_config_free(&c);
}

static void
test_batch_refusals(void)
{
	char big[HV_AUDIT_VALUE_MAX + 1];
	struct hv_audit_field f[HV_AUDIT_FIELDS_MAX];
	char keys[HV_AUDIT_FIELDS_MAX][8];
	struct hv_audit_batch *b;
	struct hv_config c;
	struct hv_err e;
	FILE *fp;
	size_t i;

	config(&c, "batch-refuse");
	b = hv_audit_batch_new(&c, NULL);
	is_int(hv_audit_batch_message(b, HV_AUDIT_MSG_IMPORT, "a@example.com", "t",
	    "<m@x>", HV_AUDIT_OK, NULL, &e), HV_EINTERNAL, "a message event needs a key");
	f[0].key = "subject";
	f[0].value = "hi";
	is_int(hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, f, 1, HV_AUDIT_OK, NULL, &e),
	    HV_EINTERNAL, "a content field is refused when queued");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (i = 0; i < HV_AUDIT_FIELDS_MAX; i++) {
		snprintf(keys[i], sizeof keys[i], "k%zu", i);
		f[i].key = keys[i];
		f[i].value = big;
	}
	is_int(hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, f, HV_AUDIT_FIELDS_MAX, HV_AUDIT_OK,
	    NULL, &e), HV_EINTERNAL, "an event longer than a line is refused");
	ok(strstr(e.msg, "longer than") != NULL, "%s", e.msg);
	is_int(hv_audit_log(&c, HV_AUDIT_MSG_FETCH, f, HV_AUDIT_FIELDS_MAX, HV_AUDIT_OK,
	    NULL, &e), HV_EINTERNAL, "by hv_audit_log too");
	is_int(hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, f, 5, HV_AUDIT_OK, NULL, &e), 0,
	    "five long fields fit");
	is_int(hv_audit_batch_len(b), 1, "only the event that fits is queued");
	for (i = 1; i < HV_AUDIT_BATCH_MAX; i++)
		hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, NULL, 0, HV_AUDIT_OK, NULL, &e);
	is_int(hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, NULL, 0, HV_AUDIT_OK, NULL, &e),
	    HV_EINTERNAL, "a full batch takes no more");
	is_int(hv_audit_batch_len(b), HV_AUDIT_BATCH_MAX, "it holds %d", HV_AUDIT_BATCH_MAX);
	is_int(hv_audit_batch_flush(b, &e), 0, "and flushes them all");
	load(c.paths.audit);
	is_int(nlines, 1 + HV_AUDIT_BATCH_MAX + 1, "with the checkpoint that came due");

	/* A trail that does not match its state: the flush fails, the queue empties. */
	fp = fopen(c.paths.audit, "a");
	fputs(lines[2], fp);
	fputc('\n', fp);
	fclose(fp);
	hv_audit_batch_log(b, HV_AUDIT_MSG_FETCH, NULL, 0, HV_AUDIT_OK, NULL, &e);
	is_int(hv_audit_batch_flush(b, &e), HV_EDATA, "a flush onto a foreign line fails");
	is_int(hv_audit_batch_len(b), 0, "and the queue is empty after");
	hv_audit_batch_free(b);
	hv_config_free(&c);
}

static void
test_batch_checkpoints(void)
{
	struct hv_audit_batch *b;
	struct hv_config c, d;
	struct keys k;
	struct hv_err e;
	char one[256], many[256];
	int i;

	config_with(&c, "ckpt-single", "[audit]\ncheckpoint_events = 5\n");
	config_with(&d, "ckpt-batch", "[audit]\ncheckpoint_events = 5\n");
	for (i = 0; i < 23; i++)
		hv_audit_message(&c, audit_key, HV_AUDIT_MSG_IMPORT, "a@example.com", "t",
		    "<m@x>", HV_AUDIT_OK, NULL, &e);
	load(c.paths.audit);
	checkpoints(one, sizeof one);
	b = hv_audit_batch_new(&d, audit_key);
	is_int(queue(b, 0, 23, &e), 0, "23 events queued with a checkpoint due every 5");
	is_int(hv_audit_batch_flush(b, &e), 0, "flushed");
	load(d.paths.audit);
	checkpoints(many, sizeof many);
	ok(strlen(one) > 4, "single appends made checkpoints: %s", one);
	is_str(many, one, "a batch makes them at the same places");
	load_keys("ckpt-batch", &k);
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and their signatures verify");
	hv_audit_batch_free(b);
	hv_config_free(&c);
	hv_config_free(&d);
}

/* What hv-doctor reads: the last checkpoint, from the state alone. */
static void
test_state_checkpoint(void)
{
	struct hv_config c;
	struct hv_err e;
	uint64_t seq = 0;
	long long when = 0, now = (long long)time(NULL);
	int i;

	config_with(&c, "state-ckpt", "[audit]\ncheckpoint_events = 5\n");
	is_int(hv_audit_state_checkpoint(c.paths.audit, &seq, &when, &e), HV_ENOINPUT,
	    "no trail, no state");
	for (i = 0; i < 7; i++)
		hv_audit_message(&c, audit_key, HV_AUDIT_MSG_IMPORT, "a@example.com", "t",
		    "<m@x>", HV_AUDIT_OK, NULL, &e);
	is_int(hv_audit_state_checkpoint(c.paths.audit, &seq, &when, &e), 0,
	    "the last checkpoint from the state");
	load(c.paths.audit);
	ok(seq > 0 && seq < nlines && strstr(lines[seq], "\"action\":\"audit.checkpoint\""),
	    "its seq is a checkpoint line's (%llu)", (unsigned long long)seq);
	ok(when >= now - 60 && when <= now + 60, "and its time is now");
	hv_config_free(&c);
}

static void
test_batch_concurrent(void)
{
	struct hv_audit_batch *b;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	pid_t pid;
	int i, st, r = 0;

	config(&c, "batch-concurrent");
	hv_audit_checkpoint(&c, &e);
	if ((pid = fork()) == 0) {
		struct hv_audit_field f[] = { { "account", "x@example.com" } };
		int j, rr = 0;

		for (j = 0; j < 500 && rr == 0; j++)
			rr = hv_audit_log(&c, HV_AUDIT_MSG_FETCH, f, 1, HV_AUDIT_OK, NULL, &e);
		_exit(rr != 0);
	}
	b = hv_audit_batch_new(&c, audit_key);
	for (i = 0; i < 100 && r == 0; i++)
		if ((r = queue(b, i * 10, 1 + i % 10, &e)) == 0)
			r = hv_audit_batch_flush(b, &e);
	ok(r == 0, "100 batches flushed while another process appends");
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the other process appended 500 events");
	load(c.paths.audit);
	load_keys("batch-concurrent", &k);
	for (i = 0, r = 0; (size_t)i < nlines; i++)
		r += strstr(lines[i], "\"action\":\"audit.checkpoint\"") == NULL;
	is_int(r, 500 + 550, "every event, one line each");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and the trail verifies");
	hv_audit_batch_free(b);
	hv_config_free(&c);
}

/* A crash inside a batch's write: the state is the one before it and the
 * log holds a prefix of the batch's lines. */
static void
test_batch_crash(void)
{
	struct hv_audit_batch *b;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	char state[512], saved[512], cmd[1200];
	struct stat before, after;
	off_t cut;
	int fd, i;

	config(&c, "batch-crash");
	append_some(&c, 2);
	snprintf(state, sizeof state, "%s.state", c.paths.audit);
	snprintf(saved, sizeof saved, "%s.saved", c.paths.audit);
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", state, saved);
	ok(system(cmd) == 0 && stat(c.paths.audit, &before) == 0, "keep the state");
	b = hv_audit_batch_new(&c, audit_key);
	is_int(queue(b, 0, 10, &e) || hv_audit_batch_flush(b, &e), 0, "a batch of 10");
	ok(stat(c.paths.audit, &after) == 0 && after.st_size > before.st_size + 1000,
	    "written");
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", saved, state);
	ok(system(cmd) == 0, "a crash: the state from before the batch");
	/* The write got 4 lines and a half in. */
	load(c.paths.audit);
	for (cut = before.st_size, i = 3; i < 7; i++)
		cut += (off_t)strlen(lines[i]) + 1;
	ok(truncate(c.paths.audit, cut + (off_t)strlen(lines[7]) / 2) == 0,
	    "and the log cut inside the fifth line");
	is_int(queue(b, 10, 1, &e) || hv_audit_batch_flush(b, &e), 0, "the next flush");
	load(c.paths.audit);
	load_keys("batch-crash", &k);
	is_int(nlines, 3 + 4 + 1, "adopted the four whole lines, cut the torn one");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and the trail verifies");

	/* A power cut: a hole of zeros where a page never reached the disk. */
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", state, saved);
	ok(system(cmd) == 0 && stat(c.paths.audit, &before) == 0, "keep the state again");
	is_int(queue(b, 20, 6, &e) || hv_audit_batch_flush(b, &e), 0, "a batch of 6");
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", saved, state);
	ok(system(cmd) == 0, "a crash before the state was replaced");
	load(c.paths.audit);
	fd = open(c.paths.audit, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "\0\0\0\0\0\0\0\0", 8, before.st_size +
	    (off_t)strlen(lines[nlines - 6]) + 1 + 20) == 8, "zeros in the second line");
	close(fd);
	is_int(queue(b, 30, 1, &e) || hv_audit_batch_flush(b, &e), 0, "the next flush");
	load(c.paths.audit);
	is_int(nlines, 8 + 1 + 1, "adopted the first line, cut from the hole on");
	is_int(verify(lines, nlines, k.key0, k.pub, &e), 0, "and the trail verifies");
	hv_audit_batch_free(b);
	hv_config_free(&c);
}

static void
put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

/* A fresh verifier over files; its verdict, its status in *s. */
static int
verify_paths(char **files, const uint8_t *key0, const uint8_t *pub, int from_start,
    const char *log, struct hv_audit_verify_status *s, struct hv_err *e)
{
	struct hv_audit_verify *v = hv_audit_verify_new(key0, pub, from_start);
	int r = hv_audit_verify_files(v, files, NULL, NULL, e);

	if (r == 0)
		r = hv_audit_verify_end(v, e);
	if (r == 0 && log != NULL)
		r = hv_audit_verify_state(v, log, e);
	hv_audit_verify_status(v, s);
	hv_audit_verify_free(v);
	return r;
}

/* hv_audit_verify_files agrees with the line-by-line verifier; a first seq
 * past what its file holds fails at once; a rewritten state is caught by
 * its key; freshness. */
static void
test_verify_files(void)
{
	struct hv_audit_verify_status s;
	struct hv_config c;
	struct keys k;
	struct hv_err e, e2;
	char path[512], state[600], *files[] = { NULL, NULL }, *b, *p;
	size_t len, cut;
	uint64_t last;
	FILE *f;
	int i;

	config_with(&c, "vf", "[audit]\ncheckpoint_events = 100000\n");
	append_some(&c, 1500);
	load_keys("vf", &k);
	load(c.paths.audit);
	files[0] = c.paths.audit;
	is_int(verify_paths(files, k.key0, k.pub, 1, c.paths.audit, &s, &e), 0,
	    "a trail of %zu lines verifies, its state too", nlines);
	is_int(s.lines, nlines, "every line");
	is_int(verify_paths(files, NULL, NULL, 1, c.paths.audit, &s, &e), 0, "and without keys");

	snprintf(path, sizeof path, "%s/vf/copy", dir);
	for (i = 0; i < 3; i++) {
		size_t at = (size_t)(i == 0 ? 700 : i == 1 ? 1 : nlines - 1);
		char *q = strstr(lines[at], "\"pid\":") + 6, was = *q;
		struct hv_audit_verify *v;

		*q = *q == '9' ? '8' : (char)(*q + 1);
		f = fopen(path, "w");
		for (len = 0; len < nlines; len++)
			fprintf(f, "%s\n", lines[len]);
		fclose(f);
		*q = was;
		files[0] = path;
		verify_paths(files, k.key0, k.pub, 1, NULL, &s, &e);
		memset(&e2, 0, sizeof e2);
		v = hv_audit_verify_new(k.key0, k.pub, 1);
		f = fopen(path, "r");
		b = calloc(1, 1 << 20);
		while (fgets(b, 1 << 20, f) != NULL && hv_audit_verify_line(v, b,
		    strcspn(b, "\n"), &e2) == 0)
			;
		if (e2.code == 0)
			hv_audit_verify_end(v, &e2);
		fclose(f);
		free(b);
		hv_audit_verify_free(v);
		ok(strstr(e.msg, e2.msg) != NULL, "line %zu modified: the same verdict as line by "
		    "line: %s", at, e.msg);
	}

	/* Finding 5: a first seq near 2^64 is not ratcheted to. */
	b = strdup(lines[5]);
	p = strstr(b, "\"seq\":") + 6;
	len = strspn(p, "0123456789");
	snprintf(state, sizeof state, "%.*s\"seq\":9999999999999999999%s\n", (int)(p - 6 - b), b,
	    p + len);
	put(path, state, strlen(state));
	is_int(verify_paths(files, k.key0, NULL, 0, NULL, &s, &e), HV_EDATA,
	    "a first line at seq 9999999999999999999: refused at once");
	ok(strstr(e.msg, "more lines before the first than there can be") != NULL, "%s", e.msg);
	free(b);
	{
		struct hv_audit_verify *v = hv_audit_verify_new(k.key0, NULL, 0);

		hv_audit_verify_limit(v, 4);
		is_int(hv_audit_verify_line(v, lines[5], strlen(lines[5]), &e), HV_EDATA,
		    "a first seq past the limit set");
		hv_audit_verify_free(v);
		v = hv_audit_verify_new(k.key0, NULL, 0);
		hv_audit_verify_limit(v, 5);
		ok(hv_audit_verify_line(v, lines[5], strlen(lines[5]), &e) == 0 &&
		    hv_audit_verify_line(v, lines[6], strlen(lines[6]), &e) == 0 &&
		    hv_audit_verify_end(v, &e) == 0, "one at the limit is ratcheted to and checked");
		hv_audit_verify_free(v);
	}

	/* Torn and long lines. */
	put(path, lines[0], strlen(lines[0]));
	is_int(verify_paths(files, k.key0, NULL, 1, NULL, &s, &e), HV_EDATA, "a torn last line");
	ok(strstr(e.msg, "line 1: no newline at the end") != NULL, "%s", e.msg);
	b = malloc(HV_AUDIT_LINE_MAX + 2);
	memset(b, 'x', HV_AUDIT_LINE_MAX + 1);
	b[HV_AUDIT_LINE_MAX + 1] = '\n';
	put(path, b, HV_AUDIT_LINE_MAX + 2);
	is_int(verify_paths(files, k.key0, NULL, 1, NULL, &s, &e), HV_EDATA, "a long line");
	ok(strstr(e.msg, "line 1: longer than") != NULL, "%s", e.msg);
	free(b);

	/* Finding 6: lines cut after the last checkpoint, the state rewritten
	 * to match: only its MAC key gives it away. */
	files[0] = c.paths.audit;
	b = slurp(c.paths.audit, &len);
	cut = line_start(b, len, 3);
	ok(truncate(c.paths.audit, (off_t)cut) == 0, "three lines cut");
	load(c.paths.audit);
	last = nlines - 1;
	{
		uint8_t h[32];
		char hex[65];
		int j;

		hv_sha256(h, b + line_start(b, cut, 1), cut - line_start(b, cut, 1));
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", h[j]);
		snprintf(state, sizeof state, "%s.state", c.paths.audit);
		f = fopen(state, "r");
		p = calloc(1, 4096);
		len = fread(p, 1, 4095, f);
		fclose(f);
		f = fopen(state, "w");
		fprintf(f, "hv-audit-state 1\nseq %llu\nsize %zu\nprev %s\n%s",
		    (unsigned long long)last + 1, cut, hex, strstr(p, "key "));
		fclose(f);
		free(p);
	}
	is_int(verify_paths(files, NULL, k.pub, 1, c.paths.audit, &s, &e), 0,
	    "without key0 the rewritten state passes (nothing to check it by)");
	is_int(verify_paths(files, k.key0, k.pub, 1, c.paths.audit, &s, &e), HV_EDATA,
	    "with key0 it does not");
	ok(strstr(e.msg, "state's MAC key") != NULL, "%s", e.msg);
	unlink(state);
	is_int(verify_paths(files, k.key0, k.pub, 1, c.paths.audit, &s, &e), HV_EDATA,
	    "a state deleted");
	free(b);

	/* Freshness. */
	memset(&s, 0, sizeof s);
	is_int(hv_audit_verify_fresh(&s, 3600, 1000000, &e), HV_EDATA, "no checkpoint: not fresh");
	s.have_checkpoint = 1;
	s.checkpoint_time = 1000000 - 3600;
	is_int(hv_audit_verify_fresh(&s, 3600, 1000000, &e), 0, "a checkpoint max_age old is");
	is_int(hv_audit_verify_fresh(&s, 3599, 1000000, &e), HV_EDATA, "one second older is not");
	ok(strstr(e.msg, "older than --max-age") != NULL, "%s", e.msg);
	hv_config_free(&c);
}

/* A trail over two read blocks (4 MiB): the pipeline hands batches
 * between threads, and a verdict in the second block is the same. */
static void
test_verify_blocks(void)
{
	struct hv_audit_verify_status s;
	struct hv_audit_batch *b;
	struct hv_config c;
	struct keys k;
	struct hv_err e;
	struct hv_audit_field f[] = { { "account", "someone.with.a.long.name@example.com" },
	    { "team", "support-and-other-things" } };
	char *files[] = { NULL, NULL }, *buf, *p, *q;
	size_t len;
	int i, j;
	FILE *fp;

	config_with(&c, "blocks", "[audit]\ncheckpoint_events = 5000\n");
	b = hv_audit_batch_new(&c, NULL);
	for (i = 0; i < 12; i++) {
		for (j = 0; j < 1000; j++)
			hv_audit_batch_log(b, "message.fetch", f, 2, HV_AUDIT_OK, NULL, &e);
		hv_audit_batch_flush(b, &e);
	}
	hv_audit_batch_free(b);
	load_keys("blocks", &k);
	files[0] = c.paths.audit;
	is_int(verify_paths(files, k.key0, k.pub, 1, c.paths.audit, &s, &e), 0,
	    "a trail of over 4 MiB verifies");
	ok(s.lines > 12000 && s.signatures >= 3, "all %llu lines, %llu signatures",
	    (unsigned long long)s.lines, (unsigned long long)s.signatures);

	/* A byte changed, then a line deleted, past the first block. */
	fp = fopen(c.paths.audit, "r");
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	buf = calloc(1, len + 1);
	len = fread(buf, 1, len, fp);
	fclose(fp);
	ok(len > 4 * 1024 * 1024 + 100000, "the log is %zu bytes", len);
	p = strstr(buf + 4 * 1024 * 1024 + 50000, "\n{") + 1;
	q = strstr(p, "\"pid\":") + 6;
	*q = *q == '9' ? '8' : (char)(*q + 1);
	fp = fopen(c.paths.audit, "w");
	fwrite(buf, 1, len, fp);
	fclose(fp);
	is_int(verify_paths(files, k.key0, NULL, 1, NULL, &s, &e), HV_EDATA,
	    "a line modified in the second block");
	ok(strstr(e.msg, "modified (its MAC does not match)") != NULL, "%s", e.msg);
	*q = *q == '8' ? '9' : (char)(*q - 1);
	q = strchr(p, '\n') + 1;
	fp = fopen(c.paths.audit, "w");
	fwrite(buf, 1, (size_t)(p - buf), fp);
	fwrite(q, 1, len - (size_t)(q - buf), fp);
	fclose(fp);
	is_int(verify_paths(files, k.key0, NULL, 1, NULL, &s, &e), HV_EDATA,
	    "a line deleted in the second block");
	ok(strstr(e.msg, "deleted") != NULL, "%s", e.msg);
	free(buf);
	hv_config_free(&c);
}

int
main(void)
{
	char cmd[64];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_crypto();
	test_jq();
	test_parse();
	test_refusals();
	test_tamper();
	test_forward();
	test_repair();
	test_tail();
	test_torn_repair();
	test_repair_again();
	test_parse_repair();
	test_rotate();
	test_concurrent();
	test_batch();
	test_batch_refusals();
	test_batch_checkpoints();
	test_state_checkpoint();
	test_batch_concurrent();
	test_batch_crash();
	test_verify_files();
	test_verify_blocks();
	while (nlines > 0)
		free(lines[--nlines]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
