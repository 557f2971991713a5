#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pubsub.h"
#include "banned.h"

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
hv_pubsub_b64_decode(const char *text, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	unsigned long acc = 0;
	size_t i, o = 0, pad = 0;
	int bits = 0, v;

	*outlen = 0;
	/* Padding only at the end, at most two, and only where it belongs. */
	while (pad < 2 && len > 0 && text[len - 1] == '=') {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0))
		return HV_EDATA;
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)text[i])) < 0)
			return HV_EDATA;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == outmax)
				return HV_EDATA;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* The bits left over must be zero: one text, one meaning. */
	if (acc & ((1UL << bits) - 1))
		return HV_EDATA;
	*outlen = o;
	return 0;
}

/* historyId as Gmail sends it, a number or a string of digits, into out. */
static int
note_history(const struct hv_json *j, char out[HV_PUBSUB_HISTORY_MAX + 1])
{
	const char *s;
	size_t n, i;
	long long v;

	if (hv_json_get_int(j, "historyId", &v) == 0) {
		if (v <= 0)
			return HV_EDATA;
		snprintf(out, HV_PUBSUB_HISTORY_MAX + 1, "%lld", v);
		return 0;
	}
	if ((s = hv_json_get_strn(j, "historyId", &n)) == NULL || n == 0 ||
	    n > HV_PUBSUB_HISTORY_MAX)
		return HV_EDATA;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return HV_EDATA;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
hv_pubsub_note_parse(const char *data, size_t len, struct hv_pubsub_note *n,
    struct hv_err *e)
{
	unsigned char raw[HV_PUBSUB_DATA_MAX];
	struct hv_json *j = NULL;
	const char *email;
	size_t rawlen, elen;
	int r = HV_EDATA;

	memset(n, 0, sizeof *n);
	if (len > HV_PUBSUB_DATA_MAX * 4 / 3 + 4)
		return hv_err_set(e, HV_EDATA, "notification of %zu bytes: too long", len);
	if (hv_pubsub_b64_decode(data, len, raw, sizeof raw, &rawlen) < 0)
		return hv_err_set(e, HV_EDATA, "notification data is not base64");
	if (hv_json_parse((const char *)raw, rawlen, &j, e) < 0)
		return hv_err_wrap(e, "notification data is not JSON");
	if ((email = hv_json_get_strn(j, "emailAddress", &elen)) == NULL || elen == 0 ||
	    elen > HV_PUBSUB_EMAIL_MAX || strlen(email) != elen || !strchr(email, '@'))
		hv_err_set(e, HV_EDATA, "notification without a usable emailAddress");
	else if (note_history(j, n->history_id) < 0)
		hv_err_set(e, HV_EDATA, "notification without a usable historyId");
	else {
		memcpy(n->email, email, elen + 1);
		r = 0;
	}
	hv_json_free(j);
	if (r < 0)
		memset(n, 0, sizeof *n);
	return r;
}

int
hv_pubsub_pull_parse(const char *body, size_t len,
    int (*fn)(const char *ack_id, const char *data, size_t data_len, void *arg),
    void *arg, struct hv_err *e)
{
	struct hv_json *j = NULL, *list = NULL, *m = NULL, *msg = NULL;
	const char *ack, *data;
	size_t i, n, alen, dlen;
	int r;

	if ((r = hv_json_parse(body, len, &j, e)) < 0)
		return hv_err_set(e, HV_EPROTO, "pull answer is not JSON");
	/* An empty answer, {}, is what a pull with nothing to give says. */
	list = hv_json_get(j, "receivedMessages");
	n = list != NULL ? hv_json_array_len(list) : 0;
	if (n > HV_PUBSUB_PULL_MAX)
		r = hv_err_set(e, HV_EPROTO, "pull answer of %zu messages: more than asked for", n);
	for (i = 0; r == 0 && i < n; i++) {
		m = hv_json_array_get(list, i);
		msg = m != NULL ? hv_json_get(m, "message") : NULL;
		ack = m != NULL ? hv_json_get_strn(m, "ackId", &alen) : NULL;
		if (ack == NULL || alen == 0 || alen > HV_PUBSUB_ACKID_MAX || strlen(ack) != alen)
			r = hv_err_set(e, HV_EPROTO, "pull answer: message %zu has no usable "
			    "ackId", i);
		else {
			data = msg != NULL ? hv_json_get_strn(msg, "data", &dlen) : NULL;
			if (data == NULL || strlen(data) != dlen) {
				data = "";
				dlen = 0;
			}
			r = fn(ack, data, dlen, arg);
		}
		hv_json_free(msg);
		hv_json_free(m);
		msg = m = NULL;
	}
	hv_json_free(list);
	hv_json_free(j);
	return r;
}

int
hv_pubsub_pull_body(struct hv_buf *b, int max)
{
	return hv_buf_addf(b, "{\"maxMessages\":%d}", max);
}

int
hv_pubsub_ack_body(struct hv_buf *b, char *const *ack_ids, size_t n)
{
	struct hv_json *o = hv_json_object(), *a = hv_json_array();
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		hv_json_append_str(a, ack_ids[i]);
	hv_json_set(o, "ackIds", a);
	r = hv_json_dump(o, b);
	hv_json_free(a);
	hv_json_free(o);
	return r;
}

int
hv_pubsub_watch_body(struct hv_buf *b, const char *topic)
{
	struct hv_json *o = hv_json_object();
	int r;

	hv_json_set_str(o, "topicName", topic);
	r = hv_json_dump(o, b);
	hv_json_free(o);
	return r;
}

int
hv_pubsub_watch_parse(const char *body, size_t len, long long *expiration,
    struct hv_err *e)
{
	struct hv_json *j = NULL;
	const char *s;
	char *end;
	int r = HV_EPROTO;

	*expiration = 0;
	if (hv_json_parse(body, len, &j, e) < 0)
		return hv_err_set(e, HV_EPROTO, "watch answer is not JSON");
	if (hv_json_get_int(j, "expiration", expiration) == 0 && *expiration > 0)
		r = 0;
	else if ((s = hv_json_get_str(j, "expiration")) != NULL && *s >= '0' && *s <= '9' &&
	    strlen(s) <= 18) {
		*expiration = strtoll(s, &end, 10);
		r = *end == '\0' && *expiration > 0 ? 0 : HV_EPROTO;
	}
	hv_json_free(j);
	if (r < 0) {
		*expiration = 0;
		hv_err_set(e, HV_EPROTO, "watch answer without a usable expiration");
	}
	return r;
}
