#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "loopback.h"
#include "banned.h"

#define REQUEST_MAX 8192

static const char page_ok[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    "<!doctype html><title>hv</title><p>hv-auth has what it needs. "
    "You can close this window.</p>\n";
static const char page_404[] =
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char page_400[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/* Monotonic milliseconds: a clock step must not stretch or cut the login. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One client may hold the listener this long at most, however it trickles. */
#define CLIENT_MS 5000

int
hv_loopback_open(struct hv_loopback *l, struct hv_err *e)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	l->port = 0;
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return hv_err_errno(e, HV_EUNAVAIL, errno, "socket");
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(l->fd, 8) < 0 ||
	    getsockname(l->fd, (struct sockaddr *)&a, &len) < 0) {
		int r = hv_err_errno(e, HV_EUNAVAIL, errno, "cannot listen on 127.0.0.1");

		hv_loopback_close(l);
		return r;
	}
	l->port = ntohs(a.sin_port);
	return 0;
}

void
hv_loopback_close(struct hv_loopback *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/*
 * Read one request head until deadline_ms (monotonic); 1 with the target when
 * it is "GET /?..." and ours() accepts it, else 0.  Any other local user can
 * reach the port: a request that is not the redirect of this sign-in gets a
 * 400 and the listener goes on waiting for the real one.
 */
static int
serve_one(int c, long long deadline_ms, int (*ours)(const char *, void *),
    void *arg, struct hv_buf *target)
{
	char req[REQUEST_MAX + 1];
	size_t have = 0;
	ssize_t n;
	char *sp, *end;
	struct pollfd p = { c, POLLIN, 0 };
	long long left;

	while (have < REQUEST_MAX && !memmem(req, have, "\r\n\r\n", 4)) {
		/* One deadline for the whole request, not one per read. */
		if ((left = deadline_ms - now_ms()) <= 0 ||
		    poll(&p, 1, (int)left) <= 0)
			return 0;
		n = read(c, req + have, REQUEST_MAX - have);
		if (n <= 0)
			return 0;
		have += (size_t)n;
	}
	req[have] = '\0';
	if (strncmp(req, "GET /", 5) != 0 || (req[5] != '?' && req[5] != ' '))
		goto not_found;
	sp = req + 4;
	end = strchr(sp, ' ');
	if (end == NULL || strchr(sp, '?') == NULL || strchr(sp, '?') > end)
		goto not_found;
	*end = '\0';
	if (!ours(sp, arg)) {
		(void)hv_write_all(c, page_400, sizeof page_400 - 1);
		return 0;
	}
	hv_buf_reset(target);
	if (hv_buf_add(target, sp, (size_t)(end - sp)) < 0)
		goto not_found;
	(void)hv_write_all(c, page_ok, sizeof page_ok - 1);
	return 1;
not_found:
	(void)hv_write_all(c, page_404, sizeof page_404 - 1);
	return 0;
}

static int
read_line(int fd, struct hv_buf *target, struct hv_err *e)
{
	char c;
	ssize_t n;

	hv_buf_reset(target);
	while ((n = read(fd, &c, 1)) == 1 && c != '\n')
		if (c != '\r' && hv_buf_add(target, &c, 1) < 0)
			return hv_err_set(e, HV_EDATA, "pasted line too long");
	if (n < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot read the pasted URL");
	if (n == 0 && target->len == 0)
		return hv_err_set(e, HV_ENOINPUT, "no redirect URL was pasted");
	return 0;
}

int
hv_loopback_wait(struct hv_loopback *l, int paste_fd, int timeout,
    int (*ours)(const char *target, void *arg), void *arg,
    struct hv_buf *target, struct hv_err *e)
{
	struct pollfd p[2];
	long long deadline = now_ms() + (long long)timeout * 1000, left;
	int c, n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return hv_err_set(e, HV_ETEMP, "no sign-in within %d seconds", timeout);
		p[0].fd = l->fd;
		p[0].events = POLLIN;
		p[1].fd = paste_fd;
		p[1].events = POLLIN;
		n = poll(p, paste_fd >= 0 ? 2 : 1, (int)left);
		if (n < 0 && errno != EINTR)
			return hv_err_errno(e, HV_EIO, errno, "poll");
		if (n <= 0)
			continue;
		if (paste_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
			return read_line(paste_fd, target, e);
		if (p[0].revents & POLLIN) {
			c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			left = now_ms() + CLIENT_MS;
			n = serve_one(c, left < deadline ? left : deadline, ours, arg, target);
			close(c);
			if (n)
				return 0;
		}
	}
}
