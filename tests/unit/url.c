/* url: the https-or-loopback rule, by both parsers; strict file modes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "http.h"
#include "url.h"
#include "tap.h"

/* curl: what libcurl's parser says at request time, where it differs:
 * strictness (an empty port, a zone id, a %-escaped host that decodes to
 * loopback) is the config reader's; the policy itself must agree. */
static const struct { const char *url; int ok, curl; } urls[] = {
	{ "https://gmail.googleapis.com", 1, 0 },
	{ "https://gmail.googleapis.com/", 1, 0 },
	{ "https://192.0.2.1:8443/base", 1, 0 },
	{ "HTTPS://Example.COM", 1, 0 },
	{ "https://[2001:db8::1]:443", 1, 0 },
	{ "http://127.0.0.1:18282", 1, 0 },
	{ "http://127.255.0.9", 1, 0 },
	{ "http://localhost:1", 1, 0 },
	{ "HTTP://LOCALHOST", 1, 0 },
	{ "http://[::1]:80", 1, 0 },
	{ "http://[0:0:0:0:0:0:0:1]/", 1, 0 },
	{ "http://localhost:x@192.0.2.2:18282", 0, 0 },
	{ "https://user@gmail.googleapis.com", 0, 0 },
	{ "https://u:p@gmail.googleapis.com", 0, 0 },
	{ "http://127.0.0.1.evil.example", 0, 0 },
	{ "http://localhost.evil.example", 0, 0 },
	{ "http://192.0.2.1", 0, 0 },
	{ "http://128.0.0.1", 0, 0 },
	{ "http://[::2]", 0, 0 },
	{ "http://[::ffff:192.0.2.1]", 0, 0 },
	{ "https://", 0, 0 },
	{ "http://", 0, 0 },
	{ "ftp://localhost", 0, 0 },
	{ "file:///etc/passwd", 0, 0 },
	{ "gmail.googleapis.com", 0, 0 },
	{ "https:gmail.googleapis.com", 0, 0 },
	{ "https://gmail.googleapis.com:", 0, 1 },
	{ "https://gmail.googleapis.com:99999", 0, 0 },
	{ "https://[::1", 0, 0 },
	{ "http://[::1%25lo]", 0, 1 },
	{ "https://a b", 0, 0 },
	{ "https://a\\@b", 0, 0 },
	{ "http://127.0.0.1\\@192.0.2.1", 0, 0 },
	{ "http://%31%32%37.0.0.1", 0, 1 },
	{ "https://a\tb", 0, 0 },
};

static void
test_urls(void)
{
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		r = hv_url_check(urls[i].url, HV_URL_BASE, &why);
		ok((r == 0) == urls[i].ok, "config: '%s' %s%s%s", urls[i].url,
		    urls[i].ok ? "allowed" : "refused", why ? ": " : "", why ? why : "");
		if (r < 0)
			is_int(r, HV_ECONFIG, "... with 78");
	}
	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		int want = urls[i].ok || urls[i].curl;

		ok(hv_http_url_allowed(urls[i].url) == want,
		    "libcurl: '%s' %s", urls[i].url, want ? "allowed" : "refused");
	}
	ok(hv_url_check("https://h/p?q=1", HV_URL_BASE, &why) < 0, "a base URL takes no query");
	ok(hv_url_check("https://h/p?q=1", 0, &why) == 0, "... a request URL may");
	ok(hv_url_check("https://h:9000/", HV_URL_ORIGIN, &why) == 0, "an origin may end in /");
	ok(hv_url_check("https://h:9000/b", HV_URL_ORIGIN, &why) < 0, "... but has no path");
}

static void
mk(const char *path, mode_t mode, int dir)
{
	if (dir)
		mkdir(path, 0700);
	else
		close(open(path, O_WRONLY | O_CREAT, 0600));
	chmod(path, mode);
}

static void
test_modes(void)
{
	char top[] = "/tmp/hv-url-test.XXXXXX", p[256], q[256];
	struct hv_err e = { 0 };

	if (mkdtemp(top) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p, sizeof p, "%s/d", top);
	snprintf(q, sizeof q, "%s/d/f", top);
	mk(p, 0700, 1);
	mk(q, 0600, 0);
	is_int(hv_path_trusted(q, &e), 0, "0600 in a 0700 directory under sticky /tmp: trusted");
	is_int(hv_path_private(q, &e), 0, "... and private");
	chmod(q, 0644);
	is_int(hv_path_trusted(q, &e), 0, "0644: trusted (no one else writes it)");
	is_int(hv_path_private(q, &e), HV_EPERM, "... but not private");
	ok(strstr(e.msg, "is readable by others (mode 0644): chmod 600 ") != NULL,
	    "... saying the chmod: %s", e.msg);
	chmod(q, 0620);
	is_int(hv_path_trusted(q, &e), HV_EPERM, "0620: not trusted");
	ok(strstr(e.msg, "chmod go-w ") != NULL, "... saying the chmod: %s", e.msg);
	chmod(q, 0600);
	chmod(p, 0770);
	is_int(hv_path_trusted(q, &e), HV_EPERM, "a group-writable directory above: refused");
	ok(strstr(e.msg, p) != NULL && strstr(e.msg, "chmod go-w") != NULL,
	    "... naming it: %s", e.msg);
	chmod(p, 0755);
	is_int(hv_path_trusted(q, &e), 0, "a directory others may read: trusted");
	is_int(hv_path_private(p, &e), HV_EPERM, "... not private");
	ok(strstr(e.msg, "chmod 700 ") != NULL, "... saying the chmod: %s", e.msg);
	if (geteuid() == 0) {
		/* Owned by root, sticky: /tmp's case. */
		chmod(p, 01777);
		is_int(hv_path_trusted(q, &e), 0, "a root-owned sticky directory above: trusted");
	}
	chmod(p, 0700);
	snprintf(p, sizeof p, "%s/link", top);
	ok(symlink("d/f", p) == 0, "symlink");
	is_int(hv_path_trusted(p, &e), 0, "a link is judged by what it names");
	is_int(hv_path_trusted("/dev/null", &e), 0, "a device is left as it is");
	is_int(hv_path_trusted("/nonexistent/x", &e), HV_ENOINPUT, "a missing path: 66");
	unlink(p);
	unlink(q);
	snprintf(p, sizeof p, "%s/d", top);
	rmdir(p);
	rmdir(top);
}

int
main(void)
{
	test_urls();
	test_modes();
	return tap_done();
}
