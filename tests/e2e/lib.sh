# Test library for the end-to-end tests: TAP out, the real binaries in.
#
#	. "$(dirname "$0")/lib.sh"
#	expect_success 'name' cmd args...	passes when cmd exits 0
#	expect_failure 65 'name' cmd args...	passes when cmd exits 65
#	ok 'name' test-expression...		passes when the expression is true
#	done_testing				prints the plan, exits with the verdict
#
# HV_BIN is where the binaries are (make check sets it), T a private
# scratch directory removed at exit, and PATH finds the binaries first.
set -u
HV_TOP=${HV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
HV_BIN=${HV_BIN:-$HV_TOP/bin}
PATH=$HV_BIN:$PATH
export PATH HV_BIN HV_TOP
# Files 0600 and directories 0700, as hv makes its own: the tools refuse a
# config others may write and keys others may read (hv(7), strict modes),
# and $T sits in a sticky /tmp that only root owns, which they allow.
umask 077
T=$(mktemp -d "${TMPDIR:-/tmp}/hv-test.XXXXXX")
# HV_TEST_KEEP=1 keeps the scratch directory for a look afterwards.
# The spool must be on tmpfs: a directory of /dev/shm, or, where there
# is none, one on disk that the config allows (allow_disk).
if [ -d /dev/shm ] && SPOOL=$(mktemp -d /dev/shm/hv-spool.XXXXXX 2>/dev/null); then
	SPOOL_DISK=no
else
	SPOOL=$T/spool
	SPOOL_DISK=yes
fi
_cleanup() {
	if [ -n "${HV_TEST_KEEP:-}" ]; then
		echo "# kept $T and $SPOOL"
	else
		rm -rf "$T" "$SPOOL"
	fi
}
trap _cleanup EXIT
# A config nobody else's, and a home of its own, so that no default path
# (~/.local/state/hv, ~/.config/hv) reaches the user's files.
export HV_CONFIG="$T/hv.conf"
HOME=$T/home
mkdir -p "$HOME"
unset XDG_CONFIG_HOME XDG_STATE_HOME
export HOME
: >"$HV_CONFIG"
_n=0
_failed=0

_report() {	# status name
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

expect_success() {
	_name=$1; shift
	"$@" >"$T/.out" 2>"$T/.err"
	_rc=$?
	_report $([ $_rc -eq 0 ] && echo 0 || echo 1) "$_name"
	[ $_rc -eq 0 ] || { echo "#   exit $_rc: $*"; sed 's/^/#   /' "$T/.err"; }
	return $_rc
}

expect_failure() {
	_want=$1 _name=$2; shift 2
	"$@" >"$T/.out" 2>"$T/.err"
	_rc=$?
	_report $([ $_rc -eq "$_want" ] && echo 0 || echo 1) "$_name"
	[ $_rc -eq "$_want" ] || { echo "#   exit $_rc, want $_want: $*"; sed 's/^/#   /' "$T/.err"; }
	[ $_rc -eq "$_want" ]
}

ok() {
	_name=$1; shift
	"$@"
	_rc=$?
	_report $_rc "$_name"
	return $_rc
}

# The stdout and stderr of the last expect_*.
last_out() { cat "$T/.out"; }
last_err() { cat "$T/.err"; }

done_testing() {
	echo "1..$_n"
	[ $_failed -eq 0 ]
	exit $?
}

# The Google emulator, for the tests that talk to Google.
#
#	emu_start [run options...]	start it; sets EMU_URL and EMU_CA
#	emu METHOD PATH [JSON]		call it (control API or Google's paths)
#	emu_config [extra config]	an hv.conf pointing every endpoint at it,
#					with state, master key and client in $T
#	browse URL			what a browser does with a consent URL:
#					follow the redirect to the loopback listener
_emu_pid=
emu_start() {
	# hv paces itself by the table the emulator charges, as an
	# administrator sets [google] quota to the project's.
	EMU_QUOTA=2026
	_prev=
	for _a; do
		[ "$_prev" = --quota ] && EMU_QUOTA=$_a
		_prev=$_a
	done
	"$HV_TOP/tests/fake-google/run" "$@" >"$T/emu.json" 2>"$T/emu.log" &
	_emu_pid=$!
	trap 'kill $_emu_pid 2>/dev/null; wait $_emu_pid 2>/dev/null; _cleanup' EXIT
	_i=0
	while ! grep -q '"url"' "$T/emu.json" 2>/dev/null && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	EMU_URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$T/emu.json")
	EMU_CA=$(sed -n 's/.*"ca":"\([^"]*\)".*/\1/p' "$T/emu.json")
	if [ -z "$EMU_URL" ]; then
		echo "Bail out! the Google emulator did not start"
		sed 's/^/# /' "$T/emu.log"
		exit 1
	fi
	export EMU_URL EMU_CA
}

emu_stop() {
	kill "$_emu_pid" 2>/dev/null
	wait "$_emu_pid" 2>/dev/null
}

emu() {
	if [ $# -ge 3 ]; then
		curl -s --cacert "$EMU_CA" -X "$1" -H 'Content-Type: application/json' \
		    --data-binary "$3" "$EMU_URL$2"
	else
		curl -s --cacert "$EMU_CA" -X "$1" "$EMU_URL$2"
	fi
}

emu_config() {
	cat >"$HV_CONFIG" <<CONF
[paths]
state = $T/state/hv.db
spool = $SPOOL
audit = $T/state/audit.log
[keys]
master = $T/master.key
[google]
api = $EMU_URL
oauth = $EMU_URL
accounts = $EMU_URL
directory = $EMU_URL
ca_file = $EMU_CA
client = $T/client.json
quota = $EMU_QUOTA
[sandbox]
mode = required
[spool]
allow_disk = $SPOOL_DISK
$*
CONF
	emu POST /_emu/clients '{}' >"$T/client.json"
	chmod 600 "$T/client.json"
}

browse() {
	_loc=$(curl -s -o /dev/null -w '%{redirect_url}' --cacert "$EMU_CA" "$1")
	[ -n "$_loc" ] && curl -s -o /dev/null "$_loc"
}

# The consent URL a login printed on stderr to file $1, once it is there.
consent_url() {
	_i=0
	while ! grep -q '^https://' "$1" 2>/dev/null && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	grep -m1 '^https://' "$1"
}

# login ACCOUNT [options]: hv-auth login, the consent answered as a
# browser would; its stderr in $T/login.err.
login() {
	_a=$1
	shift
	# The old file must be gone before the new login writes its URL.
	rm -f "$T/login.err"
	hv-auth login -t 20 "$@" "$_a" 2>"$T/login.err" &
	_p=$!
	browse "$(consent_url "$T/login.err")"
	wait $_p
}

# deliver EMAIL RAW [LABEL...]: mail arrives in EMAIL's mailbox.
deliver() {
	_to=$1 _raw=$2
	shift 2
	_labels=$(printf '"%s",' "${@:-INBOX}" | sed 's/,$//')
	emu POST /_emu/deliver "{\"email\":\"$_to\",\"raw\":\"$(printf '%s' "$_raw" |
	    base64 -w0 | tr '+/' '-_' | tr -d '=')\",\"labelIds\":[$_labels]}" >/dev/null
}

# mailbox EMAIL [LABEL-ID]: "total=N unique=M dups=D labels=L" of a mailbox.
mailbox() {
	emu GET "/_emu/mailbox/$1" | node "$HV_TOP/tests/e2e/lib/mailbox.js" ${2:+"$2"}
}

# unknown_command TOOL TYPO MEANT: the typo is refused, exit 64, with one
# line naming it and the command meant, then the usage.
unknown_command() {
	expect_failure 64 "$1 $2: an unknown command" "$1" "$2"
	ok "$1 $2: one line saying so, then the usage" sh -c "
	    head -n 1 '$T/.err' | grep -qxF \"$1: unknown command '$2' (did you mean '$3'?)\" &&
	    sed -n 2p '$T/.err' | grep -q '^usage: $1'"
}
