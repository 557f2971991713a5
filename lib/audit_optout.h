/*
 * audit_optout: the users left out of hv-audit export, one identifier a
 * line in the file beside the trail ("<audit>.optout"), 0600.
 */
#ifndef HV_AUDIT_OPTOUT_H
#define HV_AUDIT_OPTOUT_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "err.h"

/* The list's path for c's trail (owned by the caller: free()). */
char *hv_audit_optout_path(const struct hv_config *c);

/* The list at path into b as NUL-separated identifiers, *n of them; a
 * list that does not exist is empty. */
int hv_audit_optout_read(const char *path, struct hv_buf *b, size_t *n, struct hv_err *e);

/* 1 when the list read into b holds id. */
int hv_audit_optout_has(const struct hv_buf *b, const char *id);

/* Add (add 1) or remove id, atomically, with an audit event when the list
 * changed; HV_EUSAGE for an empty id or one with a newline. */
int hv_audit_optout_change(const struct hv_config *c, const char *id, int add,
    struct hv_err *e);

#endif
