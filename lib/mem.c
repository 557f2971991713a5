#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mem.h"

static void
oom(size_t n)
{
	fprintf(stderr, "hv: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
hv_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
hv_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
hv_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
hv_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(hv_xmalloc(n), s, n);
}

static size_t
page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/*
 * Single pages given back, still locked and undumpable, wiped to zeros:
 * a run seals and opens a file per message, each with keys of its own,
 * and five system calls a page would cost more than the crypto.
 */
#define SPARE_PAGES 16
static void *spare[SPARE_PAGES];
static size_t nspare;

void *
hv_secure_alloc(size_t n)
{
	size_t len = page_round(n);
	void *p;

	if (len == page_round(1) && nspare > 0)
		return spare[--nspare];
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		oom(n);
	/*
	 * A container may cap RLIMIT_MEMLOCK at zero; the secret is still
	 * wiped and kept out of core dumps, which is what matters most.
	 */
	(void)mlock(p, len);
	(void)madvise(p, len, MADV_DONTDUMP);
	return p;
}

void
hv_secure_free(void *p, size_t n)
{
	size_t len;

	if (p == NULL)
		return;
	len = page_round(n);
	OPENSSL_cleanse(p, len);
	if (len == page_round(1) && nspare < SPARE_PAGES) {
		spare[nspare++] = p;
		return;
	}
	munlock(p, len);
	munmap(p, len);
}

void
hv_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

int
hv_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
