#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "http_curl.h"
#include "banned.h"

struct hv_curl hv_curl;

static const struct {
	const char *name;
	size_t off;
} syms[] = {
	{ "curl_global_init", offsetof(struct hv_curl, global_init) },
	{ "curl_easy_init", offsetof(struct hv_curl, easy_init) },
	{ "curl_easy_cleanup", offsetof(struct hv_curl, easy_cleanup) },
	{ "curl_easy_reset", offsetof(struct hv_curl, easy_reset) },
	{ "curl_easy_setopt", offsetof(struct hv_curl, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct hv_curl, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct hv_curl, easy_getinfo) },
	{ "curl_easy_strerror", offsetof(struct hv_curl, easy_strerror) },
	{ "curl_easy_escape", offsetof(struct hv_curl, easy_escape) },
	{ "curl_easy_unescape", offsetof(struct hv_curl, easy_unescape) },
	{ "curl_free", offsetof(struct hv_curl, free) },
	{ "curl_slist_append", offsetof(struct hv_curl, slist_append) },
	{ "curl_slist_free_all", offsetof(struct hv_curl, slist_free_all) },
	{ "curl_multi_init", offsetof(struct hv_curl, multi_init) },
	{ "curl_multi_cleanup", offsetof(struct hv_curl, multi_cleanup) },
	{ "curl_multi_setopt", offsetof(struct hv_curl, multi_setopt) },
	{ "curl_multi_add_handle", offsetof(struct hv_curl, multi_add_handle) },
	{ "curl_multi_remove_handle", offsetof(struct hv_curl, multi_remove_handle) },
	{ "curl_multi_perform", offsetof(struct hv_curl, multi_perform) },
	{ "curl_multi_poll", offsetof(struct hv_curl, multi_poll) },
	{ "curl_multi_info_read", offsetof(struct hv_curl, multi_info_read) },
	{ "curl_multi_strerror", offsetof(struct hv_curl, multi_strerror) },
	{ "curl_url", offsetof(struct hv_curl, url) },
	{ "curl_url_cleanup", offsetof(struct hv_curl, url_cleanup) },
	{ "curl_url_set", offsetof(struct hv_curl, url_set) },
	{ "curl_url_get", offsetof(struct hv_curl, url_get) },
};

int
hv_curl_load(struct hv_err *e)
{
	static int loaded;
	void *lib, *fn;
	size_t i;

	if (loaded)
		return 0;
	/* The soname the build linked against: the same ABI, found the same way. */
	/* dlerror() is text only; errno says whether a later run may load it
	 * (out of descriptors or memory: 75) or it is not there (69). */
	errno = 0;
	if ((lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL)
		return hv_err_set(e, hv_status_errno(errno, HV_EUNAVAIL),
		    "cannot load libcurl: %s", dlerror());
	for (i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		if ((fn = dlsym(lib, syms[i].name)) == NULL)
			return hv_err_set(e, HV_EUNAVAIL, "libcurl lacks %s", syms[i].name);
		/* POSIX guarantees object and function pointers convert. */
		*(void **)((char *)&hv_curl + syms[i].off) = fn;
	}
	if (hv_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hv_err_set(e, HV_EINTERNAL, "cannot initialise libcurl");
	loaded = 1;
	return 0;
}
