/* cli: naming the command, refusing another with a suggestion. */
#include <string.h>

#include "cli.h"
#include "tap.h"

static const char *const audit[] = {
	"log", "verify", "query", "tail", "export", "optout", "watch", "init",
	"checkpoint", "rotate", "pubkey", "msgid", NULL,
};
static const char *const auth[] = {
	"init", "login", "service-account", "token", "list", "revoke", "directory",
	"rotate-key", NULL,
};

/* The message for an unknown command, or "" when it is one. */
static const char *
said(const char *const *cmds, const char *arg, int flags)
{
	static struct hv_err e;

	memset(&e, 0, sizeof e);
	return hv_cli_command(cmds, arg, flags, &e) == HV_EUSAGE ? e.msg : "";
}

int
main(void)
{
	struct hv_err e = { 0 };

	is_int(hv_cli_command(audit, "verify", 0, &e), 1, "a command: its index");
	is_int(hv_cli_command(audit, "msgid", 0, &e), 11, "the last one");
	is_str(said(audit, "verfy", 0), "unknown command 'verfy' (did you mean 'verify'?)",
	    "a letter dropped");
	is_str(said(audit, "veriyf", 0), "unknown command 'veriyf' (did you mean 'verify'?)",
	    "two letters swapped");
	is_str(said(auth, "lsit", 0), "unknown command 'lsit' (did you mean 'list'?)",
	    "a swap beats two changes");
	is_str(said(auth, "rotate", 0), "unknown command 'rotate' (did you mean 'rotate-key'?)",
	    "a unique prefix");
	is_str(said(auth, "frobnicate", 0), "unknown command 'frobnicate'", "nothing close");
	is_str(said(audit, "x", 0), "unknown command 'x'", "one letter suggests nothing");
	is_str(said(audit, "", 0), "unknown command ''", "the empty string");
	is_str(said(audit, NULL, 0), "no command", "no command at all");
	is_int(hv_cli_command(audit, NULL, HV_CLI_BARE, &e), -1, "a bare run");
	is_str(said(audit, "verfy", HV_CLI_BARE), "unknown command 'verfy' (did you mean "
	    "'verify'?)", "a bare run takes no operand: still a typo");
	is_int(hv_cli_command(audit, "/nonexistent/file", HV_CLI_BARE | HV_CLI_FILES, &e), -1,
	    "a file operand");
	is_int(hv_cli_command(audit, "cli.c-no-such", HV_CLI_BARE | HV_CLI_FILES, &e), -1,
	    "a missing file not close to a command is an operand");
	is_str(said(audit, "verfy", HV_CLI_BARE | HV_CLI_FILES), "unknown command 'verfy' "
	    "(did you mean 'verify'?)", "no such file and close to a command: a typo");
	is_int(hv_cli_command(audit, "/", HV_CLI_BARE | HV_CLI_FILES, &e), -1,
	    "an existing file is a file");
	is_str(said(audit, "a-very-long-name-longer-than-any-command-there-is", 0),
	    "unknown command 'a-very-long-name-longer-than-any-command-there-is'",
	    "a long name: no suggestion, no overflow");
	return tap_done();
}
