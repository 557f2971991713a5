/*
 * fuzz: what the libFuzzer targets share.  An invariant that does not hold
 * is reported on stderr and ends the run with abort(), which libFuzzer
 * records as a crash and saves the input for.
 */
#ifndef HV_FUZZ_H
#define HV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/lsan_interface.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

static void fuzz_fail(const char *what, const char *file, int line)
    __attribute__((noreturn, unused));

static void
fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* An error message is one non-empty line. */
static int __attribute__((unused))
one_line(const char *msg)
{
	size_t i;

	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n')
			return 0;
	return i > 0;
}

/*
 * Whether the input is JSON libjq takes.  libjq 1.6 leaks a value on some
 * failures (see fuzz-json.c), so the parse runs with leak detection off.
 */
static int __attribute__((unused))
is_json(const char *text, size_t n)
{
	struct hv_json *j = NULL;
	int r;

	__lsan_disable();
	r = hv_json_parse(text, n, &j, NULL);
	__lsan_enable();
	hv_json_free(j);
	return r == 0;
}

#endif
