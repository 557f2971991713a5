#!/bin/sh
# Teams from a Google group (issue 13, item 6): nested groups count, a
# CUSTOMER member and an address hv cannot reach are named once a run and
# skipped, a message is done when every member hv can reach has it, the
# run exits 0 unless no member can be reached, hv-sync status lists the
# skipped; a group member who signs in later is reached from then on; and
# a team of a domain without a service account works with sign-ins alone.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
emu_config '[team "grp"]
source = support@example.com
group = team@example.com
label = Grp
[team "far"]
source = far@example.com
group = farteam@example.com
label = Far
[team "solo"]
source = boss@solo.example
group = crew@solo.example
label = Solo'
# support is the first account of example.com: its administrator.
for u in support a b c; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
# The Directory answers administrators only, and the group is read as the source.
emu POST /_emu/users '{"email":"far@example.com","admin":true}' >/dev/null
emu POST /_emu/users '{"email":"ext@other.example"}' >/dev/null
for u in boss m1 m2; do emu POST /_emu/users "{\"email\":\"$u@solo.example\"}" >/dev/null; done
emu POST /_emu/groups '{"email":"inner@example.com","members":["c@example.com","a@example.com"]}' >/dev/null
emu POST /_emu/groups '{"email":"team@example.com","members":["a@example.com","b@example.com",
    "inner@example.com","ext@other.example",{"type":"CUSTOMER"}]}' >/dev/null
emu POST /_emu/groups '{"email":"farteam@example.com","members":["x@other.example",{"type":"CUSTOMER"}]}' >/dev/null
emu POST /_emu/groups '{"email":"crew@solo.example","members":["m1@solo.example","m2@solo.example"]}' >/dev/null
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account -D example.com sa.json 2>/dev/null ||
    hv-auth service-account sa.json 2>/dev/null

msg() {	# tag
	printf 'Message-ID: <%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: support@example.com\r\n\r\nbody %s\r\n' \
	    "$1" "$1" "$1"
}
# pipe TEAM: hv-fetch | hv-sync, the exit codes in rc.fetch and rc.sync.
pipe() {
	: >"$T/sync.err"
	( hv-fetch -t "$1" 2>>"$T/fetch.err"; echo $? >"$T/rc.fetch" ) |
	    ( hv-sync -t "$1" 2>>"$T/sync.err"; echo $? >"$T/rc.sync" ) >"$T/sync.out"
	[ "$(cat "$T/rc.fetch")" -eq 0 ] && [ "$(cat "$T/rc.sync")" -eq 0 ]
}
# everyone N EMAIL...: each mailbox holds N messages, each once.
everyone() {
	_want=$1
	shift
	for _u; do
		_got=$(mailbox "$_u")
		[ "$_got" = "total=$_want unique=$_want dups=0 labels=0" ] ||
		    { echo "#   $_u: $_got, want $_want each once"; return 1; }
	done
}
spooled() {	# TEAM: its spool files
	ls "$SPOOL" 2>/dev/null | grep -c "^[0-9]*\.$1\..*\.hvs$" || true
}
login() {	# ACCOUNT: sign in as a browser would
	rm -f "$T/login.err"
	hv-auth login -t 20 "$1" 2>"$T/login.err" &
	_p=$!
	browse "$(consent_url "$T/login.err")"
	wait $_p
}
# count PATTERN FILE: lines matching
count() { grep -c -- "$1" "$2" || true; }

for i in 1 2 3; do deliver support@example.com "$(msg "g$i")"; done
ok 'a team from a group, with a service account: the run succeeds' pipe grp
ok 'no member fails for want of scopes' test "$(count 'is in no team' sync.err)" -eq 0
ok 'each message goes to the two direct users and the nested group'"'"'s, once' \
    everyone 3 a@example.com b@example.com c@example.com
ok 'the external address is named once, with why' \
    test "$(count 'team grp: skipping ext@other.example: outside example.com and never signed in (run hv-auth login ext@other.example)' sync.err)" -eq 1
ok 'the CUSTOMER member is named once' test "$(count 'team grp: skipping customer C0' sync.err)" -eq 1
ok 'the nested group itself is not a member to skip' test "$(count 'inner@example.com' sync.err)" -eq 0
ok 'nothing reached the external mailbox' everyone 0 ext@other.example
ok 'every message is done' test "$(grep -c '"done":true' sync.out)" -eq 3
ok 'its result line names the members hv syncs to' \
    test "$(grep -c '"a@example.com":"imported","b@example.com":"imported","c@example.com":"imported"}' sync.out)" -eq 3
