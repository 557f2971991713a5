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
 * The request target or the pasted line goes into target.  A request
 * whose target ours(target, arg) refuses (the state of another or no
 * sign-in: any local user can reach the port) is answered 400 and the wait
 * goes on; the browser that sends the right one gets a short page saying it
 * can close the window.  The timeout bounds the whole wait, however slowly
 * clients send; one client holds the listener 5 seconds at most.  HV_ETEMP
 * on timeout.
 */
int hv_loopback_wait(struct hv_loopback *l, int paste_fd, int timeout,
    int (*ours)(const char *target, void *arg), void *arg,
    struct hv_buf *target, struct hv_err *e);

#endif
