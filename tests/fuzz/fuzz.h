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
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "json.h"
#include "sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

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

/* The directory part of a libFuzzer path option's value, written. */
static void
fuzz_write_parent(struct hv_sandbox *sb, const char *value)
{
	char *dir = strdup(value), *slash;

	if (dir == NULL)
		abort();
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	hv_sandbox_write(sb, slash == NULL ? "." : slash == dir ? "/" : dir);
	free(dir);
}

/*
 * The targets run in the sandbox the tools run in, as a parser in a tool
 * would: no network, no exec, files only where libFuzzer keeps its own
 * (the corpus directories, the artifacts, the working directory, where
 * crashes go by default).  libFuzzer's -fork, -jobs, -workers and -merge
 * start processes of their own: those runs stay outside, and say so.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const spawns[] = { "-fork=", "-jobs=", "-workers=", "-merge=" };
	struct hv_sandbox sb;
	struct hv_err e = { 0 };
	const char *a;
	int i, k;

	hv_sandbox_policy(&sb, NULL, "fuzz", NULL);
	hv_sandbox_write(&sb, ".");
	for (i = 1; i < *argc; i++) {
		a = (*argv)[i];
		for (k = 0; k < 4; k++)
			if (strncmp(a, spawns[k], strlen(spawns[k])) == 0) {
				fprintf(stderr, "fuzz: %s starts processes: no sandbox\n", a);
				hv_sandbox_release(&sb);
				return 0;
			}
		if (strncmp(a, "-artifact_prefix=", 17) == 0)
			fuzz_write_parent(&sb, a + 17);
		else if (strncmp(a, "-exact_artifact_path=", 21) == 0)
			fuzz_write_parent(&sb, a + 21);
		else if (strncmp(a, "-dict=", 6) == 0)
			hv_sandbox_read(&sb, a + 6);
		else if (a[0] != '-')
			hv_sandbox_write(&sb, a);	/* a corpus grows; an input is read */
	}
	if (hv_sandbox_enter(&sb, &e) < 0) {
		fprintf(stderr, "fuzz: %s\n", e.msg);
		abort();
	}
	hv_sandbox_release(&sb);
	return 0;
}

#endif
