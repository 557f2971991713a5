#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "banned.h"

static long long
offset(void)
{
	const char *s = getenv("HV_TEST_CLOCK_OFFSET");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' ? v : 0;
}

long long
hv_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec + offset()) * 1000000 + ts.tv_nsec / 1000;
}

long long
hv_now(void)
{
	return hv_now_us() / 1000000;
}
