/* err: messages, wrapping, and the one exit-code table. */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "tap.h"

int
main(void)
{
	static const struct { int status, code; } table[] = {
		{ HV_OK, 0 }, { HV_ENO, 1 }, { HV_EUSAGE, 64 }, { HV_EDATA, 65 },
		{ HV_ENOINPUT, 66 }, { HV_EUNAVAIL, 69 }, { HV_EINTERNAL, 70 },
		{ HV_ECANTCREAT, 73 }, { HV_EIO, 74 }, { HV_ETEMP, 75 },
		{ HV_EPROTO, 76 }, { HV_EPERM, 77 }, { HV_ECONFIG, 78 }, { -12345, 70 },
	};
	struct hv_err e = { 0 };
	char big[2 * HV_ERR_MSG];
	size_t i;

	for (i = 0; i < sizeof table / sizeof table[0]; i++)
		is_int(hv_exit_code(table[i].status), table[i].code, "status %d exits %d",
		    table[i].status, table[i].code);

	is_int(hv_err_set(&e, HV_EDATA, "bad '%s'", "x"), HV_EDATA, "set returns its code");
	is_str(e.msg, "bad 'x'", "set formats");
	hv_err_wrap(&e, "'%s'", "file");
	is_str(e.msg, "'file': bad 'x'", "wrap prefixes and keeps the code");
	is_int(e.code, HV_EDATA, "wrap keeps the code");
	hv_err_errno(&e, HV_ENOINPUT, ENOENT, "cannot open '%s'", "f");
	is_str(e.msg, "cannot open 'f': No such file or directory", "errno text appended");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	hv_err_set(&e, HV_EDATA, "%s", big);
	ok(strlen(e.msg) == HV_ERR_MSG - 1 && strcmp(e.msg + HV_ERR_MSG - 4, "...") == 0,
	    "an over-long message is cut and marked");
	is_int(hv_err_set(NULL, HV_EIO, "x"), HV_EIO, "a NULL err is allowed");

	is_int(hv_exit_worst(0, 65), 65, "failure beats success");
	is_int(hv_exit_worst(1, 0), 1, "a negative answer beats success");
	is_int(hv_exit_worst(75, 65), 65, "a hard failure beats retry-later");
	is_int(hv_exit_worst(77, 75), 77, "retry-later loses either way round");
	is_int(hv_exit_worst(75, 0), 75, "retry-later beats success");
	return tap_done();
}
