#!/bin/sh
# Google as it really behaves (issue 13), against the emulator's strict
# modes: a signed-in member whose access Google ends mid-run (401, then
# invalid_grant); timed lockouts in each of Google's shapes, with and
# without a Retry-After header; failedPrecondition, passing and for
# good ("Mail service not enabled").
. "$(dirname "$0")/lib.sh"

emu_start --latency 20
cd "$T" || exit 1
emu_config '[team "t"]
source = s@example.com
members = a@example.com b@example.com c@example.com
label = T
import = yes'
for u in s a b c; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
hv-auth init 2>/dev/null
for u in s a b c; do login $u@example.com || echo "# login $u failed: $(cat login.err)"; done

msg() {	# tag
	printf 'Message-ID: <%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: s@example.com\r\n\r\nbody %s\r\n' \
	    "$1" "$1" "$1"
}
deliver_n() {	# TAG N
	_i=1
	while [ "$_i" -le "$2" ]; do
		deliver s@example.com "$(msg "$1.$_i")"
		_i=$((_i + 1))
	done
}
spooled() { ls "$SPOOL" 2>/dev/null | grep -c '\.hvs$' || true; }
# calls_of EMAIL: the calls to EMAIL's mailbox and its token grants in
# the emulator's log since the stats were last cleared.
calls_of() {
	emu GET '/_emu/log?n=10000' | jq --arg u "$1" \
	    '[.[] | select(.path | test("users/" + ($u | sub("@"; "(%40|@)")) + "/"))] | length'
}
count() { grep -c "$@" || true; }

# A. A signed-in member whose access Google ends while hv holds a live
# token: the cached token answers 401, the refresh answers invalid_grant.
deliver_n a 10
hv-fetch -t t >a.in 2>a.fetch.err
ok 'ten messages fetched' test "$(wc -l <a.in)" -eq 10 || sed 's/^/#   /' a.fetch.err
tb=$(hv-auth token b@example.com)
emu POST /_emu/revoke-user '{"email":"b@example.com"}' >/dev/null
hv-sync -t t a.in >a.out 2>a.err
ok 'hv-sync exits 77 when Google ends a member access' test $? -eq 77
ok 'the others got all ten' test "$(mailbox a@example.com | cut -d' ' -f1-2)/$(mailbox c@example.com | cut -d' ' -f1-2)" = \
    "total=10 unique=10/total=10 unique=10"
ok 'one line on stderr says so, and what to do' \
    test "$(count "b@example.com: Google refused hv's access (.*invalid_grant.*); run hv-auth login b@example.com" a.err)" -eq 1 ||
    sed 's/^/#   /' a.err
ok 'and it is the only line about that member' test "$(count 'b@example.com' a.err)" -eq 1
ok "every result line's error says the same" \
    test "$(count "\"error\":\"b@example.com: Google refused hv's access (.*); run hv-auth login b@example.com\"" a.out)" -eq 10 ||
    sed 's/^/#   /' a.out
ok 'the account is marked revoked' sh -c 'hv-auth list -j | grep "\"b@example.com\"" | grep -q "\"revoked\":true"'
ok 'its dead token is not handed out again' sh -c "! hv-auth token b@example.com 2>/dev/null | grep -qx '$tb'"
ok 'the ten wait in the spool' test "$(spooled)" -eq 10

emu DELETE /_emu/stats >/dev/null
hv-sync -t t </dev/null >a2.out 2>a2.err
ok 'the next run exits 77 again' test $? -eq 77
ok 'without a call for that member' test "$(calls_of b@example.com)" -eq 0
ok 'nor a token asked for' test "$(emu GET /_emu/stats | jq '.calls["oauth2.token"] // 0')" -eq 0
ok 'saying once what to do' \
    test "$(count "b@example.com: Google refused hv's access (refused earlier); run hv-auth login b@example.com" a2.err)" -eq 1 ||
    sed 's/^/#   /' a2.err

expect_success 'signed in again' login b@example.com
expect_success 'the next run brings the member everything' hv-sync -t t </dev/null
ok 'once each' test "$(mailbox b@example.com | cut -d' ' -f1-3)" = "total=10 unique=10 dups=0"
ok 'and the spool is empty' test "$(spooled)" -eq 0

expect_success 'the audit trail verifies' hv-audit verify
done_testing
