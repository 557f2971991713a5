#!/bin/sh
# hv-doctor against the emulator: a healthy setup says ok everywhere and
# exits 0; then each check is broken in turn and must say FAIL or warn,
# with the fix, and the exit status of the worst failure.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
hv-seal keygen -p id.key 2>rec.txt
REC=$(sed -n 's/^recipient: //p' rec.txt)
mkdir -m 700 bk offhost
emu_config "[team \"support\"]
source = support@example.com
members = alice@example.com bob@example.com
label = Support
[backup]
to = $T/bk
recipient = $REC
every = 1h"
for u in support alice bob; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
hv-auth init 2>/dev/null
for u in support alice bob; do login $u@example.com; done
msg() { printf 'Message-ID: <m%s@example.net>\r\nSubject: s%s\r\n\r\nbody\r\n' "$1" "$1"; }
deliver support@example.com "$(msg 1)"
hv-fetch -t support 2>/dev/null | hv-sync -t support >/dev/null 2>&1
mv state/audit.log.key0 offhost/
hv-backup create >/dev/null 2>&1 && hv-backup verify -i id.key >/dev/null 2>&1

# has STATUS CHECK TEXT: the last output has that line, fixed text.
has() { grep "^$1 *$2: " "$T/.out" | grep -qF -- "$3"; }
# Lines that are not ok, but for what this host cannot help: no sandbox
# is built, and a kernel keyring may not be there.
not_ok() { grep -v '^ok ' "$T/.out" | grep -v '^warn sandbox: ' | grep -v '^warn keyring: '; }

expect_success '--help exits 0' hv-doctor --help
ok 'with the usage' grep -q '^usage: hv-doctor \[-c config\] \[-n\] \[-j\] \[-q | -v\]' "$T/.out"
expect_failure 64 'an unknown command' hv-doctor frobnicate
ok 'is named' grep -q "unknown command 'frobnicate'" "$T/.err"
expect_failure 64 'config takes no operand' hv-doctor config x
expect_failure 64 'an unknown option' hv-doctor -x
expect_success '-V' hv-doctor -V

emu DELETE /_emu/stats >/dev/null
expect_success 'a healthy setup' hv-doctor || sed 's/^/#   /' "$T/.out"
cp "$T/.out" healthy.out
ok 'every check is ok' test -z "$(not_ok)"
ok 'each account asked at Google' test "$(grep -c '^ok   account: .*: the grant works at Google (labels.list)' healthy.out)" = 3
emu GET /_emu/stats >stats.json
ok 'with labels.list, once each, and nothing else' test "$(jq -c .calls stats.json)" = '{"gmail.users.labels.list":3}'
ok 'the team' has ok team 'support: last fetch'
ok 'the backup and its verification' sh -c "grep -q \"^ok   backup: '$T/bk': the newest backup\" healthy.out &&
    grep -q \"^ok   backup: '$T/bk': hv-.*\\.hvb verified\" healthy.out"
ok 'the sandbox in force, required' grep -q '^ok   sandbox: required: Landlock ABI [0-9]* (files, TCP ports), seccomp' healthy.out
ok 'hv-doctor itself under it' grep -q 'hv-doctor runs under: landlock abi [0-9]* (files, tcp), seccomp, no_new_privs' healthy.out

emu DELETE /_emu/stats >/dev/null
expect_success '-n' hv-doctor -n
ok 'makes no call to Google' test "$(emu GET /_emu/stats | jq '[.calls[]] | add // 0')" = 0
ok 'and says so' has ok account 'support@example.com: signed in (not asked of Google: -n)'

