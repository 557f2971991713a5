/*
 * mem: allocation that aborts on exhaustion, and locked memory for secrets.
 *
 * Out of memory is not an error a caller can handle usefully in a small
 * tool, so the x* calls print one line and abort.  Secret memory is
 * mmap'ed, locked against swap, excluded from core dumps, and wiped with
 * hv_wipe() before it is returned.  hv_wipe and hv_ct_equal are
 * OpenSSL's OPENSSL_cleanse and CRYPTO_memcmp: the one use of OpenSSL
 * outside the crypto module, so the base layer can wipe without a cycle.
 */
#ifndef HV_MEM_H
#define HV_MEM_H

#include <stddef.h>

void *hv_xmalloc(size_t n);
void *hv_xcalloc(size_t nmemb, size_t size);
void *hv_xrealloc(void *p, size_t n);
char *hv_xstrdup(const char *s);

/* Zeroed, locked, undumpable memory of n bytes (n > 0); never NULL. */
void *hv_secure_alloc(size_t n);

/* Wipe and release memory from hv_secure_alloc; NULL is allowed.  A few
 * single pages are kept, wiped, locked and undumpable, for the next. */
void hv_secure_free(void *p, size_t n);

/* Overwrite n bytes with zeros in a way the compiler cannot drop. */
void hv_wipe(void *p, size_t n);

/* Constant-time comparison of two n-byte strings: 1 equal, 0 not. */
int hv_ct_equal(const void *a, const void *b, size_t n);

#endif