ok 'the spool holds none of them' test "$(spooled grp)" -eq 0

hv-sync status >status.out 2>status.err
ok 'hv-sync status exits 0' test $? -eq 0
ok 'and lists the two skipped of the team, with why' \
    test "$(jq -r 'select(.team == "grp") | .type + " " + .skipped' status.out | sort | tr '\n' ' ')" = \
    "CUSTOMER customer $(jq -r 'select(.type == "CUSTOMER" and .team == "grp") | .skipped' status.out | sed 's/^customer //') USER ext@other.example "
ok 'the external one: never signed in' \
    test "$(jq -r 'select(.skipped == "ext@other.example") | .why' status.out)" = 'outside example.com and never signed in (run hv-auth login ext@other.example)'
hv-sync status -t grp >status2.out 2>/dev/null
ok 'status -t names one team only' test "$(jq -r .team status2.out | sort -u)" = grp
expect_success 'status of a message: every member hv can reach has it' hv-sync status '<g2@example.net>'
ok 'and says whom it skips' grep -q 'grp: skipping ext@other.example' "$T/.err"

for i in 4 5; do deliver support@example.com "$(msg "g$i")"; done
ok 'a second run: again exit 0' pipe grp
ok 'names the skipped once again, not once a message' \
    test "$(count 'skipping ext@other.example' sync.err)" -eq 1 -a "$(count 'skipping customer' sync.err)" -eq 1
ok 'the new mail reached all three' everyone 5 a@example.com b@example.com c@example.com

# The external member signs in: hv-auth login knows its scopes from the
# group's last listing, and the next run reaches it.
expect_success 'the external member can sign in: its scopes come from the group' login ext@other.example
ok 'as a member: gmail.insert and gmail.labels' grep -q 'gmail.insert.*gmail.labels\|gmail.labels.*gmail.insert' "$T/login.err"
deliver support@example.com "$(msg g6)"
ok 'the next run succeeds' pipe grp
ok 'and no longer skips it' test "$(count 'ext@other.example' sync.err)" -eq 0
ok 'it gets the new message' everyone 1 ext@other.example
ok 'only the CUSTOMER member is left in status' \
    test "$(hv-sync status -t grp 2>/dev/null | jq -r .type)" = CUSTOMER

# No member can be reached: not a success, and the mail waits in the spool.
deliver far@example.com "$(msg f1)"
pipe far; cp sync.err far.err
ok 'a group with no member hv can reach: hv-sync exits 77' test "$(cat rc.sync)" -eq 77
ok 'saying so' grep -q "team 'far': no member of 'farteam@example.com' can be reached" sync.err
ok 'after naming whom it skipped' grep -q 'team far: skipping x@other.example' sync.err
ok 'the message stays in the spool' test "$(spooled far)" -eq 1

# A domain with no service account: the source signs in (and its grant
# lists the group), the members sign in, and the team works.
expect_success 'the source of a group team signs in' login boss@solo.example
ok 'its grant includes the Directory'"'"'s group members' grep -q 'admin.directory.group.member.readonly' "$T/login.err"
for i in 1 2; do deliver boss@solo.example "$(msg "s$i")"; done
pipe solo
ok 'before the members sign in: 77' test "$(cat rc.sync)" -eq 77
ok 'each named, with the way out' \
    grep -q 'team solo: skipping m1@solo.example: solo.example has no service account and it never signed in (run hv-auth login m1@solo.example)' sync.err
expect_success 'a member signs in' login m1@solo.example
expect_success 'the other too' login m2@solo.example
ok 'now the team syncs' pipe solo
ok 'both members have both messages, once' everyone 2 m1@solo.example m2@solo.example
ok 'nothing is skipped' test ! -s sync.err -o "$(count skipping sync.err)" -eq 0
ok 'and the spool is empty of the team' test "$(spooled solo)" -eq 0

# A member's grant is revoked: skipped from then on (not 77 on every run,
# with every message left in the spool), until it signs in again.
hv-auth revoke m2@solo.example 2>/dev/null
deliver boss@solo.example "$(msg s3)"
ok 'a run after a member'"'"'s revocation succeeds' pipe solo
ok 'naming it, with the way back' \
    grep -q 'team solo: skipping m2@solo.example: solo.example has no service account and its sign-in was revoked (run hv-auth login m2@solo.example)' sync.err
ok 'the other member has the new message' everyone 3 m1@solo.example
ok 'the spool is empty of the team again' test "$(spooled solo)" -eq 0

done_testing
