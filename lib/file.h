/*
 * file: atomic durable writes and careful reads.
 *
 * An atomic file is written under a temporary name in the same directory,
 * fsynced, renamed over the final name and the directory fsynced, so a
 * reader (or a crash) sees the old content or the new, never half of it.
 */
#ifndef HV_FILE_H
#define HV_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

struct hv_atomic {
	int fd;			/* open for writing, -1 when idle */
	char *path;		/* owned: the final name */
	char *tmp;		/* owned: the temporary name */
};

/*
 * Start an atomic write of path with the given mode: creates a temporary
 * file beside it (O_EXCL, O_NOFOLLOW) and leaves its fd in a->fd.
 * HV_ECANTCREAT when path exists and is not a regular file (a device, a
 * pipe, a symbolic link): renaming over it would replace it.
 */
int hv_atomic_begin(struct hv_atomic *a, const char *path, mode_t mode, struct hv_err *e);

/* fsync, rename over the final name, fsync the directory; frees a. */
int hv_atomic_commit(struct hv_atomic *a, struct hv_err *e);

/* Unlink the temporary file and free a; safe on an idle or committed a. */
void hv_atomic_abort(struct hv_atomic *a);

/* The whole of data written atomically to path. */
int hv_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct hv_err *e);

/*
 * Create path exclusively (O_EXCL, O_NOFOLLOW) with mode, write data, fsync.
 * Refuses to replace anything: HV_ECANTCREAT when path exists.
 */
int hv_file_create_excl(const char *path, const void *data, size_t len,
    mode_t mode, struct hv_err *e);

/*
 * Read a whole file (or "-" for stdin) into b, which bounds its size:
 * HV_EDATA when larger than b->max, HV_ENOINPUT when it cannot be opened.
 */
int hv_file_read(const char *path, struct hv_buf *b, struct hv_err *e);

/*
 * Read a secret (key, identity, credentials) into b.  A regular file must
 * belong to the user (or root) and be unreadable by group and others, and
 * the directories above it pass hv_path_trusted: HV_EPERM otherwise,
 * naming the path and the chmod that fixes it.  Pipes and other
 * descriptors (/dev/fd/N) are accepted as they are.
 */
int hv_file_read_secret(const char *path, struct hv_buf *b, struct hv_err *e);

/*
 * Strict modes, as ssh's StrictModes.  hv_path_trusted: path (a file that
 * steers what hv runs or trusts: hv.conf, a key) and every directory above
 * it up to /, symbolic links resolved, belong to the user or root and are
 * not writable by group or others.  A directory owned by root with the
 * sticky bit set (/tmp, /dev/shm) is let be writable: there others may add
 * names but not rename or remove ours, so what lies below stays ours.
 * HV_EPERM otherwise, naming the path and the chmod (or chown) that fixes
 * it; a missing path as hv_status_errno says (HV_ENOINPUT).  Anything but
 * a regular file or a directory (a pipe, /dev/fd/N) is accepted as it is.
 */
int hv_path_trusted(const char *path, struct hv_err *e);

/*
 * As hv_path_trusted, and path itself gives group and others no access at
 * all: a secret (chmod 600) or a directory of them, as the state and audit
 * directories are (chmod 700).
 */
int hv_path_private(const char *path, struct hv_err *e);

/*
 * The same rule for one file or directory already stat'ed (fstat of an
 * open descriptor, so that what is judged is what is read): owner the
 * user or root; private: no access for group or others; else not writable
 * by them (a root-owned sticky directory excepted).  HV_EPERM with the
 * chmod, naming path; e may be NULL.
 */
struct stat;
int hv_file_mode_ok(const char *path, const struct stat *st, int private, struct hv_err *e);

/* Write all n bytes, retrying on EINTR and short writes: 0 or -1 (errno). */
int hv_write_all(int fd, const void *p, size_t n);

/* Read until n bytes or end of file; returns the count, -1 on error. */
ssize_t hv_read_full(int fd, void *p, size_t n);

/*
 * Take an exclusive lock on path (created 0600 when missing), waiting for
 * other holders; *fd holds it until hv_lock_release().  Locks are flock(2),
 * so they die with the process and a crash never leaves one behind.
 */
int hv_lock_acquire(const char *path, int *fd, struct hv_err *e);
void hv_lock_release(int fd);

/* Make directory path and its parents with mode 0700 where missing. */
int hv_mkdirs(const char *path, struct hv_err *e);

#endif