expect_success '-j' hv-doctor -n -j
ok 'one JSON object a line' sh -c "jq -e -c 'select((.check | type) == \"string\" and
    (.status | IN(\"ok\", \"warn\", \"FAIL\")) and (.what | type) == \"string\")' '$T/.out' |
    wc -l | grep -qx $(wc -l <"$T/.out")"
ok 'a fix only where something is wrong' sh -c "jq -e -s 'all(.[]; (.status == \"ok\") == (has(\"fix\") | not))' '$T/.out' >/dev/null"
expect_success '-q' hv-doctor -n -q
ok 'shows only what is not ok' test "$(grep -c '^ok' "$T/.out")" = 0

printf '[paths]\nstate = x\nbogus = 1\n' >bad.conf
expect_failure 78 'a config that does not parse' hv-doctor -n -c bad.conf
ok 'is a FAIL naming file and line' has FAIL config "bad.conf:3: unknown key 'bogus'"
ok 'and nothing else is checked' test "$(wc -l <"$T/.out")" = 1
expect_failure 66 'a config that is not there' hv-doctor -n -c nothere.conf

HV_SPOOL_KEYS=files expect_success 'epoch keys in files' env HV_SPOOL_KEYS=files hv-doctor -n
ok 'are a warning' has warn keyring 'epoch keys are in files'

# hv.conf that others can change decides what hv runs.
chmod 666 "$HV_CONFIG"
expect_failure 77 'a config others can write' hv-doctor -n
ok 'is a FAIL that names the chmod' sh -c "grep '^FAIL config: ' '$T/.out' | grep -q \"chmod .*$HV_CONFIG\""
chmod 600 "$HV_CONFIG"

chmod 644 master.key
expect_failure 77 'a key file others can read' hv-doctor -n
ok 'is a FAIL' has FAIL key "master key '$T/master.key' is open to others (mode 644"
ok 'naming the chmod' has FAIL key "fix: chmod 600 '$T/master.key'"
chmod 600 master.key

chmod 755 state
expect_failure 77 'a state directory others can read' hv-doctor -n
ok 'is a FAIL naming the chmod' has FAIL state "fix: chmod 700 '$T/state'"
chmod 700 state

# A spool on disk, not allowed.
DISK=
for d in "$T" /var/tmp "$HV_TOP"; do
	case $(stat -f -c %T "$d" 2>/dev/null) in tmpfs|ramfs) continue ;; esac
	[ -w "$d" ] && DISK=$(mktemp -d "$d/hv-disk.XXXXXX") && break
done
if [ -n "$DISK" ]; then
	sed "s|^spool = .*|spool = $DISK/spool|; s|^allow_disk = .*|allow_disk = no|" \
	    "$HV_CONFIG" >disk.conf
	expect_failure 78 'a spool to be made on disk without allow_disk' hv-doctor -n -c disk.conf
	ok 'is a FAIL' has FAIL spool "spool '$DISK/spool' does not exist, and would be on persistent storage"
	ok 'and the doctor does not make it' test ! -e "$DISK/spool"
	mkdir -m 700 "$DISK/spool"
	expect_failure 78 'a spool on disk without allow_disk' hv-doctor -n -c disk.conf
	ok 'is a FAIL saying how to accept it' has FAIL spool 'is on persistent storage, not tmpfs or ramfs'
	ok 'or to move it' has FAIL spool 'fix: point [paths] spool at a tmpfs'
	sed -i 's|^allow_disk = .*|allow_disk = yes|' disk.conf
	expect_success 'with allow_disk, a warning' hv-doctor -n -c disk.conf
	ok 'saying it is on disk' has warn spool 'is on persistent storage'
	rm -rf "$DISK"
else
	ok '# SKIP no persistent directory' true
fi

# A grant ended at Google (a password change).
emu POST /_emu/revoke-user '{"email":"alice@example.com"}' >/dev/null
expect_failure 77 'an account revoked at Google' hv-doctor
ok 'is a FAIL' has FAIL account 'alice@example.com: '
ok 'saying to sign in again' has FAIL account 'fix: run hv-auth login alice@example.com'
ok 'the others are fine' test "$(grep -c '^ok   account: ' "$T/.out")" = 2
expect_failure 77 'and, marked revoked, also with -n' hv-doctor -n
ok 'without asking Google' has FAIL account 'alice@example.com: its grant was revoked'
login alice@example.com
expect_success 'signed in again, healthy' hv-doctor

# Mail fetched and not synced, its spool file older than half the ttl.
deliver support@example.com "$(msg 2)"
hv-fetch -t support >fetched.jsonl 2>/dev/null
f=$(jq -r .spool fetched.jsonl)
touch -d "@$(($(date +%s) - 400))" "$f"
expect_success 'pending mail is a warning' hv-doctor -n
ok 'saying mail waits' has warn team 'support: mail waits'
ok 'with the count and the oldest file' has warn team '1 pending, 1 spool file, the oldest 6m old'
ok 'and what to run' has warn team 'fix: run hv-fetch -t support | hv-sync -t support'
expect_success 'a spool file past the ttl' env HV_TEST_CLOCK_OFFSET=300 hv-doctor -n
ok 'is a warning to run hv-purge' has warn spool 'the oldest 11m old: past the ttl (10m); fix: run hv-purge'
hv-sync -t support <fetched.jsonl >/dev/null 2>&1
expect_success 'synced, healthy again' hv-doctor -n
ok 'the team is ok' has ok team 'support: last fetch'

mv offhost/audit.log.key0 state/
expect_success 'key0 on the host is a warning' hv-doctor -n
ok 'saying to move it' has warn audit "fix: move '$T/state/audit.log.key0' off this host"
mv state/audit.log.key0 offhost/

HV_TEST_CLOCK_OFFSET=2000 expect_success 'a stale checkpoint is a warning' \
    env HV_TEST_CLOCK_OFFSET=2000 hv-doctor -n
ok 'past twice the interval' has warn audit 'more than twice the interval (15m)'
ok 'saying what to run' has warn audit 'fix: run hv-audit checkpoint'

expect_success 'a backup past its interval is a warning' env HV_TEST_CLOCK_OFFSET=5400 hv-doctor -n
ok 'overdue' has warn backup "'$T/bk': the newest backup"
expect_failure 69 'past twice its interval, a FAIL' env HV_TEST_CLOCK_OFFSET=8000 hv-doctor -n
ok 'saying what to run' has FAIL backup 'fix: run hv-backup create'
sleep 1
hv-backup create >/dev/null 2>&1
expect_success 'a backup not verified is a warning' hv-doctor -n
ok 'saying how to verify it' has warn backup 'never verified; fix: run hv-backup verify -i'
rm -f bk/*
expect_failure 69 'no backup at all is a FAIL' hv-doctor -n
ok 'saying so' has FAIL backup "'$T/bk': no backup (every 1h)"

# The configuration as resolved, each value with its origin.
expect_success 'hv-doctor config' hv-doctor config
ok 'a value set in the file, with file:line' grep -qxF "$HV_CONFIG:2	paths.state=$T/state/hv.db" "$T/.out"
ok 'a team key' grep -qxF "$HV_CONFIG:21	team.support.members=alice@example.com bob@example.com" "$T/.out"
ok 'a default says so' grep -qxF "default	spool.ttl=10m" "$T/.out"
ok 'a team default' grep -qxF "default	team.support.import=yes" "$T/.out"
ok 'no secret: not the master key' sh -c "! grep -qF \"\$(cut -c1-20 master.key)\" '$T/.out'"
ok 'the key source as written' grep -qxF "$HV_CONFIG:6	keys.master=$T/master.key" "$T/.out"
expect_success 'config -j' hv-doctor -j config
ok 'one object a value' test "$(jq -r 'select(.key == "backup.every") | .origin + " " + .value' "$T/.out")" = "$HV_CONFIG:26 1h"
sed "s|^master = .*|master = command:touch $T/ran|" "$HV_CONFIG" >cmd.conf
expect_success 'a command key source' hv-doctor -c cmd.conf config
ok 'is shown as written' grep -qF "keys.master=command:touch $T/ran" "$T/.out"
ok 'and not run' test ! -e "$T/ran"

done_testing
