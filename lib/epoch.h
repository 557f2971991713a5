/*
 * epoch: the spool's short-lived keys, one per epoch.
 *
 * Time is cut in epochs of E seconds; epoch n runs from n*E to (n+1)*E and
 * its key dies at its deadline, n*E + ttl, so whatever was sealed under it
 * is noise at most ttl seconds after it was written.  Keys are 32 random
 * bytes: never derived from a long-lived key, never on persistent storage.
 *
 * They live in one of two stores:
 *
 *	keyring	a "user" key "hv-spool:<root hash>:<n>" in the user keyring
 *		(any process of the uid finds it), with a kernel timeout that
 *		ends at the deadline: the kernel destroys it even when no hv
 *		tool ever runs again.  It is made in the process keyring and
 *		linked into the user keyring only once its timeout is set, so
 *		a crash never leaves an immortal key.
 *	files	<keys>/<n>.key, 0600, on the spool's own tmpfs, where the
 *		keyring cannot be had (no such syscall, no permission, no
 *		quota, or keys that do not outlive their process, as in some
 *		containers); hv-purge destroys them at the deadline, and
 *		nothing does when it stops running.
 *
 * The store is the caller's choice ([spool] keys), never a fallback: with
 * the keyring, opening checks that a key added by a child process can be
 * found by its parent after the child exited, and refuses (HV_ECONFIG,
 * with the reason) when not; a key the keyring refuses later (quota) is an
 * error too.  HV_SPOOL_KEYS=files in the environment chooses files as
 * [spool] keys = files does.  Lookups try both stores, so processes that
 * chose differently still agree.
 * A key is refused (HV_EPERM) once its deadline has passed by the clock
 * given, whether or not it still exists.
 */
#ifndef HV_EPOCH_H
#define HV_EPOCH_H

#include <stdint.h>

#include "err.h"

#define HV_EPOCH_KEY_LEN 32

enum hv_epoch_store {
	HV_EPOCH_KEYRING = 1,
	HV_EPOCH_FILES = 2,
};

struct hv_epochs;

/*
 * The epoch keys of the spool at root (an absolute, resolved path: it
 * names the keyring keys), with key files under keysdir (created 0700),
 * for epochs of epoch seconds and a ttl (ttl > epoch > 0), new keys going
 * to store want.  HV_ECONFIG, saying why, when want is the keyring and it
 * cannot be used here.
 */
int hv_epochs_open(struct hv_epochs **ep, const char *root, const char *keysdir,
    long ttl, long epoch, enum hv_epoch_store want, struct hv_err *e);
void hv_epochs_close(struct hv_epochs *ep);

/* Where new keys go. */
enum hv_epoch_store hv_epochs_store(const struct hv_epochs *ep);

/* The epoch of time t, and the deadline (Unix seconds) of epoch n. */
long long hv_epoch_of(const struct hv_epochs *ep, long long t);
long long hv_epoch_deadline(const struct hv_epochs *ep, long long n);

/*
 * The key of epoch n at time now into key.  With create, a missing key is
 * made (only for the current epoch: now's).  HV_EPERM when the key is
 * gone, past its deadline, or in a key file others could read (named).
 */
int hv_epoch_key(struct hv_epochs *ep, long long n, long long now, int create,
    uint8_t key[HV_EPOCH_KEY_LEN], struct hv_err *e);

/* A key as hv_epoch_each finds it. */
struct hv_epoch_info {
	long long n;			/* the epoch; -1 for a foreign key file */
	enum hv_epoch_store store;
	long id;			/* keyring: the key's serial */
	const char *path;		/* files: the key file (borrowed) */
	int unsafe;			/* files: not ours, or readable by others */
};

/*
 * Call fn for each key of this spool in both stores (keyring keys of other
 * spools and files that are not "<n>.key" are not keys of this spool;
 * the latter come with n = -1).  Stops at fn's first non-zero return.
 */
int hv_epoch_each(struct hv_epochs *ep,
    int (*fn)(const struct hv_epoch_info *ki, void *arg), void *arg, struct hv_err *e);

/*
 * Destroy a key: KEYCTL_INVALIDATE (unusable at once, collected by the
 * kernel later), or overwrite the key file and unlink it.
 */
int hv_epoch_destroy(struct hv_epochs *ep, const struct hv_epoch_info *ki,
    struct hv_err *e);

#endif
