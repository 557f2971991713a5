#!/bin/sh
# hv-fetch | hv-sync while the emulator fails a tenth of all calls, with
# every kind of fault, and the legacy quota on: runs cut short exit 75 (so
# cron runs them again), the run that finishes exits 0, and in the end
# every member has every message exactly once.
#
# HV_FAULTS_N sets the number of messages (default 150; the issue's figure
# is 1000), HV_FAULTS_SEED the seed of the faults.
. "$(dirname "$0")/lib.sh"

N=${HV_FAULTS_N:-150}
SEED=${HV_FAULTS_SEED:-5}
RUNS=${HV_FAULTS_RUNS:-40}

emu_start --quota legacy
cd "$T" || exit 1
emu_config '[team "support"]
source = support@example.com
members = a@example.com b@example.com c@example.com
label = Support'
for u in support a b c; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null
emu POST /_emu/seed "{\"email\":\"support@example.com\",\"count\":$N,\"size\":4096}" >/dev/null

# A stalled answer never comes (the emulator drops it after 5 s): hv's
# own timeout ends the wait, and a short one keeps the test fast.
HV_TEST_HTTP_TIMEOUT=2
export HV_TEST_HTTP_TIMEOUT

# cron: run the pipeline until a run finishes (both exit 0), at most
# RUNS times, checking each run's exit codes against what it printed.
# Sets bad (runs whose exit codes are wrong), cut (runs that exit 75) and
# first ("F/S", the exit codes of its first run).
: >codes
bad=0 cut=0 run=0 first=
cron() {
	_k=0
	while [ $_k -lt "$RUNS" ]; do
		_k=$((_k + 1)) run=$((run + 1))
		( hv-fetch -t support 2>>fetch.err; echo $? >rc.fetch ) |
		    ( hv-sync -t support 2>>sync.err; echo $? >rc.sync ) >out.$run
		_f=$(cat rc.fetch) _s=$(cat rc.sync)
		[ $_k -eq 1 ] && first=$_f/$_s
		echo "run $run: hv-fetch $_f, hv-sync $_s;" \
		    "$(grep -c '"done":true' out.$run) done, $(grep -c '"done":false' out.$run) not" >>codes
		case $_f/$_s in
		0/0)
			# A run that exits 0 left nothing undone.
			grep -q '"done":false' out.$run && bad=$((bad + 1))
			return ;;
		0/75|75/0|75/75)
			cut=$((cut + 1))
			# hv-sync exits 75 only when something is left for the next run.
			[ "$_s" -eq 75 ] && ! grep -q '"done":false' out.$run && bad=$((bad + 1)) ;;
		*)
			bad=$((bad + 1)) ;;
		esac
	done
}
emu POST /_emu/faults "{\"rate\":0.1,\"seed\":$SEED,\"stall_ms\":5000,
    \"kinds\":[\"429\",\"500\",\"503\",\"reset\",\"stall\",\"truncate\"]}" >/dev/null
cron
emu GET /_emu/stats >stats.json
emu GET /_emu/faults >faults.json
emu GET '/_emu/log?n=10000' >log.json
emu POST /_emu/faults '{"rate":0}' >/dev/null
sed 's/^/# /' codes

ok 'every run exits 0 or 75, as its lines say' test $bad -eq 0
ok "a run finished with 0 within $RUNS runs" test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
# With fewer messages, some kinds may not come up at all.
[ "$N" -ge 100 ] && for k in 429 500 503 reset stall truncate; do
	ok "faults of kind $k struck" test "$(jq ".faults[\"$k\"] // 0" stats.json)" -ge 1
done
ok 'every 429 was an injected one: hv kept to the quota' \
    test "$(jq '.errors["429"] // 0' stats.json)" -eq "$(jq '.faults["429"] // 0' stats.json)" ||
    jq -r '.[] | select(.status == 429) | "#   \(.time) \(.method) \(.path)"' log.json | head -20
for u in a b c; do
	ok "$u has all $N messages, each once" \
	    test "$(mailbox $u@example.com)" = "total=$N unique=$N dups=0 labels=0"
done
ok 'the spool is empty' test -z "$(ls "$SPOOL" | grep 'hvs$')"
n=$(sed -n 's/.*"messageId":"\([^"]*\)".*"done":true.*/\1/p' out.* | sort -u | wc -l)
ok "hv-sync said done for $N distinct messages" test "$n" -eq "$N"
mid=$(sed -n 's/.*"messageId":"\([^"]*\)".*"done":true.*/\1/p' out.* | tail -1)
expect_success 'and status agrees for one of them' hv-sync status "$mid"
ok 'a run without faults finds nothing left to do' \
    sh -c 'hv-fetch -t support 2>/dev/null | hv-sync -t support 2>/dev/null >last.out && test ! -s last.out'

# Faults that outlast every retry: the run is cut short and exits 75,
# and the next run finishes the job.  First a download (hv-fetch), then
# one member's upload (hv-sync).  The three messages' calls run at once
# and each draws its own faults, so 21 (7 tries each) refuse them all.
msg() {
	printf 'Message-ID: <late%s@example.net>\r\nSubject: late %s\r\n\r\nbody\r\n' "$1" "$1"
}
for i in 1 2 3; do deliver support@example.com "$(msg $i)"; done
emu POST /_emu/faults '{"rate":1,"kinds":["429"],"count":21,"seed":1,
    "methods":["gmail.users.messages.get"]}' >/dev/null
cron
tail -2 codes | sed 's/^/# /'
ok 'a download refused past every retry: hv-fetch exits 75' test "$first" = 75/0
ok 'and the next run finishes' test $bad -eq 0 -a "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
for i in 4 5 6; do deliver support@example.com "$(msg $i)"; done
emu POST /_emu/faults '{"rate":1,"kinds":["429"],"count":21,"seed":1,
    "methods":["gmail.users.messages.import"],"users":["b@example.com"]}' >/dev/null
cron
tail -2 codes | sed 's/^/# /'
ok 'an upload refused past every retry: hv-sync exits 75' test "$first" = 0/75
ok 'and the next run finishes' test $bad -eq 0 -a "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
N=$((N + 6))
for u in a b c; do
	ok "$u has all $N messages, each once" \
	    test "$(mailbox $u@example.com)" = "total=$N unique=$N dups=0 labels=0"
done
ok 'the spool is empty' test -z "$(ls "$SPOOL" | grep 'hvs$')"

done_testing
