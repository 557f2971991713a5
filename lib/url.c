#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "url.h"
#include "banned.h"

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* RFC 3986 2.2, 2.3: unreserved, gen-delims, sub-delims, and '%'. */
static int
uri_char(unsigned char c)
{
	return c != '\0' && strchr(ALNUM "-._~:/?#[]@!$&'()*+,;=%", c) != NULL;
}

static int
refuse(const char **why, const char *what)
{
	*why = what;
	return HV_ECONFIG;
}

int
hv_url_host_loopback(const char *host, unsigned long len)
{
	char buf[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 0 || len >= sizeof buf)
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			return 0;
		buf[len - 1] = '\0';
		return inet_pton(AF_INET6, buf + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	/* inet_pton takes four decimal parts only: "127.1" or "0x7f.0.0.1",
	 * which resolvers read as loopback, are names here, and refused. */
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* The host of an authority, [IPv6] or a name/IPv4 (RFC 3986 3.2.2). */
static int
check_host(const char *host, size_t n, const char **why)
{
	char buf[64];
	struct in6_addr a6;

	if (n == 0)
		return refuse(why, "has no host");
	if (host[0] != '[')
		return strspn(host, ALNUM "-._~!$&'()*+,;=") >= n ? 0 :
		    refuse(why, "has a %-escape or a bracket in its host");
	/* No zone id ("%25eth0") and no IPvFuture: an address, or nothing. */
	if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof buf)
		return refuse(why, "has a bad IPv6 address");
	memcpy(buf, host + 1, n - 2);
	buf[n - 2] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1 ? 0 :
	    refuse(why, "has a bad IPv6 address");
}

/* ":PORT" up to end, or nothing: an empty port is refused, not defaulted. */
static int
check_port(const char *p, const char *end, const char **why)
{
	unsigned long v = 0;
	const char *d;

	if (p == end)
		return 0;
	if (*p != ':' || p + 1 == end || end - p > 6)
		return refuse(why, "has a bad port");
	for (d = p + 1; d < end; d++) {
		if (*d < '0' || *d > '9')
			return refuse(why, "has a bad port");
		v = v * 10 + (unsigned long)(*d - '0');
	}
	return v > 0 && v <= 65535 ? 0 : refuse(why, "has a bad port");
}

int
hv_url_check(const char *url, unsigned flags, const char **why)
{
	const char *auth, *end, *hend, *p;
	size_t n;
	int https, r;

	*why = NULL;
	for (p = url; *p != '\0'; p++)
		if (!uri_char((unsigned char)*p))
			return refuse(why, "holds a byte no URL may (a space, a backslash, "
			    "a control or non-ASCII character)");
	n = strspn(url, ALNUM "+-.");
	if (n == 0 || url[n] != ':')
		return refuse(why, "has no scheme (say https://HOST)");
	if (n == 5 && strncasecmp(url, "https", 5) == 0)
		https = 1;
	else if (n == 4 && strncasecmp(url, "http", 4) == 0)
		https = 0;
	else
		return refuse(why, "is not https");
	if (strncmp(url + n + 1, "//", 2) != 0)
		return refuse(why, "has no host (say https://HOST)");
	auth = url + n + 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return refuse(why, "has user information (a name before '@'), which hv "
		    "never sends");
	if (*auth == '[')
		hend = (p = memchr(auth, ']', (size_t)(end - auth))) != NULL ? p + 1 : end;
	else
		hend = auth + strcspn(auth, ":/?#");
	if ((r = check_host(auth, (size_t)(hend - auth), why)) < 0 ||
	    (r = check_port(hend, end, why)) < 0)
		return r;
	if (strpbrk(end, "[]@") != NULL)
		return refuse(why, "has '[', ']' or '@' past its host");
	if (!https && !hv_url_host_loopback(auth, (unsigned long)(hend - auth)))
		return refuse(why, "is plain http to a host that is not loopback "
		    "(127.0.0.0/8, ::1, localhost): say https");
	if ((flags & (HV_URL_BASE | HV_URL_ORIGIN)) && strpbrk(end, "?#") != NULL)
		return refuse(why, "has a query or a fragment");
	if ((flags & HV_URL_ORIGIN) && *end != '\0' && strcmp(end, "/") != 0)
		return refuse(why, "has a path (say https://HOST[:PORT])");
	return 0;
}
