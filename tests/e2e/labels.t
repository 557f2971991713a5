#!/bin/sh
# hv-sync labels against the emulator: status, assignment and members' own
# labels under the team label reach every other mailbox; conflicts converge;
# expired history resyncs; crashes and faults converge.  User label ids are
# opaque throughout (Google documents no shape; hv must assume none), and a
# team label named like one of Gmail's system labels is refused (78).
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
emu POST /_emu/label-ids '{"style":"opaque"}' >/dev/null
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
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do deliver support@example.com "$(msg $i)"; done
hv-fetch -t support 2>"$T/fetch0.err" | hv-sync -t support >/dev/null 2>"$T/sync0.err"

# ids EMAIL NAME: the id of label NAME in EMAIL's mailbox.
ids() {
	curl -s --cacert "$EMU_CA" -H "Authorization: Bearer $(hv-auth token "$1")" \
	    "$EMU_URL/gmail/v1/users/me/labels" | jq -r --arg n "$2" '.labels[] | select(.name == $n) | .id'
}
for u in a b c; do
	_id=$(ids $u@example.com Support)
	ok "$u's team label has an opaque id ($_id)" eval 'test -n "$_id" && case $_id in Label_*) false ;; esac'
done
for u in a b c; do
	ok "$u has every message once, each with the team label" \
	    test "$(mailbox $u@example.com "$(ids $u@example.com Support)")" = 'total=14 unique=14 dups=0 labels=14'
done

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
ok 'no progress when stderr is not a terminal' sh -c "! grep -q 'mailboxes' '$T/labels.err'"
if command -v script >/dev/null; then
	script -qec 'hv-sync labels -t support >/dev/null' /dev/null >tty.out 2>&1
	ok 'at a terminal labels shows how far it is' grep -q 'support: labels: read [0-9]* of [0-9]* mailboxes' tty.out
fi


# An assignment set by an admin, then moved by a member.
expect_success 'hv-sync set assigns message 2 to a' hv-sync set -t support '<m2@example.net>' assign=a@example.com
ok 'a is assigned everywhere' everywhere 2 Assigned/a@example.com
act b@example.com 2 +Support/Assigned/b@example.com -Support/Assigned/a@example.com
ok 'b takes it over' labels
ok 'the assignment moved everywhere' everywhere 2 Assigned/b@example.com
hv-sync status '<m2@example.net>' >status.out 2>/dev/null
ok 'status shows state and assignee' grep -q '"state":"open","assignee":"b@example.com"' status.out
expect_failure 64 'set refuses a state the team does not have' hv-sync set -t support '<m2@example.net>' status=lost
expect_failure 66 'set refuses a message the index does not know' hv-sync set -t support '<nope@x>' status=closed

# Two members disagree between two runs: the later member in the team's
# order wins, the same answer everywhere, one status each.
act a@example.com 3 +Support/Status/pending
act c@example.com 3 +Support/Status/closed
ok 'a conflict' labels
ok 'converges to c'"'"'s change everywhere' everywhere 3 Status/closed
act b@example.com 3 +Support/Status/open -Support/Status/closed
ok 'a later run'"'"'s change wins over the earlier one' labels
ok 'open everywhere, closed gone' everywhere 3 Status/open

# A label a member makes under the team label travels as it is.
act b@example.com 4 +Support/VIP
ok 'b labels message 4 VIP' labels
ok 'VIP everywhere' everywhere 4 VIP

# Expired history: the labels of that mailbox's copies are compared, nothing copied.
act c@example.com 5 +Support/Urgent
emu POST /_emu/expire-history '{"email":"c@example.com"}' >/dev/null
emu DELETE /_emu/stats >/dev/null
ok 'a run over expired history' labels
ok 'says so' grep -q 'label history has expired' labels.err
ok 'the change made before the expiry arrives' everywhere 5 Urgent
emu GET /_emu/stats >stats.json
ok 'by listing labels, not by copying again' test "$(jq '(.calls["gmail.users.messages.import"] // 0) + (.calls["gmail.users.messages.insert"] // 0) + (.calls["gmail.users.messages.get"] // 0)' stats.json)" -eq 0
ok 'c still has each message once' test "$(mailbox c@example.com)" = 'total=14 unique=14 dups=0 labels=0'

