/*
 * labels: shared labels.  What one member of a team does to the labels
 * under the team label (<Label>/Status/<state>, <Label>/Assigned/<member>,
 * any other <Label>/...) reaches every other member's copy of the message.
 *
 * Per mailbox (the members, in the order of the team's members, then the
 * source), history.list since that mailbox's "labels:<team>" cursor gives
 * labels added and removed and messages deleted; the index maps a Gmail id
 * to the team's message.  Each change is judged against what hv knows the
 * copy carries, so hv's own changes coming back through history are not
 * changes.  A real one moves the team's state of the message: the changes
 * of one run are applied in mailbox order, then history order, so the last
 * one applied wins, and a run's changes win over earlier runs'.  Status
 * and Assigned labels are exclusive: the winner removes the others.
 * Every copy whose labels differ from the team's state is then marked and
 * brought to it (messages.modify, or messages.batchModify for ten or more
 * messages taking the same change in one mailbox: whichever costs fewer
 * units).
 *
 * Durability: the team's state, the marks and the cursors move together in
 * one transaction, after the history they cover was read and before any
 * mailbox is changed; a run first finishes the marks an earlier run left.
 * A change applied twice lands on the same state.  The index keeps HMACs
 * of label names, never the names.
 */
#ifndef HV_LABELS_H
#define HV_LABELS_H

#include "config.h"
#include "err.h"

struct hv_auth;

struct hv_labels_stats {
	long changes;		/* changes to the team's state */
	long applied;		/* copies brought to the team's state */
	long resyncs;		/* mailboxes whose history had expired */
	long deleted;		/* copies their member deleted */
	long failed;		/* copies left marked for the next run */
	long calls;
	double units;
	int worst;		/* the worst status met */
};

struct hv_labels_io {
	int (*emit)(const char *line, void *arg);	/* a change, JSON */
	/* For a person; progress (a count so far) only matters at a terminal. */
	void (*note)(int progress, const char *msg, void *arg);
	void *arg;
};

/*
 * One run of label sync for team (hv-sync labels).  0 when every copy
 * reached the team's state; otherwise the worst of HV_ETEMP (run again),
 * HV_EPERM (a mailbox's access is gone), HV_ECONFIG (the team does not
 * sync labels).  Blocks on the network.
 */
int hv_labels_run(const struct hv_config *c, const char *team,
    const struct hv_labels_io *io, struct hv_labels_stats *st, struct hv_err *e);

/*
 * Set the state or the assignee of a message for the whole team at once
 * (hv-sync set): what is "status=STATE", "assign=MEMBER" or "assign=" (no
 * one).  HV_EUSAGE for a bad what, HV_ENOINPUT for a message not in the
 * team's index; then as hv_labels_run.
 */
int hv_labels_set(const struct hv_config *c, const char *team, const char *message_id,
    const char *what, const struct hv_labels_io *io, struct hv_labels_stats *st,
    struct hv_err *e);

/*
 * The team's state of a message (mid: the index HMAC): *state gets the
 * state name, or "" when none was set (the first state applies); *assignee
 * the member, "" for no one, "?" for an address no longer in the team.
 * Both are borrowed from c.  The audit trail names the message by
 * audit_id (HV_AUDIT_MSGID_LEN + 1 bytes).
 */
int hv_labels_state(struct hv_auth *a, const struct hv_team *t, const uint8_t *mid,
    const char **state, const char **assignee, char *audit_id, struct hv_err *e);

#endif
