#!/bin/sh
# Google as it really behaves (issue 13), against the emulator's strict
# modes: a signed-in member whose access Google ends mid-run (401, then
# invalid_grant); timed lockouts in each of Google's shapes, with and
# without a Retry-After header; failedPrecondition, passing and for
# good ("Mail service not enabled"); a domain whose delegation an
# administrator removed.
. "$(dirname "$0")/lib.sh"

emu_start --latency 20
cd "$T" || exit 1
emu_config '[team "t"]
source = s@example.com
members = a@example.com b@example.com c@example.com
label = T
import = yes
[team "d"]
source = s@corp.example
members = x@corp.example y@corp.example
label = D
import = yes'
for u in s a b c; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
for u in s x y; do emu POST /_emu/users "{\"email\":\"$u@corp.example\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"corp.example"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null
hv-auth service-account -D corp.example sa.json 2>sa.err || sed "s/^/# service-account: /" sa.err
for u in s a b c; do login $u@example.com || echo "# login $u failed: $(cat login.err)"; done

msg() {	# tag
	printf 'Message-ID: <%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: s@example.com\r\n\r\nbody %s\r\n' \
	    "$1" "$1" "$1"
}
deliver_n() {	# TAG N [SOURCE]
	_i=1
	while [ "$_i" -le "$2" ]; do
		deliver "${3:-s@example.com}" "$(msg "$1.$_i")"
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

# B. A timed lockout: 429 with "Retry after <time>" a quarter of an hour
# ahead and no Retry-After header, as Gmail answers a throttled user.
deliver_n b 5
hv-fetch -t t >b.in 2>b.fetch.err
emu POST /_emu/lockout '{"email":"b@example.com","seconds":900,"shape":"user429"}' >/dev/null
emu DELETE /_emu/stats >/dev/null
t1=$(date +%s)
hv-sync -t t b.in >b.out 2>b.err
rc=$? took=$(($(date +%s) - t1))
ok "the run exits 75 (exit $rc)" test $rc -eq 75
ok "at once: the quarter of an hour is not sat out ($took s)" test $took -le 20
ok 'the others got all five' test "$(mailbox a@example.com | cut -d' ' -f1)/$(mailbox c@example.com | cut -d' ' -f1)" = "total=15/total=15"
ok 'one line names the mailbox and the time Google gave' \
    test "$(count 'b@example.com: Google asks hv to wait until .*User-rate limit exceeded.  Retry after ' b.err)" -eq 1 ||
    sed 's/^/#   /' b.err
ok 'and nothing else about it' test "$(count 'b@example.com' b.err)" -eq 1
ok 'every result line says why it is not done' test "$(count '"error":"b@example.com: Google as' b.out)" -eq 5
ok 'the member cost no more calls than were in flight' test "$(calls_of b@example.com)" -le 8

emu DELETE /_emu/stats >/dev/null
hv-sync -t t </dev/null >b2.out 2>b2.err
ok 'the next run, before that time, exits 75 too' test $? -eq 75
ok 'without calling that mailbox' test "$(calls_of b@example.com)" -eq 0
ok 'saying when it may' test "$(count 'b@example.com: Google asked hv to wait until ' b2.err)" -eq 1 ||
    sed 's/^/#   /' b2.err

# A quarter of an hour later (for Google and for hv alike).
emu POST /_emu/clock '{"advance":1000}' >/dev/null
HV_TEST_CLOCK_OFFSET=1000
export HV_TEST_CLOCK_OFFSET
# Longer than the spool keeps raw mail (ttl 10 min): the next pipeline
# fetches those five again.
( hv-fetch -t t 2>b3.fetch.err; echo $? >b3.fetch.rc ) | hv-sync -t t >b3.out 2>b3.err
ok 'after that time the next pipeline goes on' test "$(cat b3.fetch.rc)/$?" = 0/0 ||
    sed 's/^/#   /' b3.fetch.err b3.err
ok 'and the member has all fifteen, once each' test "$(mailbox b@example.com | cut -d' ' -f1-3)" = "total=15 unique=15 dups=0"

# C. The other shapes, short: 403 usageLimits with a Retry-After header,
# and 429 "Resource has been exhausted" with no time at all.  Both are
# waited out within the run.
deliver_n c 4
hv-fetch -t t >c.in 2>/dev/null
emu POST /_emu/lockout '{"email":"a@example.com","seconds":3,"shape":"usage403","retry_after_header":true}' >/dev/null
emu POST /_emu/lockout '{"email":"c@example.com","seconds":2,"shape":"exhausted429"}' >/dev/null
emu DELETE /_emu/stats >/dev/null
expect_success 'short waits in either shape are sat out' hv-sync -t t c.in
ok 'everyone has all nineteen' test "$(for u in a b c; do mailbox $u@example.com | cut -d' ' -f1-2; done | sort -u)" = "total=19 unique=19"
ok 'after Google said no at least twice' test "$(emu GET /_emu/stats | jq '(.errors["403"] // 0) + (.errors["429"] // 0)')" -ge 2

# D. failedPrecondition: "Precondition check failed." passes when tried
# again; "Mail service not enabled" is for good.
deliver_n d 6
hv-fetch -t t >d.in 2>/dev/null
emu POST /_emu/faults '{"rate":1,"kinds":["precondition"],"methods":["gmail.users.messages.import"],"count":4,"seed":3}' >/dev/null
emu DELETE /_emu/stats >/dev/null
expect_success 'a passing failedPrecondition is tried again' hv-sync -t t d.in
ok 'Google said it four times' test "$(emu GET /_emu/stats | jq '.faults.precondition // 0')" -eq 4
ok 'and everyone has all twenty-five once' \
    test "$(for u in a b c; do mailbox $u@example.com | cut -d' ' -f1-3; done | sort -u)" = "total=25 unique=25 dups=0"
emu POST /_emu/faults '{"rate":0}' >/dev/null

deliver_n e 6
hv-fetch -t t >e.in 2>/dev/null
emu POST /_emu/users '{"email":"c@example.com","gmail":false}' >/dev/null
emu DELETE /_emu/stats >/dev/null
hv-sync -t t e.in >e.out 2>e.err
ok 'a member without Gmail: exit 77' test $? -eq 77
ok 'said once' test "$(count 'c@example.com: Gmail is not enabled for this account (Mail service not enabled)' e.err)" -eq 1 ||
    sed 's/^/#   /' e.err
ok 'without a try per message' test "$(calls_of c@example.com)" -le 8
ok 'the others got all six' test "$(mailbox a@example.com | cut -d' ' -f1)/$(mailbox b@example.com | cut -d' ' -f1)" = "total=31/total=31"
emu POST /_emu/users '{"email":"c@example.com","gmail":true}' >/dev/null
expect_success 'once it is turned on, the next run brings the rest' hv-sync -t t </dev/null
ok 'and the spool is empty' test "$(spooled)" -eq 0

# E. A domain whose administrator removed hv's delegation, live tokens
# and all: the member's access is refused, with what to check.
deliver_n f 3 s@corp.example
hv-fetch -t d >f.in 2>f.fetch.err || sed 's/^/#   /' f.fetch.err
hv-auth token x@corp.example >/dev/null 2>&1
emu POST /_emu/revoke-delegation '{"domain":"corp.example","tokens":true}' >/dev/null
hv-sync -t d f.in >f.out 2>f.err
ok 'hv-sync exits 77' test $? -eq 77
ok 'saying to check the delegation' \
    test "$(count "x@corp.example: Google refused hv's access (.*unauthorized_client.*); check .*corp.example's service account still has domain-wide delegation" f.err)" -eq 1 ||
    sed 's/^/#   /' f.err
emu POST /_emu/revoke-delegation '{"domain":"corp.example","restore":true}' >/dev/null
expect_success 'given back, the next run goes on' hv-sync -t d </dev/null
ok 'both members have all three' test "$(mailbox x@corp.example | cut -d' ' -f1)/$(mailbox y@corp.example | cut -d' ' -f1)" = "total=3/total=3"

# F. The source locked out: hv-fetch ends at once with 75, and the next
# run, before the time Google gave, does not call it.
deliver_n g 2
emu POST /_emu/lockout '{"email":"s@example.com","seconds":900,"shape":"user429"}' >/dev/null
hv-fetch -t t >g.out 2>g.err
ok 'hv-fetch exits 75 for a source locked out' test $? -eq 75
ok 'one line names it and the time' test "$(count 's@example.com: Google asks hv to wait until ' g.err)" -eq 1 ||
    sed 's/^/#   /' g.err
emu DELETE /_emu/stats >/dev/null
hv-fetch -t t >g2.out 2>g2.err
ok 'the next hv-fetch exits 75 too' test $? -eq 75
ok 'without a call' test "$(calls_of s@example.com)" -eq 0
emu POST /_emu/clock '{"advance":1000}' >/dev/null
HV_TEST_CLOCK_OFFSET=2000
( hv-fetch -t t 2>/dev/null; echo $? >g3.rc ) | hv-sync -t t >/dev/null 2>g3.err
ok 'after that time both go on' test "$(cat g3.rc)/$?" = 0/0 || sed 's/^/#   /' g3.err
ok 'and the two arrive' test "$(mailbox a@example.com | cut -d' ' -f1)" = "total=33"

expect_success 'the audit trail verifies' hv-audit verify
done_testing
