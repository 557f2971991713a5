/*
 * Unit tests of the backup flow's pure parts and the S3 listing parser:
 * names and their times, the prune rule, object names, ListObjectsV2.
 */
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "http_s3.h"
#include "tap.h"

#define H 3600LL
#define D 86400LL

static void
test_names(void)
{
	static const char *const bad[] = {
		"hv-20261129T114900Z.hv", "hv-20261329T114900Z.hvb", "hv-20261129T246000Z.hvb",
		"hv-2026112xT114900Z.hvb", "xv-20261129T114900Z.hvb", "hv-20261129t114900Z.hvb",
		"hv-20261129T114900Z.hvbx", "", "hv-20261100T114900Z.hvb",
	};
	long long t = 0;
	size_t i;

	is_int(hv_backup_name_time("hv-20261129T114900Z.hvb", &t), 0, "a backup name");
	is_int(t, 1795952940LL, "stands for its UTC time");
	is_int(hv_backup_name_time("hv-19700101T000000Z.hvb", &t), 0, "the epoch");
	is_int(t, 0, "is 0");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(hv_backup_name_time(bad[i], &t), HV_EDATA, "refused: '%s'", bad[i]);
}

/* Names to the microsecond, beside the older names to the second. */
static void
test_names_us(void)
{
	static const char *const bad[] = {
		"hv-20261129T114900.12345Z.hvb", "hv-20261129T114900,123456Z.hvb",
		"hv-20261129T114900.12345xZ.hvb", "hv-20261129T114900.1234567Z.hvb",
	};
	long long t = 0;
	size_t i;

	is_int(hv_backup_name_time_us("hv-20261129T114900.000042Z.hvb", &t), 0,
	    "a name to the microsecond");
	is_int(t, 1795952940000042LL, "stands for its UTC time");
	is_int(hv_backup_name_time("hv-20261129T114900.999999Z.hvb", &t), 0, "in seconds");
	is_int(t, 1795952940LL, "cut to the second");
	is_int(hv_backup_name_time_us("hv-20261129T114900Z.hvb", &t), 0, "an older name");
	is_int(t, 1795952940000000LL, "at .000000");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(hv_backup_name_time(bad[i], &t), HV_EDATA, "refused: '%s'", bad[i]);
	ok(hv_backup_name_cmp("hv-20261129T114900.000001Z.hvb",
	    "hv-20261129T114900.000002Z.hvb") < 0, "the same second, by microsecond");
	ok(hv_backup_name_cmp("hv-20261129T114900Z.hvb",
	    "hv-20261129T114900.000000Z.hvb") < 0, "an older name first in its second");
	ok(hv_backup_name_cmp("hv-20261129T114901Z.hvb",
	    "hv-20261129T114900.999999Z.hvb") > 0, "the forms ordered by time");
	ok(hv_backup_name_cmp("x", "hv-20261129T114900Z.hvb") > 0, "a stranger last");
}

/* keep as a string of 0/1 for n times */
static void
prune_case(const long long *t, size_t n, long keep, long long now, const char *want,
    const char *name)
{
	int v[64];
	char got[65];
	size_t i;

	hv_backup_prune_select(t, n, keep, now, v);
	for (i = 0; i < n; i++)
		got[i] = (char)('0' + v[i]);
	got[n] = '\0';
	is_str(got, want, "%s", name);
}

/* Two backups in one second: the later in the list is the newer. */
static void
test_prune_ties(void)
{
	long long t[] = { 1795952940LL - 10 * D, 1795952940LL, 1795952940LL };

	prune_case(t, 3, 1, 1795952940LL, "001", "of equal times, the later kept");
}

static void
test_prune(void)
{
	long long now = 1795952940LL - (1795952940LL % D) + 12 * H;	/* noon */
	long long t[20];
	size_t i;

	/* Every 4 hours for 10 days, newest last. */
	for (i = 0; i < 20; i++)
		t[i] = now - (long long)(19 - i) * 12 * H;
	prune_case(t, 20, 3, now, "00000001010101010111",
	    "keep 3 and the newest of each of the last 7 days");
	prune_case(t, 20, 100, now, "11111111111111111111", "keep more than there are");
	prune_case(t, 0, 3, now, "", "nothing to prune");
	/* The day rule alone: keep 1 still holds one a day for a week. */
	for (i = 0; i < 10; i++)
		t[i] = now - (long long)i * D;
	prune_case(t, 10, 1, now, "1111111000", "one a day for 7 days, not older");
	/* Two backups in one day: only that day's newest is kept by the day rule. */
	t[0] = now - D + H;
	t[1] = now - D + 2 * H;
	t[2] = now;
	prune_case(t, 3, 1, now, "011", "a day's newest");
}

