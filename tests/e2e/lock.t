#!/bin/sh
# One run per team and role: a second hv-fetch, hv-sync or hv-sync labels
# of a team steps aside with 75 and one line naming the holder, or waits
# with -w; other teams and other roles go on; cron's pipeline does not
# fight itself.  Then the issue's race: pipelines and spool-mode runs
# started together, round after round, and every member holds every
# message exactly once (import = no: Gmail would not hide a duplicate).
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
emu_config '[team "support"]
source = support@example.com
members = a@example.com b@example.com c@example.com
label = Support
import = no
sync_labels = yes
[team "sales"]
source = sales@example.com
members = d@example.com
label = Sales'
for u in support sales a b c d; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null
LOCKS=$T/state/locks

msg() {
	printf 'Message-ID: <m%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: support@example.com\r\n\r\nbody %s\r\n' "$1" "$1" "$1"
}
# spool_sync ARGS...: hv-sync as cron runs it without a pipe.
spool_sync() { hv-sync "$@" </dev/null; }
# held LOCKFILE PID: wait (5 s at most) until the lock file names PID.
held() {
	_i=0
	until grep -q "^pid $2 since " "$LOCKS/$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 100 ] && return 1
		sleep 0.05
	done
}
ms() { date +%s%3N; }
# one_line PROG ROLE PID: the last stderr is one line naming the holder.
one_line() {
	[ "$(wc -l <"$T/.err")" -eq 1 ] &&
	    grep -Eq "^$1: team 'support' is $2 by pid $3 since [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z; try again later or wait with -w\$" "$T/.err" ||
	    { sed 's/^/#   /' "$T/.err"; false; }
}
# stopped PID: the process is stopped (state T), still holding its lock.
stopped() { [ "$(sed 's/^[0-9]* ([^)]*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = T ]; }

# The pipeline does not fight itself: its halves hold different locks.
for i in 1 2 3; do deliver support@example.com "$(msg $i)"; done
deliver sales@example.com "$(msg s1)"
hv-fetch -t support 2>fetch.err | hv-sync -t support >sync.out 2>sync.err
ok 'hv-fetch | hv-sync is not blocked by itself' test "$(grep -c '"done":true' sync.out)" -eq 3
hv-fetch -w 5 -t support 2>fetch.err | hv-sync -w 5 -t support >sync.out 2>sync.err
ok 'nor with -w on both halves' test $? -eq 0 -a ! -s fetch.err
ok 'the lock directory is 0700' test "$(stat -c %a "$LOCKS")" = 700
ok 'its files 0600, one per team and role' test "$(stat -c %a "$LOCKS/support.fetch.lock")" = 600 -a \
    "$(stat -c %a "$LOCKS/support.sync.lock")" = 600
ok 'empty when no one holds them' test ! -s "$LOCKS/support.fetch.lock" -a ! -s "$LOCKS/support.sync.lock"

expect_failure 64 'a bad -w is a usage error' hv-sync -w soon -t support
ok 'naming the value' grep -q "^hv-sync: bad wait 'soon'" "$T/.err"
expect_failure 64 'so is a negative one' hv-fetch --wait=-1 -t support
expect_failure 64 'and one past a day' hv-fetch -w 2d -t support
expect_failure 64 'status takes no lock, so no -w' hv-sync status -w 5 '<m1@example.net>'
expect_failure 78 'an unknown team is still a configuration error' hv-fetch -w 1 -t nope
ok 'and leaves no lock file' test ! -e "$LOCKS/nope.fetch.lock"

# hv-sync: one that reads a pipe holds the lock from its first line to
# the end of its input, so a FIFO held open keeps it, deterministically.
mkfifo in
hv-sync -t support <in >hold.out 2>hold.err &
holder=$!
exec 3>in
echo >&3
ok 'hv-sync holds the sync lock while it reads its input' held support.sync.lock $holder
t0=$(ms)
expect_failure 75 'a second hv-sync of the team exits 75' spool_sync -t support
ok 'at once' test $(($(ms) - t0)) -lt 1500
ok 'with one line naming the holder' one_line hv-sync 'being synced' $holder
expect_failure 75 'and one given a file likewise' hv-sync -t support sync.out
expect_success 'another team syncs meanwhile' spool_sync -t sales
expect_success 'hv-fetch of the team too (its own lock)' hv-fetch -t support
expect_success 'and hv-sync labels' hv-sync labels -t support
expect_success 'hv-sync status takes no lock' hv-sync status '<m1@example.net>'
# (3>&-: a run that kept the FIFO open would keep the holder reading.)
hv-sync -w 30 -t support </dev/null >w1.out 2>w1.err 3>&- &
waiter=$!
sleep 1
ok 'hv-sync -w 30 waits while the lock is held' kill -0 $waiter
t0=$(ms)
expect_failure 75 'hv-sync -w 1 gives up after a second' spool_sync -w 1 -t support 3>&-
ok 'no sooner' test $(($(ms) - t0)) -ge 1000
ok 'with the same line' one_line hv-sync 'being synced' $holder
exec 3>&-
wait $holder
ok 'the holder ends well when its input does' test $? -eq 0
wait $waiter
ok 'then the waiting run gets the lock and succeeds' test $? -eq 0 || sed 's/^/#   /' w1.err
ok 'saying nothing about a lock' test -z "$(grep 'wait with -w' w1.err)"

# A pipe that has said nothing holds no lock: a pipeline whose hv-fetch
# waits for its own lock keeps none from another pipeline's hv-sync.
mkfifo quiet
hv-sync -t support <quiet >quiet.out 2>quiet.err &
idle=$!
exec 4>quiet
sleep 0.3
expect_success 'an hv-sync whose pipe is silent does not hold the lock' spool_sync -t support
ok 'nor names itself in the file' test ! -s "$LOCKS/support.sync.lock"
exec 4>&-
wait $idle
ok 'and at the end of its input it runs' test $? -eq 0

# hv-fetch: made slow by the emulator, stopped once it holds the lock.
deliver support@example.com "$(msg 4)"
emu POST /_emu/quota '{"latency_ms":1500}' >/dev/null
hv-fetch -t support >hold.out 2>hold.err &
holder=$!
held support.fetch.lock $holder && kill -STOP $holder
emu POST /_emu/quota '{"latency_ms":0}' >/dev/null
ok 'hv-fetch holds the fetch lock (stopped in a call)' stopped $holder
t0=$(ms)
expect_failure 75 'a second hv-fetch of the team exits 75' hv-fetch -t support
ok 'at once' test $(($(ms) - t0)) -lt 1500
ok 'with one line naming the holder' one_line hv-fetch 'being fetched' $holder
ok 'writing no line on the standard output' test ! -s "$T/.out"
expect_success 'another team fetches meanwhile' hv-fetch -t sales
expect_success 'hv-sync of the team too' spool_sync -t support
hv-fetch -w 30 -t support >w2.out 2>w2.err &
waiter=$!
sleep 0.5
ok 'hv-fetch -w 30 waits' kill -0 $waiter
kill -CONT $holder
wait $holder
ok 'the holder goes on and ends well' test $? -eq 0
wait $waiter
ok 'then the waiting run succeeds' test $? -eq 0 || sed 's/^/#   /' w2.err
ok 'the holder fetched the new message' grep -q '<m4@example.net>' hold.out

# hv-sync labels and hv-sync set share the labels lock.
emu POST /_emu/quota '{"latency_ms":1500}' >/dev/null
hv-sync labels -t support >hold.out 2>hold.err &
holder=$!
held support.labels.lock $holder && kill -STOP $holder
emu POST /_emu/quota '{"latency_ms":0}' >/dev/null
ok 'hv-sync labels holds the labels lock' stopped $holder
expect_failure 75 'a second hv-sync labels exits 75' hv-sync labels -t support
ok 'with one line naming the holder' one_line hv-sync 'having its labels synced' $holder
expect_failure 75 'so does hv-sync set' hv-sync set -t support '<m1@example.net>' status=closed
ok 'likewise' one_line hv-sync 'having its labels synced' $holder
expect_success 'hv-fetch | hv-sync of the team runs meanwhile' sh -c \
    'hv-fetch -t support | hv-sync -t support >/dev/null'
hv-sync labels -w 30 -t support >w3.out 2>w3.err &
waiter=$!
sleep 0.5
ok 'hv-sync labels -w 30 waits' kill -0 $waiter
kill -CONT $holder
wait $holder
ok 'the holder ends well' test $? -eq 0
wait $waiter
ok 'then the waiting run succeeds' test $? -eq 0 || sed 's/^/#   /' w3.err

# The race: each round new mail, then three pipelines and two spool-mode
# hv-sync runs started together, some waiting (-w) so work gets done,
# some not, so the 75 path is taken too.
ROUNDS=${HV_LOCK_ROUNDS:-20}
: >codes
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	emu POST /_emu/seed '{"email":"support@example.com","count":3,"size":600}' >/dev/null
	pids=
	for p in 1 2 3; do
		case $p in 1) fw='-w 20' sw='-w 20' ;; 2) fw= sw= ;; 3) fw='-w 20' sw= ;; esac
		( ( hv-fetch $fw -t support 2>>race.err; echo "$?" >rc.f$p ) |
		    ( hv-sync $sw -t support >>race.out 2>>race.err; echo "$?" >rc.s$p ) ) &
		pids="$pids $!"
	done
	( hv-sync -w 20 -t support </dev/null >>race.out 2>>race.err; echo "$?" >rc.q1 ) &
	pids="$pids $!"
	( hv-sync -t support </dev/null >>race.out 2>>race.err; echo "$?" >rc.q2 ) &
	wait $pids
	echo "round $r: $(cat rc.f1)|$(cat rc.s1) $(cat rc.f2)|$(cat rc.s2)" \
	    "$(cat rc.f3)|$(cat rc.s3) $(cat rc.q1) $(cat rc.q2)" >>codes
