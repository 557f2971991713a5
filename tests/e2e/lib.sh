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
umask 077
T=$(mktemp -d "${TMPDIR:-/tmp}/hv-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
# A config nobody else's: tests never read the user's.
export HV_CONFIG="$T/hv.conf"
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
