/*
 * pubsub: Gmail push (users.watch) and the Cloud Pub/Sub pull subset
 * hv-fetch --follow uses: what goes out and what comes back.
 *
 * Requests are built here and sent by the caller (lib/follow.c) through
 * lib/http.c, under its one policy; answers are parsed here.  Everything
 * read comes from outside (Google, or whoever publishes to the topic), so
 * every parser is bounded and refuses what it does not expect.  The
 * names of topics and subscriptions are checked by the config reader
 * (hv_config_pubsub_name).
 *
 *	POST {api}/gmail/v1/users/{source}/watch	{"topicName"} -> {historyId, expiration}
 *	POST {pubsub}/v1/{subscription}:pull		{"maxMessages"} -> {receivedMessages}
 *	POST {pubsub}/v1/{subscription}:acknowledge	{"ackIds"}
 *	GET  {pubsub}/v1/{subscription}			(hv-doctor: reachable?)
 */
#ifndef HV_PUBSUB_H
#define HV_PUBSUB_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HV_PUBSUB_SCOPE "https://www.googleapis.com/auth/pubsub"

/* A notification's data is tiny ({"emailAddress","historyId"}): more is
 * not Gmail's, and is refused before it is decoded. */
#define HV_PUBSUB_DATA_MAX 4096
/* An address, as SMTP bounds it (RFC 5321: 64 + 1 + 255). */
#define HV_PUBSUB_EMAIL_MAX 320
/* historyId is an unsigned 64-bit number: at most 20 digits. */
#define HV_PUBSUB_HISTORY_MAX 20
/* Messages asked for in one pull, and ack ids answered in one call. */
#define HV_PUBSUB_PULL_MAX 100
/* An ack id is opaque; Google's run to about 200 bytes. */
#define HV_PUBSUB_ACKID_MAX 1024
/* A pull answer: at most HV_PUBSUB_PULL_MAX messages, each bounded. */
#define HV_PUBSUB_ANSWER_MAX (HV_PUBSUB_PULL_MAX * 8192 + 4096)

/* A Gmail notification, as published to the topic. */
struct hv_pubsub_note {
	char email[HV_PUBSUB_EMAIL_MAX + 1];
	char history_id[HV_PUBSUB_HISTORY_MAX + 1];	/* digits only */
};

/*
 * Parse a message's data: standard base64 (RFC 4648 section 4, padded or
 * not) of the JSON object {"emailAddress": "...", "historyId": N} (N a
 * number or a string of digits).  Other members are passed over.  0, or
 * HV_EDATA with e saying what is wrong (bad base64, not JSON, a member
 * missing, too long, a NUL byte, a history id that is no number).  n is
 * cleared first.
 */
int hv_pubsub_note_parse(const char *data, size_t len, struct hv_pubsub_note *n,
    struct hv_err *e);

/* Decode standard base64 (padding optional) into out (room for outmax):
 * 0 or HV_EDATA. */
int hv_pubsub_b64_decode(const char *text, size_t len, unsigned char *out, size_t outmax,
    size_t *outlen);

/*
 * Each received message of a pull answer (body, len bytes): fn gets its
 * ack id and its data (base64 text, borrowed for the call; "" when it
 * has none).  A message without a usable ack id is HV_EPROTO (it could
 * never be acknowledged); so is an answer that is not a pull answer.
 * Returns fn's first non-zero return, or 0.
 */
int hv_pubsub_pull_parse(const char *body, size_t len,
    int (*fn)(const char *ack_id, const char *data, size_t data_len, void *arg),
    void *arg, struct hv_err *e);

/* The body of a pull: {"maxMessages": max}. */
int hv_pubsub_pull_body(struct hv_buf *b, int max);

/* The body of an acknowledge of n ack ids (1..HV_PUBSUB_PULL_MAX). */
int hv_pubsub_ack_body(struct hv_buf *b, char *const *ack_ids, size_t n);

/* The body of users.watch: {"topicName": topic}. */
int hv_pubsub_watch_body(struct hv_buf *b, const char *topic);

/*
 * A users.watch answer: *expiration gets its expiration (ms since the
 * epoch; Google sends it as a string of digits).  HV_EPROTO when it is
 * missing or no number.
 */
int hv_pubsub_watch_parse(const char *body, size_t len, long long *expiration,
    struct hv_err *e);

#endif
