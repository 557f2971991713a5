/*
 * bench-cpu: the CPU hv spends on the trail and the index per copy; a
 * measurement, not a test (make bench-cpu; not in make check).
 *
 *	build/cc/tests/bench-cpu [DIR [N [CASE]]]
 *
 * Prints, for N (default 1000) operations each: audit events appended one
 * by one, in batches of 8 and in one batch; index copy rows put in
 * autocommit and inside one transaction.  CPU is user + system time of
 * this process (getrusage), wall time beside it; DIR (default /tmp) is
 * where the files go, so its file system decides what an fdatasync costs.
 * CASE runs one case alone (single, batch8, batch, index, index-tx), say
 * under strace -c to count its fdatasyncs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "index.h"
#include "store.h"

static const uint8_t key[32] = { 1 };

struct meter {
	struct rusage ru;
	struct timespec ts;
};

static void
meter_start(struct meter *m)
{
	getrusage(RUSAGE_SELF, &m->ru);
	clock_gettime(CLOCK_MONOTONIC, &m->ts);
}

static double
tv_us(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static void
meter_print(const struct meter *m, const char *what, int n)
{
	struct rusage ru;
	struct timespec ts;
	double cpu, wall;

	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cpu = tv_us(&ru.ru_utime) - tv_us(&m->ru.ru_utime) + tv_us(&ru.ru_stime) -
	    tv_us(&m->ru.ru_stime);
	wall = (double)(ts.tv_sec - m->ts.tv_sec) * 1e6 + (double)(ts.tv_nsec - m->ts.tv_nsec) / 1e3;
	printf("%-44s %6d ops  cpu %8.1f us/op  wall %8.1f us/op\n", what, n, cpu / n, wall / n);
}

static int
audit_config(struct hv_config *c, const char *dir, const char *name)
{
	char text[1024];
	struct hv_err e;

	snprintf(text, sizeof text, "[paths]\naudit = %s/%s/audit.log\n", dir, name);
	return hv_config_parse(c, "bench", text, strlen(text), &e);
}

static int
bench_audit(const char *dir, int n, int per)
{
	struct hv_audit_batch *b = NULL;
	struct hv_config c;
	struct meter m;
	struct hv_err e;
	char name[64], what[64];
	int i, r = 0;

	snprintf(name, sizeof name, "audit-%d", per);
	if (audit_config(&c, dir, name) < 0 || hv_audit_init(&c, &e) < 0)
		return -1;
	if (per > 0)
		b = hv_audit_batch_new(&c, key);
	meter_start(&m);
	for (i = 0; i < n && r == 0; i++) {
		if (per == 0) {
			r = hv_audit_message(&c, key, HV_AUDIT_MSG_IMPORT, "member@example.com",
			    "support", "<order-1@shop.example>", HV_AUDIT_OK, NULL, &e);
			continue;
		}
		r = hv_audit_batch_message(b, HV_AUDIT_MSG_IMPORT, "member@example.com",
		    "support", "<order-1@shop.example>", HV_AUDIT_OK, NULL, &e);
		if (r == 0 && hv_audit_batch_len(b) >= (size_t)per)
			r = hv_audit_batch_flush(b, &e);
	}
	if (r == 0 && b != NULL)
		r = hv_audit_batch_flush(b, &e);
	if (per == 0)
		snprintf(what, sizeof what, "audit: hv_audit_message, one by one");
	else
		snprintf(what, sizeof what, "audit: batches of %d", per);
	meter_print(&m, what, n);
	hv_audit_batch_free(b);
	hv_config_free(&c);
	if (r < 0)
		fprintf(stderr, "bench-cpu: %s\n", e.msg);
	return r;
}

static int
bench_index(const char *dir, int n, int tx)
{
	struct hv_store *s;
	struct meter m;
	struct hv_err e;
	uint8_t mid[HV_INDEX_MID_LEN] = { 0 };
	char path[600], member[64];
	int i, r;

	snprintf(path, sizeof path, "%s/index-%d.db", dir, tx);
	if ((r = hv_store_open(&s, path, 1, &e)) < 0 ||
	    (r = hv_index_message_put(s, "support", mid, "src@example.com", "id1", "", 0, 1,
	    &e)) < 0)
		goto out;
	meter_start(&m);
	if (tx)
		r = hv_store_begin(s, &e);
	for (i = 0; i < n && r == 0; i++) {
		snprintf(member, sizeof member, "m%d@example.com", i);
		r = hv_index_copy_put(s, "support", mid, member, "18c0ffee", i, &e);
	}
	if (r == 0 && tx)
		r = hv_store_commit(s, &e);
	meter_print(&m, tx ? "index: hv_index_copy_put, one transaction" :
	    "index: hv_index_copy_put, autocommit", n);
out:
	if (r < 0)
		fprintf(stderr, "bench-cpu: %s\n", e.msg);
	hv_store_close(s);
	return r;
}

int
main(int argc, char **argv)
{
	static const char *const cases[] = { "single", "batch8", "batch", "index", "index-tx" };
	const char *only = argc > 3 ? argv[3] : NULL;
	char dir[400], cmd[500];
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000, r = 0, i;

	snprintf(dir, sizeof dir, "%s/hv-bench-cpu.XXXXXX", argc > 1 ? argv[1] : "/tmp");
	if (n < 1 || mkdtemp(dir) == NULL)
		return 1;
	for (i = 0; i < 5; i++) {
		if (only != NULL && strcmp(only, cases[i]) != 0)
			continue;
		r |= i < 3 ? bench_audit(dir, n, i == 0 ? 0 : i == 1 ? 8 : n) :
		    bench_index(dir, n, i == 4);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return r != 0;
}
