/*
 * gmail: the Gmail API v1 calls hv makes, for one mailbox.
 *
 * Each call is paced by the mailbox's quota bucket, and retried on 429,
 * 5xx, resets and timeouts with jittered exponential backoff that honours
 * Retry-After, as a header or in the message ("Retry after <time>"),
 * within a time budget; a rate-limit answer pauses the whole mailbox.  A
 * 401 gets one try with the token asked for again, then stops (HV_EPERM),
 * as does a 403 other than a rate limit.  Nothing is counted done before
 * Google answered 2xx.  Tokens come from hv_auth_token().
 *
 * Calls run in a pool (lib/gmail_pool.c): one libcurl multi handle whose
 * connection, HTTP/2 where Google speaks it, every mailbox of the pool
 * shares.  Each mailbox keeps at most [google] inflight calls in flight
 * and sends in the order calls were started, a retry ahead of newer
 * calls.  The blocking calls below run the pool until their own call is
 * over (and whatever else is in flight meanwhile); the _start calls
 * return at once and report from hv_gmail_pool_step().
 *
 * The breaker: when BREAKER_FAILS calls in a row failed to connect or
 * timed out and no answer came for BREAKER_SECONDS (20 s), Google is
 * taken for gone: every call of the pool, queued or in flight, ends with
 * HV_ETEMP, and so does every later one (hv_gmail_pool_broken says why).
 */
#ifndef HV_GMAIL_H
#define HV_GMAIL_H

#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "quota.h"

#define HV_GMAIL_RAW_MAX (50 * 1024 * 1024)	/* Gmail's own message limit */

/*
 * Google documents the ids it hands out (messages, threads, labels) as
 * opaque strings and gives no length.  hv takes one of up to
 * HV_GMAIL_ID_MAX bytes (Gmail's run to about 25) and refuses a longer,
 * empty or NUL-holding one with HV_EPROTO rather than cut it;
 * HV_GMAIL_ID_SIZE holds one with its NUL.
 */
#define HV_GMAIL_ID_MAX 255
#define HV_GMAIL_ID_SIZE (HV_GMAIL_ID_MAX + 1)

struct hv_gmail;
struct hv_gmail_pool;

/* A pool for a run's mailboxes; c is borrowed.  Free it after them. */
int hv_gmail_pool_new(struct hv_gmail_pool **p, const struct hv_config *c, struct hv_err *e);
void hv_gmail_pool_free(struct hv_gmail_pool *p);

/*
 * Move the pool's calls on: send what may go, wait until something
 * happens (an answer, a backoff or bucket ending; at most a second, and
 * at most max_ms when that is >= 0), and call the done functions of the
 * calls that ended.  fd, when >= 0, also ends the wait when it is
 * readable (*fd_ready, may be NULL, says so).  Returns at once when
 * nothing is in flight or waiting and fd < 0.  0, or HV_EINTERNAL when
 * libcurl fails.
 */
int hv_gmail_pool_step(struct hv_gmail_pool *p, int fd, int *fd_ready, long max_ms,
    struct hv_err *e);

/* Calls started and not yet done. */
size_t hv_gmail_pool_pending(const struct hv_gmail_pool *p);

/* End every call now, each done told HV_ETEMP; the pool is stopped. */
void hv_gmail_pool_cancel(struct hv_gmail_pool *p);

/* 1 when the breaker stopped the pool (*why, may be NULL, says why). */
int hv_gmail_pool_broken(const struct hv_gmail_pool *p, struct hv_err *why);

/* A client for account's mailbox in pool p; p, auth and c are borrowed.
 * Free it when none of its calls is pending. */
int hv_gmail_new_in(struct hv_gmail **g, struct hv_gmail_pool *p, const struct hv_config *c,
    struct hv_auth *auth, const char *account, struct hv_err *e);
/* As hv_gmail_new_in, in a pool of its own. */
int hv_gmail_new(struct hv_gmail **g, const struct hv_config *c, struct hv_auth *auth,
    const char *account, struct hv_err *e);
void hv_gmail_free(struct hv_gmail *g);

/*
 * What a started call reports, once, from hv_gmail_pool_step: rc as the
 * blocking call returns it, e its detail when rc < 0, and id: the
 * message's id (get), the new copy's id (upload), the label's (label).
 */
typedef void hv_gmail_done(void *arg, int rc, const char *id, const struct hv_err *e);

/* 1 when g's mailbox is closed for this run (its access is gone, or
 * Google asked for a wait longer than a run): its calls end at once. */
int hv_gmail_closed(const struct hv_gmail *g);

/* Units charged and calls made so far (for reports and the bench). */
double hv_gmail_units(const struct hv_gmail *g);
long hv_gmail_calls(const struct hv_gmail *g);

/* The mailbox's current historyId (getProfile). */
int hv_gmail_profile(struct hv_gmail *g, struct hv_buf *history_id, struct hv_err *e);

/*
 * Messages added since start (history.list, historyTypes=messageAdded,
 * every page), optionally within label: fn gets each id and its labels
 * (space-separated).  *latest gets the history id to resume from.
 * HV_ENOINPUT when start has expired (Google's 404): list in full instead.
 */
