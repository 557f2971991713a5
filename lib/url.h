/*
 * url: the one HTTPS policy, applied to a URL's text (RFC 3986).
 *
 * A URL is allowed when its scheme is https, or http to a loopback host
 * (127.0.0.0/8, ::1, localhost: the local test emulator), and it has no
 * user information: "http://localhost:x@192.0.2.2/" names 192.0.2.2, not
 * localhost, and whatever follows it goes there in clear text.  The parse
 * is strict rather than lenient: anything a URL parser could read two
 * ways (a backslash, a space, a %-escape in the host, an empty port, a
 * zone id) is refused, so the host judged here is the host libcurl
 * connects to.  The config reader calls this on every URL it takes; the
 * http module checks again with libcurl's own parser before a transfer.
 */
#ifndef HV_URL_H
#define HV_URL_H

enum hv_url_flags {
	HV_URL_BASE = 1,	/* paths are appended: no query or fragment */
	HV_URL_ORIGIN = 2,	/* scheme and authority only, "/" at most */
};

/*
 * 0 when url meets the policy (and flags), else HV_ECONFIG with *why set
 * to a static phrase ("has user information (the part before '@')").
 */
int hv_url_check(const char *url, unsigned flags, const char **why);

/*
 * 1 when host (as in a URL's authority, an IPv6 literal in brackets) is
 * loopback: "localhost" in any case, a dotted-quad 127.x.y.z, [::1].
 */
int hv_url_host_loopback(const char *host, unsigned long len);

#endif
