#!/bin/sh
# Large messages (issue 13, item 5): above [google] resumable_above they go
# by resumable upload with the team's labels in the session's metadata;
# resets that break the PUTs are resumed from the byte Google
# acknowledged, not sent again from the start; every member ends with one
# byte-identical copy of each message.  A message larger than Gmail takes
# is refused with a clear error.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
emu_config '[team "big"]
source = s1@example.com
members = a1@example.com b1@example.com c1@example.com
label = Big
import = yes
[team "huge"]
source = s2@example.com
members = a2@example.com b2@example.com
label = Huge
import = yes'
for k in 1 2; do
	for u in s a b c; do emu POST /_emu/users "{\"email\":\"$u$k@example.com\"}" >/dev/null; done
done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null
bigmail() { node "$HV_TOP/tests/e2e/lib/bigmail.js" "$@"; }
stat_of() { emu GET /_emu/stats | jq ".resumable.$1 // 0"; }

# 1. A 6 MiB message and a small one; resets on the first PUTs.
size=$(bigmail deliver s1@example.com large.1 6291456 | cut -d' ' -f1)
deliver s1@example.com "$(printf 'Message-ID: <small.1@example.net>\r\nSubject: small\r\n\r\nsmall\r\n')"
emu DELETE /_emu/stats >/dev/null
emu POST /_emu/faults '{"rate":1,"kinds":["reset"],"verbs":["PUT"],"methods":["gmail.users.messages.import"],"count":3}' >/dev/null
( hv-fetch -t big 2>fetch.err; echo $? >rc.fetch ) | ( hv-sync -t big >sync.out 2>sync.err; echo $? >rc.sync )
ok 'hv-fetch | hv-sync, with resets on the uploads, exits 0' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 ||
    sed 's/^/#   /' fetch.err sync.err
ok 'both messages done' test "$(jq -r 'select(.done) | .id' sync.out | wc -l)" -eq 2
ok 'every member holds one byte-identical copy of each, with INBOX and the team label' \
    bigmail check s1@example.com Big a1@example.com b1@example.com c1@example.com
emu GET /_emu/stats | jq -c .resumable | sed 's/^/# resumable: /'
emu GET /_emu/faults | jq -c '[.log[] | .request | sub("upload_id=.*"; "upload_id=...")]' | sed 's/^/# faults: /'
ok 'three sessions, one per member: none started over' test "$(stat_of sessions)" -eq 3
ok 'three uploads completed' test "$(stat_of completed)" -eq 3
ok "the resets broke uploads ($(stat_of interrupted)) and hv resumed them ($(stat_of resumed))" \
    test "$(stat_of interrupted)" -ge 1 -a "$(stat_of resumed)" -ge 1
ok 'hv asked where each broken session stood' test "$(stat_of status_queries)" -ge "$(stat_of resumed)"
bytes=$(stat_of bytes)
ok "bytes sent ($bytes) are well under twice three copies ($((6 * size)))" \
    test "$bytes" -lt $((3 * size * 8 / 5)) -a "$bytes" -gt $((3 * size))
ok 'the small one went as one multipart upload' \
    test "$(emu GET /_emu/log | jq '[.[] | select(.path | test("uploadType=multipart"))] | length')" -eq 3
emu POST /_emu/faults '{"rate":0}' >/dev/null
( hv-fetch -t big 2>/dev/null; echo $? >rc.fetch ) | ( hv-sync -t big >/dev/null 2>&1; echo $? >rc.sync )
ok 'a second run has nothing to do and copies nothing twice' \
    bigmail check s1@example.com Big a1@example.com b1@example.com c1@example.com

# 1b. 503s and lost answers on the PUTs: a 503 keeps nothing, so hv asks
# and goes on from where the session stands; a truncated answer to the
# last PUT leaves the message made, and the status query hands back its
# id rather than a second copy.
bigmail deliver s1@example.com large.4 6291456 >/dev/null
emu DELETE /_emu/stats >/dev/null
emu POST /_emu/faults '{"rate":1,"kinds":["503","truncate"],"verbs":["PUT"],"seed":4,"count":5}' >/dev/null
( hv-fetch -t big 2>fetch.err; echo $? >rc.fetch ) | ( hv-sync -t big >sync.out 2>sync.err; echo $? >rc.sync )
emu GET /_emu/stats | jq -c '[.resumable, .faults]' | sed 's/^/# resumable, faults: /'
ok 'with 503s and truncated answers on the PUTs, the pipeline exits 0' \
    test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 || sed 's/^/#   /' fetch.err sync.err
ok 'every member holds one byte-identical copy of each' \
    bigmail check s1@example.com Big a1@example.com b1@example.com c1@example.com
ok 'five faults met, no session started over' \
    test "$(emu GET /_emu/stats | jq '[.faults[]] | add')/$(stat_of sessions)/$(stat_of completed)" = 5/3/3
emu POST /_emu/faults '{"rate":0}' >/dev/null

# 1c. A session that dies under hv (its life cut to a second; Google's is
# a week): the PUT stalls past hv's timeout, the status query meets 404,
# and hv opens a new session and sends the message in it.
bigmail deliver s1@example.com large.5 6291456 >/dev/null
emu DELETE /_emu/stats >/dev/null
emu POST /_emu/limits '{"session_ttl_s":1}' >/dev/null
emu POST /_emu/faults '{"rate":1,"kinds":["stall"],"verbs":["PUT"],"count":1,"stall_ms":5000}' >/dev/null
( hv-fetch -t big 2>fetch.err; echo $? >rc.fetch ) |
    ( HV_TEST_HTTP_TIMEOUT=2 hv-sync -t big >sync.out 2>sync.err; echo $? >rc.sync )