done
# Every run ends 0 or 75; an hv-fetch whose hv-sync stepped aside may end
# by SIGPIPE (141) instead, as any pipeline whose reader has gone.
bad=$(awk '{ for (i = 3; i <= NF; i++) { n = split($i, c, "|");
	if (n == 2) { if (c[2] != 0 && c[2] != 75) b++;
	    else if (c[1] != 0 && c[1] != 75 && !(c[1] == 141 && c[2] == 75)) b++ }
	else if (c[1] != 0 && c[1] != 75) b++ } } END { print b + 0 }' codes)
ok 'every run exited 0 or 75' test "$bad" -eq 0 || sed 's/^/#   /' codes
ok 'runs that met a held lock stepped aside, naming its holder' grep -q "is being synced by pid [0-9]* since\|is being fetched by pid [0-9]* since" race.err
ok 'and runs that waited did the work' test "$(grep -c '"done":true' race.out)" -ge "$ROUNDS"
# Besides lock lines and summaries, hv-sync may only say that a line's
# spool file is gone: another run synced the message and removed it.
known='try again later or wait with -w$\|: [0-9]* messages: imported\|: fetched [0-9]*, refetched'
known="$known\\|: No such file or directory; hv-fetch will fetch it again\$\\|messages not yet with every member\$"
ok 'nothing else on the standard error' test -z "$(grep -v "$known" race.err)" ||
    grep -v "$known" race.err | sed 's/^/#   /' | head

# Settle: a last pipeline and a spool run, each waiting its turn.
hv-fetch -w 30 -t support 2>settle.err | hv-sync -w 30 -t support >/dev/null 2>>settle.err
ok 'a settling pipeline exits 0' test $? -eq 0 || sed 's/^/#   /' settle.err
spool_sync -w 30 -t support >/dev/null 2>>settle.err
ok 'and so does a settling spool run' test $? -eq 0
want=$(mailbox support@example.com | sed 's/^total=\([0-9]*\) .*/\1/')
ok "the source holds every message delivered ($want)" test "$want" -eq $((ROUNDS * 3 + 4))
for u in a b c; do
	ok "$u holds every message exactly once" test "$(mailbox $u@example.com)" = \
	    "total=$want unique=$want dups=0 labels=0" || echo "#   $(mailbox $u@example.com)"
done
ok "the spool holds no file of the team" test -z "$(ls "$SPOOL" | grep '\.support\..*hvs$')"
expect_success 'the audit trail verifies' hv-audit verify

done_testing
