/*
 * index: what hv remembers of the mail it syncs: identifiers, a sealed
 * subject and sync state, nothing else.
 *
 * A message is known to a team by the HMAC of its Message-ID (mid below,
 * HV_INDEX_MID_LEN bytes), so the index alone names no message; the
 * subject is kept sealed.  A copy row says a member's mailbox holds the
 * message, under which Gmail id.  Cursors are the history ids each
 * mailbox was read up to.  Part of the store module (lib/store_index.c).
 */
#ifndef HV_INDEX_H
#define HV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "store.h"

#define HV_INDEX_MID_LEN 32

/* The cursor of account's mailbox for kind ("fetch", "labels"):
 * HV_ENOINPUT when there is none yet. */
int hv_index_cursor_get(struct hv_store *s, const char *account, const char *kind,
    struct hv_buf *history_id, struct hv_err *e);
int hv_index_cursor_put(struct hv_store *s, const char *account, const char *kind,
    const char *history_id, long long now, struct hv_err *e);

/* 0 when source's message source_id is in the index, else HV_ENOINPUT. */
int hv_index_has_source(struct hv_store *s, const char *source, const char *source_id,
    struct hv_err *e);

/* The message of a team: 0 and *done, or HV_ENOINPUT. */
int hv_index_message_get(struct hv_store *s, const char *team, const uint8_t *mid,
    int *done, struct hv_err *e);

/* Record a fetched message (kept when already there), its subject sealed
 * under hv_index_subject_ctx. */
int hv_index_message_put(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *source, const char *source_id, const void *subject, size_t subject_len,
    long long now, struct hv_err *e);

/*
 * The HMAC of a message's content (HV_INDEX_MID_LEN bytes), kept beside
 * its Message-ID's so that another message under a held Message-ID can be
 * told from a copy.  get: 0, or HV_ENOINPUT when the message is unknown or
 * was indexed before schema 7; put: sets it where it is not yet set.
 */
int hv_index_content_get(struct hv_store *s, const char *team, const uint8_t *mid,
    uint8_t content[HV_INDEX_MID_LEN], struct hv_err *e);
int hv_index_content_put(struct hv_store *s, const char *team, const uint8_t *mid,
    const uint8_t content[HV_INDEX_MID_LEN], struct hv_err *e);

/*
 * Subjects are sealed under the context "subject:TEAM:HEX(mid)", so a
 * sealed subject copied into another message's row does not open there.
 * hv_index_subject_ctx writes that context into ctx (reset first).
 */
void hv_index_subject_ctx(struct hv_buf *ctx, const char *team, const uint8_t *mid);

/* A message's sealed subject into sealed (reset first): 0, or HV_ENOINPUT
 * when there is no such message or it has none. */
int hv_index_subject_get(struct hv_store *s, const char *team, const uint8_t *mid,
    struct hv_buf *sealed, struct hv_err *e);

/* Replace a message's sealed subject with one bound to its message. */
int hv_index_subject_set(struct hv_store *s, const char *team, const uint8_t *mid,
    const void *sealed, size_t len, struct hv_err *e);

/*
 * The messages of team whose subject is still sealed under the team alone
 * (made before schema 6): fn gets each mid and its sealed subject
 * (borrowed, for the call only) and must not write to the store.
 */
int hv_index_subjects_unbound(struct hv_store *s, const char *team,
    int (*fn)(const uint8_t *mid, const void *sealed, size_t len, void *arg), void *arg,
    struct hv_err *e);

int hv_index_message_done(struct hv_store *s, const char *team, const uint8_t *mid,
    struct hv_err *e);

/* Messages of team not yet done: fn gets the source id and mid. */
int hv_index_pending(struct hv_store *s, const char *team,
    int (*fn)(const char *source_id, const uint8_t *mid, void *arg), void *arg,
    struct hv_err *e);

/*
 * A Gmail id as the index holds it, with its NUL: as HV_GMAIL_ID_SIZE
 * (the store sits below the Gmail module and cannot include it).
 */
#define HV_INDEX_ID_SIZE 256

/* A member's copy: 0 (gmail_id filled when not NULL, HV_INDEX_ID_SIZE
 * bytes) or HV_ENOINPUT; HV_EDATA for a stored id that does not fit,
 * which only a damaged index holds. */
int hv_index_copy_get(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, char *gmail_id, struct hv_err *e);
int hv_index_copy_put(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, const char *gmail_id, long long now, struct hv_err *e);

/* Remember that account is a member of team. */
int hv_index_member_put(struct hv_store *s, const char *team, const char *account,
    struct hv_err *e);

