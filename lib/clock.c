#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "banned.h"

/* The test offset, read once: the clock is asked for on every call. */
static long long
offset(void)
{
	static int read;
	static long long v;
	const char *s;
	char *end;

	if (read)
		return v;
	read = 1;
	if ((s = getenv("HV_TEST_CLOCK_OFFSET")) != NULL && *s != '\0') {
		v = strtoll(s, &end, 10);
		if (*end != '\0')
			v = 0;
	}
	return v;
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
