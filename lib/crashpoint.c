#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "crashpoint.h"
#include "banned.h"

void
hv_crashpoint(void)
{
	static long at = -1, seen;
	const char *s;

	if (at < 0) {
		s = getenv("HV_TEST_CRASH_AT");
		at = s != NULL ? strtol(s, NULL, 10) : 0;
	}
	if (at > 0 && ++seen == at)
		kill(getpid(), SIGKILL);
}
