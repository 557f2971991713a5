/* hex: test helpers to write known answers as hex strings. */
#ifndef HV_TEST_HEX_H
#define HV_TEST_HEX_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

/* Decode hex into out (room for max); returns the byte count or -1. */
static inline long
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i;
	unsigned v;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

static inline int
eq_hex(const uint8_t *got, size_t n, const char *want)
{
	uint8_t w[4096];

	return unhex(want, w, sizeof w) == (long)n && memcmp(got, w, n) == 0;
}

#endif
