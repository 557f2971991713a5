#!/bin/sh
# hv-fetch | hv-sync against the emulator: exactly once, in every member's
# mailbox, under the team label; incremental; crash-safe; spool emptied.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
# Key files, not the keyring, so a test can take an epoch's key away.
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
emu_config '[team "support"]
source = support@example.com
members = a@example.com b@example.com
label = Support'
for u in support a b; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null

msg() {	# n [subject]
	printf 'Message-ID: <m%s@example.net>\r\nSubject: %s\r\nFrom: c@example.net\r\nTo: support@example.com\r\n\r\nbody %s\r\n' \
	    "$1" "${2:-message $1}" "$1"
}
i=1
while [ $i -le 10 ]; do deliver support@example.com "$(msg $i)"; i=$((i + 1)); done
deliver support@example.com "$(printf 'Subject: =?UTF-8?B?w6l0w6k=?=\r\n\r\nno id\r\n')"
deliver support@example.com "$(msg dup 'first')"
deliver support@example.com "$(msg dup 'second, same Message-ID')"
deliver support@example.com "$(msg spam)" SPAM
deliver support@example.com "$(msg draft)" DRAFT

# pipe: run hv-fetch | hv-sync, keeping both exit codes.
pipe() {
	( hv-fetch -t support "$@" 2>>"$T/fetch.err"; echo $? >"$T/rc.fetch" ) |
	    ( hv-sync -t support 2>>"$T/sync.err"; echo $? >"$T/rc.sync" ) >"$T/sync.out"
	[ "$(cat "$T/rc.fetch")" -eq 0 ] && [ "$(cat "$T/rc.sync")" -eq 0 ]
}

ok 'the first run syncs everything' pipe
cp sync.out first.out
ok 'hv-fetch says it made up a Message-ID' grep -q 'no usable Message-ID; using <gmail-' "$T/fetch.err"
# A second message under a held Message-ID with other content: kept out,
# as Gmail keeps one per Message-ID, but said and recorded, never silent.
ok 'other content under a held Message-ID is said on stderr' grep -q \
    "hv-fetch: support: message [0-9a-z]* has the Message-ID <mdup@example.net> of an earlier message with other content; kept the earlier, see hv-audit" "$T/fetch.err"
ok 'once' test "$(grep -c 'has the Message-ID' "$T/fetch.err")" -eq 1
hv-audit query 'select(.action == "message.conflict")' >conflict.json
ok 'and recorded in the trail as message.conflict' test "$(wc -l <conflict.json)" -eq 1
ok 'with the HMAC of the Message-ID, not the Message-ID' \
    sh -c 'test -s conflict.json && ! grep -q mdup conflict.json && jq -e ".target.msgid | length == 32" conflict.json >/dev/null'
rule=$(sed -n 's/^match \(.*message\.conflict.*\)/\1/p' "$HV_TOP/scripts/hv-audit.rules")
ok 'a shipped watch rule matches it' sh -c "test -n '$rule' -a -s conflict.json && jq -e '$rule' conflict.json >/dev/null"
ok 'one result line per message' test "$(wc -l <sync.out)" -eq 12
ok 'each done' test "$(grep -c '"done":true' sync.out)" -eq 12
ok 'for both members' test "$(grep -c '"a@example.com":"imported","b@example.com":"imported"' sync.out)" -eq 12
ta=$(hv-auth token a@example.com)
label=$(curl -s --cacert "$EMU_CA" -H "Authorization: Bearer $ta" "$EMU_URL/gmail/v1/users/a@example.com/labels" |
    jq -r '.labels[] | select(.name == "Support") | .id')
ok 'the team label was created' test -n "$label"
ok 'a has 12 messages, each once, all labelled' test "$(mailbox a@example.com "$label")" = 'total=12 unique=12 dups=0 labels=12'
ok 'b likewise' test "$(mailbox b@example.com)" = 'total=12 unique=12 dups=0 labels=0'
ok 'the spool is empty' test -z "$(ls "$SPOOL" | grep 'hvs$')"
expect_success 'status says everyone has a message' hv-sync status '<m3@example.net>'
expect_success 'status without the angle brackets' hv-sync status m3@example.net
ok 'the same answer' sh -c "hv-sync status '<m3@example.net>' | cmp -s - '$T/.out'"
expect_success 'and with blanks around' hv-sync status ' <m3@example.net> '
expect_failure 64 'one bracket alone is a usage error' hv-sync status '<m3@example.net'
ok 'saying why' grep -q 'both its angle brackets or neither' "$T/.err"
expect_failure 1 'status of an unknown message' hv-sync status '<nope@x>'
expect_success 'options before the command' hv-sync -c "$HV_CONFIG" -q status '<m3@example.net>'
unknown_command hv-sync statsu status