int hv_gmail_history(struct hv_gmail *g, const char *start, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_buf *latest, struct hv_err *e);

/* Every message matching query and label (messages.list, every page). */
int hv_gmail_list(struct hv_gmail *g, const char *query, const char *label,
    int (*fn)(const char *id, const char *labels, void *arg), void *arg,
    struct hv_err *e);

struct hv_gmail_message {
	char id[HV_GMAIL_ID_SIZE], thread_id[HV_GMAIL_ID_SIZE], history_id[32];
	char *labels;			/* owned: space-separated label ids, any number */
	long long internal_date;	/* ms */
	struct hv_buf raw;		/* owned, secret: the RFC 5322 bytes */
};

void hv_gmail_message_init(struct hv_gmail_message *m);
void hv_gmail_message_release(struct hv_gmail_message *m);

/* messages.get format=raw. HV_ENOINPUT when the message is gone. */
int hv_gmail_get_raw(struct hv_gmail *g, const char *id, struct hv_gmail_message *m,
    struct hv_err *e);
/* The same, started: m is filled before done is called. */
int hv_gmail_get_raw_start(struct hv_gmail *g, const char *id, struct hv_gmail_message *m,
    hv_gmail_done *done, void *arg, struct hv_err *e);

/* The id of the user label name, created when missing (labels.list,
 * labels.create; a 409 from a racing creator is answered by listing). */
int hv_gmail_label(struct hv_gmail *g, const char *name, char id[HV_GMAIL_ID_SIZE],
    struct hv_err *e);
int hv_gmail_label_start(struct hv_gmail *g, const char *name, hv_gmail_done *done,
    void *arg, struct hv_err *e);

/*
 * Upload raw into the mailbox with labels (space-separated ids):
 * messages.import (use_import) or messages.insert, uploadType=multipart so
 * the labels travel with the message; above [google] resumable_above
 * bytes, a resumable upload (lib/gmail_resumable.c) whose session carries
 * them, resumed after a broken link from the byte Google acknowledged.
 * *new_id gets the message's id.  HV_EDATA for a message larger than
 * Gmail takes (HV_GMAIL_RAW_MAX).
 */
int hv_gmail_upload(struct hv_gmail *g, const void *raw, size_t len, const char *labels,
    int use_import, char new_id[HV_GMAIL_ID_SIZE], struct hv_err *e);
/* The same, started: raw is borrowed until done is called. */
int hv_gmail_upload_start(struct hv_gmail *g, const void *raw, size_t len,
    const char *labels, int use_import, hv_gmail_done *done, void *arg, struct hv_err *e);

/*
 * Label sync (lib/gmail_labels.c).  A change read from history: a label
 * added to or removed from a message, or the message deleted.  Strings
 * are borrowed for the call.
 */
enum hv_gmail_change_kind {
	HV_GMAIL_LABEL_ADDED = 1,
	HV_GMAIL_LABEL_REMOVED,
	HV_GMAIL_DELETED,
};

struct hv_gmail_change {
	const char *id;			/* the message */
	const char *history_id;		/* the history record */
	const char *labels;		/* space-separated label ids (not for DELETED) */
	int kind;			/* enum hv_gmail_change_kind */
};

/*
 * Label changes and deletions since start (history.list with historyTypes
 * labelAdded, labelRemoved, messageDeleted; every page), in history order.
 * *latest gets the history id to resume from.  HV_ENOINPUT when start has
 * expired (Google's 404).
 */
int hv_gmail_history_labels(struct hv_gmail *g, const char *start,
    int (*fn)(const struct hv_gmail_change *c, void *arg), void *arg,
    struct hv_buf *latest, struct hv_err *e);

/* Every label of the mailbox (labels.list): fn gets its id and name.
 * HV_EPROTO for a label without a usable id (gmail_label_id_ok) or whose
 * name is missing or holds a NUL byte. */
int hv_gmail_labels(struct hv_gmail *g, int (*fn)(const char *id, const char *name, void *arg),
    void *arg, struct hv_err *e);

/* messages.modify: add and remove are space-separated label ids (either
 * may be empty).  HV_ENOINPUT when the message is gone. */
int hv_gmail_modify(struct hv_gmail *g, const char *id, const char *add, const char *remove,
    struct hv_err *e);

#define HV_GMAIL_BATCH_IDS 1000	/* messages.batchModify's limit */

/* messages.batchModify of n ids (1..HV_GMAIL_BATCH_IDS); Gmail passes over
 * ids that are gone. */
int hv_gmail_batch_modify(struct hv_gmail *g, const char *const *ids, size_t n,
    const char *add, const char *remove, struct hv_err *e);

/* labels.create of name, without looking first (the caller listed the
 * labels); a 409 from a racing creator is answered by finding it. */
int hv_gmail_label_create(struct hv_gmail *g, const char *name, char id[HV_GMAIL_ID_SIZE],
    struct hv_err *e);

#endif
