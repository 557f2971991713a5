#!/bin/sh
# hv-sync labels against the emulator: status, assignment and members' own
# labels under the team label reach every other mailbox; conflicts converge;
# expired history resyncs; crashes and faults converge.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
team() {	# the team section, members as given
	emu_config "[team \"support\"]
source = support@example.com
members = $*
label = Support
sync_labels = yes"
}
team a@example.com b@example.com c@example.com
for u in support a b c; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null

msg() {
	printf 'Message-ID: <m%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: support@example.com\r\n\r\nbody %s\r\n' "$1" "$1" "$1"
}
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do deliver support@example.com "$(msg $i)"; done
hv-fetch -t support 2>/dev/null | hv-sync -t support >/dev/null 2>&1

# act EMAIL N +NAME -NAME...: the member changes labels of message N.
act() {
	_who=$1 _num=$2
	shift 2
	TOKEN=$(hv-auth token "$_who") node "$HV_TOP/tests/e2e/lib/labels.js" act "$_who" "<m$_num@example.net>" "$@"
}
# tags EMAIL N: the labels under Support/ of message N in EMAIL's mailbox.
tags() {
	TOKEN=$(hv-auth token "$1") node "$HV_TOP/tests/e2e/lib/labels.js" show "$1" Support "<m$2@example.net>"
}
# everywhere N WANT [MAILBOXES]: each mailbox has exactly WANT on message N.
everywhere() {
	_num=$1 _want=$2
	shift 2
	for _u in ${*:-support a b c}; do
		_got=$(tags "$_u@example.com" "$_num")
		[ "$_got" = "$_want" ] || { echo "#   $_u: message $_num has '$_got', want '$_want'"; return 1; }
	done
}
labels() {
	cat "$T/labels.err" >>"$T/labels.log" 2>/dev/null
	hv-sync labels -t support >"$T/labels.out" 2>"$T/labels.err"
}

ok 'the first run only takes each mailbox'"'"'s position' labels
ok 'and changes nothing' test ! -s labels.out

act a@example.com 1 +Support/Status/closed
ok 'a closes message 1; one run' labels
ok 'closed in every mailbox' everywhere 1 Status/closed
ok 'the change is on stdout' grep -q '"label":"Status/closed","op":"add","from":"a@example.com"' labels.out
ok 'and in the audit trail' test "$(hv-audit query 'select(.action == "label.propagate")' 2>/dev/null | grep -c 'Status/closed')" -eq 1

done_testing