: >"$T/fetch.err"
emu DELETE /_emu/stats >/dev/null
ok 'a second run finds nothing new' pipe
ok 'and writes no result' test ! -s sync.out
# The cron line of hv(7), word for word: nothing to mail on a quiet run.
cronline=$(sed -n 's/^\* \* \* \* \* \(hv-fetch .*\)$/\1/p' "$HV_TOP/man/hv.7" | head -n 1)
ok "hv(7)'s cron line sends stdout to /dev/null" sh -c "echo '$cronline' | grep -q '>/dev/null\$'"
sh -c "$cronline" >cron.mail 2>&1
ok 'and run as cron would, it has nothing to mail' test ! -s cron.mail
# Every cron line in the man pages that runs a tool printing records
# (hv(7)'s hv-quiet sends the standard output to /dev/null itself).
bad=$(grep -h -E '^[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +.*hv-(fetch|sync|purge|backup)(-team)?( |$)' \
    "$HV_TOP"/man/*.[157] | grep -v -e '>/dev/null' -e '/hv-quiet hv-')
ok "no cron line in the man pages mails records${bad:+: $bad}" test -z "$bad"
ok 'no progress when stderr is not a terminal' sh -c "! grep -q 'messages read' '$T/sync.err' cron.mail"
if command -v script >/dev/null; then
	script -qec 'hv-fetch -t support | hv-sync -t support >/dev/null' /dev/null >tty.out 2>&1
	ok 'at a terminal hv-sync shows how far it is' grep -q 'support: [0-9]* messages read, [0-9]* done' tty.out
fi
emu GET /_emu/stats >stats.json
ok 'through history alone' test "$(jq '.calls["gmail.users.history.list"] // 0' stats.json)" -ge 1 -a \
    "$(jq '.calls["gmail.users.messages.list"] // 0' stats.json)" -eq 0

deliver support@example.com "$(msg 11)"
deliver support@example.com "$(msg 12)"
ok 'new mail is picked up incrementally' pipe
ok 'two messages synced' test "$(grep -c '"done":true' sync.out)" -eq 2
ok 'a has 14, no duplicates' test "$(mailbox a@example.com)" = 'total=14 unique=14 dups=0 labels=0'

# No lines on stdin (cron's /dev/null): whatever the spool holds.
deliver support@example.com "$(msg fromspool)"
hv-fetch -t support >/dev/null 2>&1
hv-sync -t support </dev/null >sync.out 2>spoolsync.err
ok 'hv-sync with no input syncs what the spool holds' test $? -eq 0
ok 'one message, done' test "$(grep -c '"done":true' sync.out)" -eq 1

# A crash after every durable step, then a clean rerun: nothing lost, nothing twice.
n=1
while [ $n -le 9 ]; do
	deliver support@example.com "$(msg "crash$n")"
	( HV_TEST_CRASH_AT=$n hv-fetch -t support 2>/dev/null; true ) |
	    ( HV_TEST_CRASH_AT=$n hv-sync -t support >/dev/null 2>&1; true )
	pipe
	n=$((n + 1))
done
ok 'crashes at every step lose nothing and copy nothing twice (a)' test "$(mailbox a@example.com)" = 'total=24 unique=24 dups=0 labels=0'
ok '(b)' test "$(mailbox b@example.com)" = 'total=24 unique=24 dups=0 labels=0'
ok 'and the spool is empty again' test -z "$(ls "$SPOOL" | grep 'hvs$')"

# Nothing ran for longer than ttl + epoch: the epoch's key is gone, the
# file is noise, and the message is fetched again.
deliver support@example.com "$(msg keygone)"
hv-fetch -t support >lines 2>/dev/null
emu POST /_emu/clock '{"advance":1000}' >/dev/null
HV_TEST_CLOCK_OFFSET=1000
export HV_TEST_CLOCK_OFFSET
hv-sync -t support <lines >sync.out 2>sync.err
ok 'hv-sync says the epoch key is gone' grep -q 'hv-fetch will fetch it again' sync.err
ok 'and counts it as not done' grep -q '"done":false' sync.out
ok 'the next run fetches it again and syncs it' pipe
ok 'now everyone has it, once' test "$(mailbox a@example.com)" = 'total=25 unique=25 dups=0 labels=0'

# Expired history: a full listing that copies nothing twice.
deliver support@example.com "$(msg afterexpiry)"
emu POST /_emu/expire-history '{"email":"support@example.com"}' >/dev/null
: >"$T/fetch.err"
ok 'expired history falls back to a full listing' pipe
ok 'and says so' grep -q 'has expired; listing in full' "$T/fetch.err"
ok 'copying only the new message' test "$(mailbox a@example.com)" = 'total=26 unique=26 dups=0 labels=0'

# A trail that cannot be written stops the run: no access off the record.
deliver support@example.com "$(msg offrecord)"
sed "s|^audit = .*|audit = /proc/hv-nowhere/audit.log|" "$HV_CONFIG" >norecord.conf
hv-fetch -c norecord.conf -t support >lines 2>fetch.err
ok 'hv-fetch stops when the audit trail cannot be written' test $? -ne 0 -a $? -ne 75
ok 'and names the trail' grep -q 'hv-nowhere' fetch.err
ok 'announcing nothing' test ! -s lines
ok 'the next run with its trail syncs the message' pipe

# Key files chosen in the configuration are said on every run: the ttl
# then rests on hv-purge.
{ cat "$HV_CONFIG"; printf '[spool]\nkeys = files\n'; } >files.conf
env -u HV_SPOOL_KEYS hv-fetch -c files.conf -t support >/dev/null 2>files.err
ok 'hv-fetch says keys = files on every run' \
    grep -q "epoch keys are in files under '.*/keys' (\[spool\] keys = files)" files.err

# A member whose access is gone stops there; the others go on.
emu POST /_emu/revoke-user '{"email":"b@example.com"}' >/dev/null
expect_failure 64 'hv-sync without a team' hv-sync
expect_failure 78 'an unknown team' hv-fetch -t nope

done_testing
