/*
 * loopback: the one-shot listener on 127.0.0.1 that receives the OAuth
 * redirect, and the pasted-URL alternative for headless machines.
 */
#ifndef HV_LOOPBACK_H
#define HV_LOOPBACK_H

#include "buf.h"
#include "err.h"

struct hv_loopback {
	int fd;			/* listening socket, -1 when closed */
	int port;		/* ephemeral port chosen by the kernel */
};

/* Listen on 127.0.0.1 on an ephemeral port. */
int hv_loopback_open(struct hv_loopback *l, struct hv_err *e);
void hv_loopback_close(struct hv_loopback *l);

/*
 * Wait up to timeout seconds for the browser's redirect (GET /?...), or
 * for a line on paste_fd (-1: none) holding the redirect URL pasted back.
 * The request target or the pasted line goes into target.  The browser
 * gets a short page saying it can close the window.  HV_ETEMP on timeout.
 */
int hv_loopback_wait(struct hv_loopback *l, int paste_fd, int timeout,
    struct hv_buf *target, struct hv_err *e);

#endif
