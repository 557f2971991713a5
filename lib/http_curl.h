/*
 * http_curl: libcurl, loaded when the first request needs it.
 *
 * Included by the http module's files instead of <curl/curl.h>.  Most runs
 * of most tools never touch the network (a token from the cache, a spool
 * purge, an audit query), and loading libcurl with the thirty-odd
 * libraries it depends on costs more than all their own work, so the
 * module binds libcurl's functions with dlopen(3) on first use.  The names
 * below stand for pointers filled by hv_curl_load().
 */
#ifndef HV_HTTP_CURL_H
#define HV_HTTP_CURL_H

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "err.h"

struct hv_curl {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	char *(*easy_unescape)(CURL *, const char *, int, int *);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	const char *(*multi_strerror)(CURLMcode);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
};

extern struct hv_curl hv_curl;

/* Load libcurl and initialise it, once: HV_EUNAVAIL when it cannot be had. */
int hv_curl_load(struct hv_err *e);

struct hv_http_request;
struct hv_http_response;

/* What every request of a client shares. */
struct http_policy {
	char *ca_file;		/* owned; NULL: the system's */
	long timeout;		/* seconds for a whole request */
};

void http_policy_init(struct http_policy *p, const char *ca_file, long timeout);
void http_policy_release(struct http_policy *p);

/* Where a transfer stands in a body sent in parts. */
struct http_reader {
	const struct hv_http_part *parts;	/* borrowed */
	size_t nparts, part, off;
};

/*
 * Set up c for req under the one policy (lib/http.c), its answer into
 * resp, a body in parts read through rd (which must live as long as the
 * transfer): *headers gets the header list, for http_easy_release() once
 * the transfer is over.  HV_ECONFIG for a URL the policy refuses.
 */
int http_easy_prepare(CURL *c, const struct http_policy *p, char *errbuf,
    const struct hv_http_request *req, struct hv_http_response *resp,
    struct http_reader *rd, struct curl_slist **headers, struct hv_err *e);
void http_easy_release(CURL *c, struct curl_slist *headers);

/* A failed transfer as the module reports it: hv_http_status(c) and why. */
int http_curl_error(CURLcode c, const char *errbuf, const char *method, const char *url,
    struct hv_err *e);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init	hv_curl.global_init
#define curl_easy_init		hv_curl.easy_init
#define curl_easy_cleanup	hv_curl.easy_cleanup
#define curl_easy_reset		hv_curl.easy_reset
#define curl_easy_setopt	hv_curl.easy_setopt
#define curl_easy_perform	hv_curl.easy_perform
#define curl_easy_getinfo	hv_curl.easy_getinfo
#define curl_easy_strerror	hv_curl.easy_strerror
#define curl_easy_escape	hv_curl.easy_escape
#define curl_easy_unescape	hv_curl.easy_unescape
#define curl_free		hv_curl.free
#define curl_slist_append	hv_curl.slist_append
#define curl_slist_free_all	hv_curl.slist_free_all
#define curl_multi_init		hv_curl.multi_init
#define curl_multi_cleanup	hv_curl.multi_cleanup
#define curl_multi_setopt	hv_curl.multi_setopt
#define curl_multi_add_handle	hv_curl.multi_add_handle
#define curl_multi_remove_handle hv_curl.multi_remove_handle
#define curl_multi_perform	hv_curl.multi_perform
#define curl_multi_poll		hv_curl.multi_poll
#define curl_multi_info_read	hv_curl.multi_info_read
#define curl_multi_strerror	hv_curl.multi_strerror
#define curl_url		hv_curl.url
#define curl_url_cleanup	hv_curl.url_cleanup
#define curl_url_set		hv_curl.url_set
#define curl_url_get		hv_curl.url_get

#endif