emu GET /_emu/stats | jq -c .resumable | sed 's/^/# resumable: /'
ok 'a session gone under a stalled upload: the pipeline exits 0' \
    test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 || sed 's/^/#   /' fetch.err sync.err
ok 'every member holds one byte-identical copy of each' \
    bigmail check s1@example.com Big a1@example.com b1@example.com c1@example.com
ok 'the dead session was opened again: four sessions for three members, one expired' \
    test "$(stat_of sessions)/$(stat_of expired)/$(stat_of completed)" = 4/1/3
emu POST /_emu/faults '{"rate":0}' >/dev/null
emu POST /_emu/limits '{"session_ttl_s":0}' >/dev/null

# 2. Larger than Google takes.  A limit set below the message (Google's is
# 50 MiB; the emulator's can be lowered so that no 50 MiB moves): the
# session is refused at initiation from X-Upload-Content-Length, each
# member's copy fails at once with a clear error, the message stays
# pending in the spool (as hv-sync leaves a message a member refused),
# and the run exits 65.
emu POST /_emu/limits '{"upload_max":4194304}' >/dev/null
bigmail deliver s2@example.com large.2 6291456 >/dev/null
emu DELETE /_emu/stats >/dev/null
( hv-fetch -t huge 2>fetch2.err; echo $? >rc.fetch ) | ( hv-sync -t huge >sync2.out 2>sync2.err; echo $? >rc.sync )
ok 'a message Google refuses as too large: hv-sync exits 65' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/65 ||
    sed 's/^/#   /' fetch2.err sync2.err
ok 'stderr names the mailbox and the size' \
    grep -q "a2@example.com messages.import: Google refused a message of [0-9]* bytes as too large" sync2.err ||
    sed 's/^/#   /' sync2.err
ok 'the result line: not done, each member failed, the error said' \
    test "$(jq -r '[.done, .members["a2@example.com"], .members["b2@example.com"], (.error | test("too large"))] | join(" ")' sync2.out)" = \
    "false failed failed true"
ok 'hv-sync counts it pending' grep -q 'done 0, pending 1,' sync2.err
ok 'refused at initiation: no byte was sent' test "$(stat_of sessions)/$(stat_of bytes)" = 0/0
ok 'no member holds it' test "$(mailbox a2@example.com | cut -d' ' -f1)/$(mailbox b2@example.com | cut -d' ' -f1)" = total=0/total=0
emu POST /_emu/limits '{"upload_max":0}' >/dev/null
expect_success 'with the limit lifted, the next run delivers it' hv-sync -t huge </dev/null
ok 'each member then holds it once, byte for byte' bigmail check s2@example.com Huge a2@example.com b2@example.com

# 2b. A member whose every PUT is reset: hv gives up on that member after
# its tries (75), the other gets the message; the error names the session
# without the upload_id that is its key; the next run delivers it.
bigmail deliver s2@example.com large.6 6291456 >/dev/null
emu DELETE /_emu/stats >/dev/null
emu POST /_emu/faults '{"rate":1,"kinds":["reset"],"verbs":["PUT"],"users":["a2@example.com"]}' >/dev/null
( hv-fetch -t huge 2>fetch.err; echo $? >rc.fetch ) | ( hv-sync -t huge >sync.out 2>sync.err; echo $? >rc.sync )
ok 'every PUT of one member reset: hv-sync gives up on it with 75' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/75 ||
    sed 's/^/#   /' fetch.err sync.err
ok 'the other member got it' test "$(jq -r '.members["b2@example.com"]' sync.out)" = imported
# Either the tries run out or, as nothing else answers meanwhile, the
# breaker ends the run first.
ok 'the error says why' grep -Eq 'a2@example.com messages.import: .*giving up after 7 tries|no answer from Google for' sync.err ||
    sed 's/^/#   /' sync.err
ok 'and keeps the session key out of stderr and the result line' \
    sh -c '! grep -q "upload_id=ADPycd" sync.err sync.out && grep -q "upload_id=\.\.\." sync.err'
ok 'nor does the audit log hold it' sh -c '! grep -rq "ADPycd" "$1"' - "$T/state"
emu POST /_emu/faults '{"rate":0}' >/dev/null
expect_success 'the next run delivers it' hv-sync -t huge </dev/null
ok 'each member then holds one copy of each, byte for byte' \
    bigmail check s2@example.com Huge a2@example.com b2@example.com

# 3. Over 50 MiB in the source (Gmail would not hold it; the emulator
# does): hv-fetch refuses it with a clear error and exit 65, and fetches
# the rest.
bigmail deliver s2@example.com huge.3 52430000 >/dev/null
deliver s2@example.com "$(printf 'Message-ID: <small.3@example.net>\r\nSubject: small\r\n\r\nsmall\r\n')"
( hv-fetch -t huge 2>fetch3.err; echo $? >rc.fetch ) | ( hv-sync -t huge >sync3.out 2>sync3.err; echo $? >rc.sync )
ok 'over 50 MiB: hv-fetch exits 65, hv-sync 0' test "$(cat rc.fetch)/$(cat rc.sync)" = 65/0 ||
    sed 's/^/#   /' fetch3.err sync3.err
ok 'hv-fetch says which message and why' \
    grep -q 's2@example.com: message [0-9a-f]* is larger than Gmail takes (52428800 bytes)' fetch3.err ||
    sed 's/^/#   /' fetch3.err
ok 'the small one went on' test "$(jq -r 'select(.done) | .messageId' sync3.out)" = '<small.3@example.net>'

done_testing