static int
count(const struct hv_s3_object *o, void *arg)
{
	struct hv_buf *keys = arg;

	hv_buf_addf(keys, "%s=%lld;", o->key, o->size);
	return 0;
}

static void
list_case(const char *xml, int want, const char *keys_want, int trunc_want,
    const char *next_want, const char *name)
{
	struct hv_buf keys = HV_BUF_INIT(4096), next = HV_BUF_INIT(1024);
	struct hv_err e = { 0 };
	int truncated, r;

	r = hv_s3_list_parse(xml, strlen(xml), count, &keys, &truncated, &next, &e);
	is_int(r, want, "%s", name);
	if (want == 0) {
		is_str(keys.data ? keys.data : "", keys_want, "%s: objects", name);
		is_int(truncated, trunc_want, "%s: truncated", name);
		is_str(next.data ? next.data : "", next_want, "%s: token", name);
	}
	hv_buf_release(&keys);
	hv_buf_release(&next);
}

static void
test_list(void)
{
	list_case("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"x\">"
	    "<Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>a+b/=</"
	    "NextContinuationToken><Contents><Key>p/k1</Key><Size>12</Size><Owner><ID>o"
	    "</ID></Owner></Contents><Contents><Key>a&amp;&lt;&#x41;&#66;</Key>"
	    "<LastModified>2026-01-01T00:00:00.000Z</LastModified><Size>0</Size></Contents>"
	    "<CommonPrefixes><Prefix>q/</Prefix></CommonPrefixes></ListBucketResult>",
	    0, "p/k1=12;a&<AB=0;", 1, "a+b/=", "a listing");
	list_case("<ListBucketResult><IsTruncated>false</IsTruncated><Contents/>"
	    "</ListBucketResult>", HV_EPROTO, "", 0, "", "an empty Contents");
	list_case("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
	    0, "", 0, "", "nothing listed");
	list_case("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>"
	    "</ListBucketResult>", HV_EPROTO, "", 0, "", "a negative size");
	list_case("<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Content>"
	    "</ListBucketResult>", HV_EPROTO, "", 0, "", "mismatched tags");
	list_case("<ListBucketResult><!-- x --></ListBucketResult>", HV_EPROTO, "", 0, "",
	    "a comment");
	list_case("<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>", HV_EPROTO, "", 0, "",
	    "a DTD");
	list_case("<ListBucketResult><Contents><Key>&#0;</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>", HV_EPROTO, "", 0, "", "a NUL in a key");
	list_case("<ListBucketResult><Contents><Key>&foo;</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>", HV_EPROTO, "", 0, "", "an unknown entity");
	list_case("<ListBucketResult>", HV_EPROTO, "", 0, "", "unclosed");
	list_case("<Error><Code>AccessDenied</Code></Error>", HV_EPROTO, "", 0, "",
	    "an error body");
	list_case("<ListBucketResult/><ListBucketResult/>", HV_EPROTO, "", 0, "",
	    "two roots");
	list_case("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
	    HV_EPROTO, "", 0, "", "a bad boolean");
}

static void
test_object_names(void)
{
	static const char *const good[] = { "b", "hv/backups", "a.b-c_d/e" };
	static const char *const bad[] = { "", "/a", "a//b", "a/../b", "..", "a b", "a?b",
	    "a%2f", "a/.." };
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(hv_s3_name_ok(good[i]), "name ok: '%s'", good[i]);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(!hv_s3_name_ok(bad[i]), "name refused: '%s'", bad[i]);
}

int
main(void)
{
	test_names();
	test_names_us();
	test_prune();
	test_prune_ties();
	test_list();
	test_object_names();
	return tap_done();
}
