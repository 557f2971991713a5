#!/bin/sh
# hv-fetch --follow | hv-sync against the emulator's Gmail push and Pub/Sub:
# mail at every member within seconds, streamed line by line; a dropped
# notification delivered by the safety poll; a duplicate copying nothing
# twice; notifications acked; cron stepping aside; SIGTERM losing nothing;
# the watch renewed before it expires.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
TOPIC=projects/hv-test/topics/gmail
SUB=projects/hv-test/subscriptions/hv-support
emu POST /_emu/pubsub/topics "{\"name\":\"$TOPIC\",\"grant\":true}" >/dev/null
emu POST /_emu/pubsub/subscriptions "{\"name\":\"$SUB\",\"topic\":\"$TOPIC\"}" >/dev/null
# A short long poll, so the emulator's held pulls end with the test.
emu POST /_emu/pubsub '{"pull_wait_ms":2000}' >/dev/null
emu_config "[google]
pubsub = $EMU_URL
poll = 3s
[team \"support\"]
source = support@example.com
members = a@example.com b@example.com
label = Support
topic = $TOPIC
subscription = $SUB"
for u in support a b; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null

msg() {
	printf 'Message-ID: <m%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\n\r\nbody %s\r\n' \
	    "$1" "$1" "$1"
}
# lines N [TENTHS]: wait (at most TENTHS of a second, default 100) until
# sync.out has N lines.
lines() {
	_i=0
	while [ "$(wc -l <sync.out)" -lt "$1" ] && [ $_i -lt "${2:-100}" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(wc -l <sync.out)" -ge "$1" ]
}
pubsub() { emu GET /_emu/pubsub | jq -r "$1"; }
# unacked [SECONDS]: after a moment, the subscription's backlog and
# outstanding messages (0: everything acknowledged).
unacked() { sleep "${1:-0.5}"; test "$(pubsub '[.subscriptions[0] | .backlog, .outstanding] | add')" -eq 0; }

# follow: hv-fetch --follow | hv-sync in the background; hv-fetch's pid in
# fetch.pid, the statuses in rc.fetch and rc.sync.
follow() {
	: >sync.out
	rm -f rc.fetch rc.sync
	( sh -c 'echo $$ >fetch.pid; exec hv-fetch --follow -t support' 2>>fetch.err
	  echo $? >rc.fetch ) |
	    ( hv-sync -w 30 -t support 2>>sync.err; echo $? >rc.sync ) >sync.out &
	_i=0
	while [ ! -s fetch.pid ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
}
# stop: SIGTERM to hv-fetch; waits for both halves (at most 15 s).
stop() {
	kill -TERM "$(cat fetch.pid)"
	_i=0
	while { [ ! -s rc.fetch ] || [ ! -s rc.sync ]; } && [ $_i -lt 150 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	rm -f fetch.pid
}

expect_failure 64 '--follow with --max is a usage error' hv-fetch --follow --max 3 -t support
cp "$HV_CONFIG" good.conf
sed 's|^subscription = .*|subscription = projects/hv-test/topics/x|' good.conf >bad.conf
expect_failure 78 'a subscription of the wrong shape is a config error' hv-fetch -c bad.conf -t support
sed '/^subscription = /d' good.conf >half.conf
expect_failure 78 'a topic without a subscription too' hv-fetch -c half.conf -t support
ok 'saying so' grep -q 'following needs both' "$T/.err"

# A permanent error ends the follower with its status: a topic Gmail
# may not publish to (no grant for gmail-api-push@).
emu POST /_emu/pubsub/topics '{"name":"projects/hv-test/topics/nogrant","grant":false}' >/dev/null
sed 's|^topic = .*|topic = projects/hv-test/topics/nogrant|' good.conf >nogrant.conf
expect_failure 77 'a topic without the publish grant: users.watch refused, exit 77' \
    timeout 30 hv-fetch -c nogrant.conf --follow -t support
ok 'saying so' grep -q 'users.watch: access refused' "$T/.err"

deliver support@example.com "$(msg 1)"
follow
ok 'on start it catches up from the cursor' lines 1
ok 'the watch was made' test "$(pubsub '.watches[0].topicName')" = "$TOPIC"

t0=$(date +%s%N)
deliver support@example.com "$(msg 2)"
ok 'a new message reaches both members within 3 s' lines 2 30
t1=$(date +%s%N)
echo "# delivered to both members in $(( (t1 - t0) / 1000000 )) ms"
ok 'while hv-fetch --follow still runs: hv-sync handles each line as it comes' \
    kill -0 "$(cat fetch.pid)"
ok 'the line says both have it' sh -c "tail -1 sync.out | grep -q '\"a@example.com\":\"imported\",\"b@example.com\":\"imported\"'"
ok 'the notifications are acknowledged' unacked

expect_failure 75 'a cron run of the same team steps aside' hv-fetch -t support
ok 'naming the follower' grep -q 'is being fetched by pid' "$T/.err"
ok 'as hv-sync-team does' sh -c "'$HV_TOP/scripts/hv-sync-team' -q support; test \$? -eq 75"

emu POST /_emu/pubsub/faults '{"drop":1}' >/dev/null
deliver support@example.com "$(msg 3)"
ok 'a dropped notification: the safety poll (3 s) delivers it' lines 3 60
ok 'the emulator dropped it' test "$(pubsub '.stats.dropped')" -ge 1

emu POST /_emu/pubsub/faults '{"duplicate":1}' >/dev/null
deliver support@example.com "$(msg 4)"
ok 'a duplicated notification delivers' lines 4 30
sleep 1.5
ok 'the emulator sent it twice' test "$(pubsub '.stats.duplicated')" -ge 1
ok 'and nothing was copied twice' test "$(wc -l <sync.out)" -eq 4
emu POST /_emu/pubsub/faults '{}' >/dev/null

# Google away for a few seconds: every call fails with 503 or a reset.
emu POST /_emu/faults '{"rate":1,"kinds":["503","reset"]}' >/dev/null
sleep 4
emu POST /_emu/faults '{"rate":0}' >/dev/null
ok 'Google away: the follower waits it out, it does not exit' kill -0 "$(cat fetch.pid)"
deliver support@example.com "$(msg 5)"
ok 'and delivers once Google is back' lines 5 100
ok 'saying it tried again' grep -q 'trying again in' fetch.err

stop
ok 'SIGTERM while idle: hv-fetch exits 0' test "$(cat rc.fetch)" -eq 0
ok 'and hv-sync 0' test "$(cat rc.sync)" -eq 0

# SIGTERM while a run is under way: 20 messages waiting, one get in flight
# at a time (a window of 4), each answered after 300 ms.
sed 's/^pubsub = /inflight = 1\npubsub = /' good.conf >slow.conf
i=10
while [ $i -lt 30 ]; do deliver support@example.com "$(msg $i)"; i=$((i + 1)); done
emu POST /_emu/quota '{"latency":300}' >/dev/null
HV_CONFIG=$T/slow.conf follow
lines 1 100
stop
ok 'SIGTERM mid-run: hv-fetch exits 0' test "$(cat rc.fetch)" -eq 0
ok 'and hv-sync 0' test "$(cat rc.sync)" -eq 0
ok 'it stopped early: the messages not yet started were left' test "$(wc -l <sync.out)" -lt 20
echo "# $(wc -l <sync.out) of 20 synced before the signal"
emu POST /_emu/quota '{"latency":0}' >/dev/null
( hv-fetch -t support 2>>fetch.err; echo $? >rc.fetch ) | hv-sync -t support >rest.out 2>>sync.err
ok 'a normal run afterwards passes' test "$(cat rc.fetch)" -eq 0
ok 'and finds the rest' test "$(($(wc -l <sync.out) + $(wc -l <rest.out)))" -ge 20
ok 'a: 25 messages, each once' test "$(mailbox a@example.com)" = 'total=25 unique=25 dups=0 labels=0'
ok 'b likewise' test "$(mailbox b@example.com)" = 'total=25 unique=25 dups=0 labels=0'

# The wrapper hv-follow@.service runs: SIGTERM to it reaches hv-fetch,
# hv-sync drains the pipe, both end, status 0.
sed "s|@BINDIR@|$HV_BIN|g" "$HV_TOP/scripts/hv-follow-team" >follow-team
chmod 755 follow-team
: >sync.out
./follow-team support >sync.out 2>>fetch.err &
wrapper=$!
deliver support@example.com "$(msg 30)"
ok 'hv-follow-team: mail arrives' lines 1 50
kill -TERM $wrapper
wait $wrapper
ok 'hv-follow-team: SIGTERM ends it with 0' test $? -eq 0
ok 'hv-follow-team: no hv-fetch left holding the lock' hv-fetch -t support

# The watch renewed before it expires: both clocks six days on, a day
# standing for 2 s; without renewal it would run out within a day.
emu POST /_emu/clock '{"advance":518400}' >/dev/null
emu DELETE /_emu/stats >/dev/null
HV_TEST_CLOCK_OFFSET=518400 HV_TEST_FOLLOW_DAY=2 follow
sleep 5
ok 'renewed daily (every 2 s here)' test "$(emu GET /_emu/stats | jq '.calls["gmail.users.watch"]')" -ge 3
ok 'the watch has a week to run' test "$(pubsub '(.watches[0].expiration | tonumber) > 0 and (.watches[0].expired | not)')" = true
deliver support@example.com "$(msg 40)"
ok 'and mail still arrives' lines 1 30
# What the signal left unacknowledged came back, and was acked as seen.
ok 'nothing left unacknowledged' unacked 1
stop
ok 'exit 0 on TERM' test "$(cat rc.fetch)" -eq 0

# hv-doctor: the watch's expiry (a week on), and the subscription.
hv-doctor -j >doctor.out 2>&1
grep '"follow"' doctor.out | sed 's/^/# /'
ok 'hv-doctor: the watch is fine' sh -c "grep '\"follow\"' doctor.out | grep -q '\"ok\".*expires in'"
ok 'hv-doctor: the subscription is reachable' sh -c "grep '\"follow\"' doctor.out | grep -q 'is reachable'"
HV_TEST_CLOCK_OFFSET=$((518400 + 7 * 86400 - 3600)) hv-doctor -n -j >doctor.out 2>&1
ok 'hv-doctor: a watch that ends within a day warns' sh -c "grep '\"follow\"' doctor.out | grep -q '\"warn\"'"
HV_TEST_CLOCK_OFFSET=$((518400 + 8 * 86400)) hv-doctor -n -j >doctor.out 2>&1
ok 'hv-doctor: an expired one fails' sh -c "grep '\"follow\"' doctor.out | grep -q 'FAIL\|\"fail\".*expired'"

grep -v 'watching for\|fetched [0-9]*, refetched' fetch.err | sed 's/^/# /' | head -5
done_testing