# A member deleting their copy is theirs alone; the index remembers it.
tb=$(emu POST /_emu/tokens '{"email":"b@example.com","scopes":["https://mail.google.com/"]}' | jq -r .access_token)
id=$(TOKEN=$(hv-auth token b@example.com) node "$HV_TOP/tests/e2e/lib/labels.js" id b@example.com '<m6@example.net>')
curl -s --cacert "$EMU_CA" -X DELETE -H "Authorization: Bearer $tb" "$EMU_URL/gmail/v1/users/b@example.com/messages/$id"
ok 'b deletes its copy of message 6' labels
ok 'the run notes it' grep -q '1 deleted by their member' labels.err
act a@example.com 6 +Support/Status/pending
ok 'a later change to message 6' labels
ok 'reaches the others, not b' everywhere 6 Status/pending 'support a c'
ok 'b has no copy again' test "$(tags b@example.com 6)" = absent

# A member taken off the team gets nothing more.
team a@example.com b@example.com
act a@example.com 7 +Support/Status/pending
ok 'c leaves the team; a changes message 7' labels
ok 'the members left have it' everywhere 7 Status/pending 'support a b'
ok 'c does not' test "$(tags c@example.com 7)" = -
team a@example.com b@example.com c@example.com
ok 'c back' labels

# A crash after each durable step, then a rerun: converged, once.
n=1
while [ $n -le 5 ]; do
	act b@example.com $((7 + n)) +Support/Status/closed +Support/Crash$n
	HV_TEST_CRASH_AT=$n hv-sync labels -t support >/dev/null 2>&1
	labels
	n=$((n + 1))
done
n=1
conv=0
while [ $n -le 5 ]; do
	everywhere $((7 + n)) "Crash$n,Status/closed" || conv=1
	n=$((n + 1))
done
ok 'crashes at every step converge' test $conv -eq 0
ok 'and a run after them changes nothing' labels
ok '(no change on stdout)' test ! -s labels.out

# Quota on and a tenth of the calls failing: still converges.
emu POST /_emu/quota '{"table":"legacy"}' >/dev/null
act a@example.com 13 +Support/Status/pending
act c@example.com 13 +Support/Assigned/c@example.com
act b@example.com 14 +Support/Waiting
# Gmail's calls only: OAuth under faults is faults.t's business.
emu POST /_emu/faults '{"rate":0.1,"kinds":["429","500","503","reset","truncate"],"seed":9,
    "methods":["gmail.users.getProfile","gmail.users.history.list","gmail.users.labels.list",
    "gmail.users.labels.create","gmail.users.messages.list","gmail.users.messages.modify",
    "gmail.users.messages.batchModify"]}' >/dev/null
tries=0
until labels || [ $tries -ge 3 ]; do tries=$((tries + 1)); done
emu POST /_emu/faults '{"rate":0}' >/dev/null
ok 'runs under faults end well' labels
ok 'message 13 converged' everywhere 13 Assigned/c@example.com,Status/pending
ok 'message 14 converged' everywhere 14 Waiting
ok 'faults were met' test "$(emu GET /_emu/stats | jq '[.faults[]] | add // 0')" -gt 0

ok 'the audit trail holds' hv-audit verify
ok 'the labels hv made have opaque ids too' test -z "$(ids a@example.com Support/Status/closed | grep '^Label_')" -a -n "$(ids a@example.com Support/Status/closed)"

# A team label named like a Gmail system label: refused when hv.conf is
# read, naming the file and line, before any mailbox is touched.
refused() {	# refused LABEL-LINE WHAT: every tool exits 78 naming the line
	_line=$1 _what=$2
	sed "s|^label = Support\$|$_line|" "$HV_CONFIG" >bad.conf
	chmod 600 bad.conf
	_at=$(grep -n "^$_line\$" bad.conf | cut -d: -f1)
	expect_failure 78 "hv-sync with '$_line'" hv-sync -c bad.conf -t support </dev/null
	ok "says where and why: $_what" grep -q "bad.conf:$_at: label '.*' is Gmail's system label $_what; name a label of your own" "$T/.err"
	expect_failure 78 "hv-fetch with '$_line'" hv-fetch -c bad.conf -t support
	expect_failure 78 "hv-sync labels with '$_line'" hv-sync labels -c bad.conf -t support
}
refused 'label = Inbox' INBOX
refused 'label = SPAM' SPAM
refused 'label = "sent mail"' SENT

done_testing