/*
 * A team's roster as the last run resolved it (lib/store_roster.c): its
 * members (every user its members line or group names, reachable or not:
 * an account that must sign in is still a member, for its scopes) and
 * those hv skips, with why.
 */
struct hv_index_skip {
	const char *team;	/* borrowed; ignored by hv_index_roster_put */
	const char *member;	/* an address, or "customer C0..." */
	const char *kind;	/* USER, GROUP, CUSTOMER */
	const char *why;
	long long seen;		/* when a run last found it */
};

/* Replace team's roster (no transaction of its own). */
int hv_index_roster_put(struct hv_store *s, const char *team, char *const *members,
    size_t n, const struct hv_index_skip *skips, size_t nskips, long long now,
    struct hv_err *e);

/* 0 when account is a member of team as last recorded, else HV_ENOINPUT. */
int hv_index_member_has(struct hv_store *s, const char *team, const char *account,
    struct hv_err *e);

/* team's members hv syncs to (recorded and not skipped), in address order. */
int hv_index_members(struct hv_store *s, const char *team,
    int (*fn)(const char *account, void *arg), void *arg, struct hv_err *e);

/* The skipped members of team (NULL: of every team), by team and member. */
int hv_index_skipped(struct hv_store *s, const char *team,
    int (*fn)(const struct hv_index_skip *k, void *arg), void *arg, struct hv_err *e);

struct hv_index_copy {
	const char *team, *member, *gmail_id;	/* borrowed for the call */
	long long imported;
};

/* Every copy of the message mid (any team), for "did it reach everyone?". */
int hv_index_copies(struct hv_store *s, const uint8_t *mid,
    int (*fn)(const struct hv_index_copy *c, void *arg), void *arg, struct hv_err *e);

/*
 * Shared labels (lib/store_labels.c).  A label is known by the HMAC of its
 * name (HV_INDEX_MID_LEN bytes), never by the name.  Each copy has the set
 * of team labels it is known to carry; member "" holds the team's state of
 * the message.
 */
enum hv_index_label_kind {
	HV_LABEL_STATUS = 1,	/* <Label>/Status/...: exclusive */
	HV_LABEL_ASSIGNED,	/* <Label>/Assigned/...: exclusive */
	HV_LABEL_OTHER,		/* any other <Label>/... */
};

struct hv_index_label {
	uint8_t hmac[HV_INDEX_MID_LEN];
	int kind;		/* enum hv_index_label_kind */
};

/* The labels of member's copy (or the team's, member ""): *l (owned by the
 * caller, free()) gets *n of them, in HMAC order; none is not an error. */
int hv_index_labels_get(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, struct hv_index_label **l, size_t *n, struct hv_err *e);
/* Replace that set. */
int hv_index_labels_put(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, const struct hv_index_label *l, size_t n, struct hv_err *e);

/* The message of member's copy gmail_id: 0 and mid, or HV_ENOINPUT. */
int hv_index_copy_find(struct hv_store *s, const char *team, const char *member,
    const char *gmail_id, uint8_t *mid, struct hv_err *e);
/* The member deleted their copy: no labels go to it any more. */
int hv_index_copy_deleted(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, struct hv_err *e);
/* Mark (dirty 1) or clear a copy whose labels must reach the team's state. */
int hv_index_copy_dirty(struct hv_store *s, const char *team, const uint8_t *mid,
    const char *member, int dirty, struct hv_err *e);

/* The live copies of member in team (confirmed, not deleted), only the
 * dirty ones when dirty is 1, in mid order: fn gets mid and Gmail id. */
int hv_index_member_copies(struct hv_store *s, const char *team, const char *member,
    int dirty, int (*fn)(const uint8_t *mid, const char *gmail_id, void *arg), void *arg,
    struct hv_err *e);

/* Copy rows for the team's source mailbox (its own Gmail ids), so its
 * labels take part like a member's; rows already there are kept. */
int hv_index_source_copies(struct hv_store *s, const char *team, const char *source,
    struct hv_err *e);

/*
 * What hv-doctor tells of a team (lib/store_team.c): when hv-fetch last
 * moved the cursor of its source, when hv-sync last made a copy, how
 * many of its messages are not yet done and when the oldest of them was
 * fetched.  Times are Unix seconds, 0 for never.
 */
struct hv_index_team_state {
	long long fetched;	/* the source's fetch cursor last moved */
	long long imported;	/* the newest copy made */
	long long pending;	/* messages not done */
	long long oldest;	/* fetched time of the oldest pending one */
};

int hv_index_team_state(struct hv_store *s, const char *team, const char *source,
    struct hv_index_team_state *ts, struct hv_err *e);

#endif
