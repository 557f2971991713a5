/* err: messages, wrapping, and the one exit-code table. */
#include <errno.h>
#include <string.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "err.h"
#include "http.h"
#include "store.h"
#include "tap.h"

/* The three mappings onto the table, one row per case the table names. */
static void
test_mappings(void)
{
	static const struct { int errnum, code, want; } en[] = {
		{ EACCES, HV_ECANTCREAT, HV_EPERM }, { EPERM, HV_ENOINPUT, HV_EPERM },
		{ EROFS, HV_EIO, HV_ECANTCREAT }, { ENOENT, HV_ECANTCREAT, HV_ECANTCREAT },
		{ ENOENT, HV_ENOINPUT, HV_ENOINPUT }, { ENOTDIR, HV_ECANTCREAT, HV_ECANTCREAT },
		{ ENOSPC, HV_ECANTCREAT, HV_EIO }, { EDQUOT, HV_ECANTCREAT, HV_EIO },
		{ EIO, HV_ENOINPUT, HV_EIO }, { EMFILE, HV_ECANTCREAT, HV_ETEMP },
		{ ENFILE, HV_ENOINPUT, HV_ETEMP }, { ENOMEM, HV_EIO, HV_ETEMP },
		{ EINVAL, HV_EINTERNAL, HV_EINTERNAL },
	};
	static const struct { int code, errnum, want; } sq[] = {
		{ SQLITE_BUSY, 0, HV_ETEMP }, { SQLITE_LOCKED, 0, HV_ETEMP },
		{ SQLITE_NOMEM, 0, HV_ETEMP }, { SQLITE_IOERR_NOMEM, 0, HV_ETEMP },
		{ SQLITE_CORRUPT, 0, HV_EDATA }, { SQLITE_NOTADB, 0, HV_EDATA },
		{ SQLITE_READONLY, 0, HV_EPERM }, { SQLITE_READONLY_DIRECTORY, 0, HV_EPERM },
		{ SQLITE_PERM, 0, HV_EPERM }, { SQLITE_FULL, 0, HV_EIO },
		{ SQLITE_CANTOPEN, EACCES, HV_EPERM }, { SQLITE_CANTOPEN, ENOENT, HV_ECANTCREAT },
		{ SQLITE_CANTOPEN, EMFILE, HV_ETEMP }, { SQLITE_CANTOPEN, EROFS, HV_ECANTCREAT },
		{ SQLITE_CANTOPEN, 0, HV_ECANTCREAT }, { SQLITE_IOERR_WRITE, ENOSPC, HV_EIO },
		{ SQLITE_IOERR_WRITE, 0, HV_EIO }, { SQLITE_MISUSE, 0, HV_EINTERNAL },
	};
	static const struct { int code, want; } cu[] = {
		{ CURLE_OK, 0 },
		{ CURLE_COULDNT_RESOLVE_HOST, HV_ENOHOST }, { CURLE_COULDNT_RESOLVE_PROXY, HV_ENOHOST },
		{ CURLE_COULDNT_CONNECT, HV_ETEMP }, { CURLE_OPERATION_TIMEDOUT, HV_ETEMP },
		{ CURLE_RECV_ERROR, HV_ETEMP }, { CURLE_SEND_ERROR, HV_ETEMP },
		{ CURLE_GOT_NOTHING, HV_ETEMP }, { CURLE_OUT_OF_MEMORY, HV_ETEMP },
		{ CURLE_URL_MALFORMAT, HV_ECONFIG }, { CURLE_UNSUPPORTED_PROTOCOL, HV_ECONFIG },
		{ CURLE_SSL_CACERT_BADFILE, HV_ECONFIG },
		{ CURLE_PEER_FAILED_VERIFICATION, HV_EPROTO }, { CURLE_SSL_CONNECT_ERROR, HV_EPROTO },
		{ CURLE_WRITE_ERROR, HV_EPROTO }, { CURLE_FAILED_INIT, HV_EINTERNAL },
	};
	struct hv_err e = { 0 };
	size_t i;

	for (i = 0; i < sizeof en / sizeof en[0]; i++)
		is_int(hv_status_errno(en[i].errnum, en[i].code), en[i].want,
		    "errno %s (caller's %d) maps to %d", strerror(en[i].errnum),
		    en[i].code, en[i].want);
	for (i = 0; i < sizeof sq / sizeof sq[0]; i++)
		is_int(hv_store_status(sq[i].code, sq[i].errnum), sq[i].want,
		    "sqlite %d, errno %d maps to %d", sq[i].code, sq[i].errnum, sq[i].want);
	for (i = 0; i < sizeof cu / sizeof cu[0]; i++)
		is_int(hv_http_status(cu[i].code), cu[i].want, "curl %d maps to %d",
		    cu[i].code, cu[i].want);
	is_int(hv_err_errno(&e, HV_ECANTCREAT, EACCES, "cannot create '%s'", "f"), HV_EPERM,
	    "hv_err_errno returns the mapped code");
	is_int(e.code, HV_EPERM, "... and sets it");
	is_int(hv_err_errno(NULL, HV_EIO, EMFILE, "x"), HV_ETEMP, "... with a NULL err too");
}

int
main(void)
{
	static const struct { int status, code; } table[] = {
		{ HV_OK, 0 }, { HV_ENO, 1 }, { HV_EUSAGE, 64 }, { HV_EDATA, 65 },
		{ HV_ENOINPUT, 66 }, { HV_ENOHOST, 68 }, { HV_EUNAVAIL, 69 }, { HV_EINTERNAL, 70 },
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
	is_int(hv_exit_worst(75, 68), 68, "a host that does not resolve beats retry-later");
	test_mappings();
	return tap_done();
}
