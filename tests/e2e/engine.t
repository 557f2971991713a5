#!/bin/sh
# The sync engine with many calls in flight (issue 12): crashes with
# uploads under way lose nothing and copy nothing twice; the breaker ends
# a run against a Google that is gone or stalls, with 75, one line and
# nothing lost; result lines keep input order and hv-sync overlaps
# hv-fetch; the per-mailbox in-flight cap keeps within Google's
# concurrency limit; a bad cap is refused.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
# hv paces itself by the legacy table (ten imports a second per member),
# which Google here does not enforce: uploads spread over the crash
# points instead of all leaving at once.
EMU_QUOTA=legacy
# One team per test, each with members of its own, so that mailbox
# counts of one test are not those of another.
emu_config '[team "crash"]
source = s1@example.com
members = a1@example.com b1@example.com c1@example.com
label = Crash
import = yes
[team "pipe"]
source = s2@example.com
members = a2@example.com b2@example.com c2@example.com
label = Pipe
import = yes
[team "gone"]
source = s3@example.com
members = a3@example.com b3@example.com c3@example.com
label = Gone
import = yes
[team "far"]
source = s6@example.com
members = a6@example.com b6@example.com c6@example.com
label = Far
import = yes
[team "order"]
source = s4@example.com
members = a4@example.com b4@example.com c4@example.com
label = Order
import = yes
[team "cap"]
source = s5@example.com
members = a5@example.com b5@example.com c5@example.com
label = Cap
import = yes'
for k in 1 2 3 4 5 6; do
	for u in s a b c; do emu POST /_emu/users "{\"email\":\"$u$k@example.com\"}" >/dev/null; done
done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null

# The emulator's pace: latency in ms, and its per-user concurrency cap
# (0: none).  Setting the quota resets the cap, so both go together.
pace() {
	emu POST /_emu/quota "{\"table\":\"off\",\"latency_ms\":$1,\"concurrency\":${2:-0}}" >/dev/null
}
msg() {	# tag
	printf 'Message-ID: <%s@example.net>\r\nSubject: message %s\r\nFrom: c@example.net\r\nTo: support@example.com\r\n\r\nbody %s\r\n' \
	    "$1" "$1" "$1"
}
# deliver_n SOURCE TAG N: N messages TAG.1 .. TAG.N
deliver_n() {
	_i=1
	while [ "$_i" -le "$3" ]; do
		deliver "$1" "$(msg "$2.$_i")"
		_i=$((_i + 1))
	done
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
spooled() {	# [TEAM]: spool files (of the team)
	ls "$SPOOL" 2>/dev/null | grep -c "^[0-9]*\.${1:-[^.]*}\..*\.hvs$" || true
}
spool_empty() { test "$(spooled "$@")" -eq 0 || { echo "#   left:"; ls "$SPOOL" | sed 's/^/#     /'; false; }; }
imports() { emu GET /_emu/stats | jq '.calls["gmail.users.messages.import"] // 0'; }
# A config like the test's, with lines added to [google].
google_conf() {	# file lines...
	_f=$1
	shift
	awk -v add="$(printf '%s\n' "$@")" '{ print } /^\[google\]$/ { print add }' "$HV_CONFIG" >"$_f"
}
t0=$(date +%s)

# 1. Crashes with uploads in flight.  Spool mode: the messages' attempt
# rows commit together (crash point 1), then the uploads go, eight per
# mailbox, so the later crash points come with uploads under way.
pace 150
deliver_n s1@example.com crash 12
hv-fetch -t crash >/dev/null 2>fetch.err
ok 'twelve messages spooled' test "$(spooled crash)" -eq 12
n=1 crashed=0 partial= first_up= last=137
: >crash.log
while [ $n -le 40 ]; do
	before=$(imports)
	HV_TEST_CRASH_AT=$n hv-sync -t crash </dev/null >/dev/null 2>>crash.err
	last=$?
	after=$(imports)
	boxes=$(for u in a1 b1 c1; do mailbox $u@example.com; done | sed 's/ unique.*//' | tr '\n' ' ')
	echo "# crash at $n: exit $last, $((after - before)) imports; $boxes" >>crash.log
	[ $last -eq 137 ] || break
	crashed=$((crashed + 1))
	# The first run that uploads anything dies at the first crash point
	# after the attempts: before it records any answer.
	[ -z "$first_up" ] && [ $((after - before)) -gt 0 ] && first_up="$n: $boxes"
	# Some mailbox holds some of the messages, not all: killed midway.
	case $boxes in *total=[2-9]\ *|*total=1[01]\ *) partial=$n ;; esac
	n=$((n + 1))
done
cat crash.log
ok "runs were killed ($crashed) until one ran to its end" test $crashed -ge 5 -a $last -ne 137
# Copies Google made that hv had recorded none of: uploads to one mailbox
# that went without waiting for each other's answers.
ok "when it died, each mailbox held two or more copies hv had not recorded ($first_up)" \
    sh -c 'case $1 in "" | *total=[01]\ *) exit 1 ;; esac' - "$first_up"
ok "a run was killed with the mailboxes partly filled (at $partial)" test -n "$partial"
expect_success 'a clean run afterwards' hv-sync -t crash </dev/null
ok 'every member holds every message exactly once' everyone 12 a1@example.com b1@example.com c1@example.com
ok 'the spool is empty' spool_empty crash

# The pipeline, killed in both halves, three messages arriving each round.
n=1
while [ $n -le 12 ]; do
	deliver_n s2@example.com "pipe$n" 3
	( HV_TEST_CRASH_AT=$n hv-fetch -t pipe 2>/dev/null; true ) |
	    ( HV_TEST_CRASH_AT=$n hv-sync -t pipe >/dev/null 2>&1; true )
	n=$((n + 1))
done
( hv-fetch -t pipe 2>pfetch.err; echo $? >rc.fetch ) | ( hv-sync -t pipe 2>psync.err; echo $? >rc.sync ) >/dev/null
ok 'after twelve killed pipelines, a clean one exits 0' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 ||
    sed 's/^/#   /' pfetch.err psync.err
ok 'every member holds all 36 messages exactly once' everyone 36 a2@example.com b2@example.com c2@example.com
# A spool epoch (60 s) may end between a killed hv-fetch and the rerun.
ok 'the spool is empty' spool_empty pipe
# A killed hv-fetch whose spool file was written, but not its index row,
# gets the message again in the next run; when that run falls in the next
# spool epoch the file has another name, and the first must go too.
deliver s2@example.com "$(msg epoch)"
HV_TEST_CRASH_AT=1 hv-fetch -t pipe >/dev/null 2>&1
ok 'hv-fetch killed after its spool file was written' test "$(spooled pipe)" -eq 1
( HV_TEST_CLOCK_OFFSET=60 hv-fetch -t pipe 2>/dev/null; echo $? >rc.fetch ) |
    ( HV_TEST_CLOCK_OFFSET=60 hv-sync -t pipe 2>/dev/null; echo $? >rc.sync ) >epoch.out
ok 'the next pipeline, one epoch later, syncs it' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 -a \
    "$(grep -c '"done":true' epoch.out)" -eq 1
ok 'everyone has it once' everyone 37 a2@example.com b2@example.com c2@example.com
ok 'and no spool file is left behind' spool_empty pipe
expect_success 'the audit trail verifies' hv-audit verify
echo "# crash tests: $(($(date +%s) - t0)) s"

# timed NAME CMD...: run CMD, its stdout to NAME.out, stderr to NAME.err,
# its exit code and seconds taken to NAME.rc and NAME.took.
timed() {
	_name=$1
	shift
	_s=$(date +%s)
	"$@" >"$_name.out" 2>"$_name.err"
	echo $? >"$_name.rc"
	echo $(($(date +%s) - _s)) >"$_name.took"
}
# breaker NAME WHAT: the checks of a run the breaker ended.
breaker() {
	_rc=$(cat "$1.rc") _took=$(cat "$1.took")
	ok "$2 exits 75 (exit $_rc)" test "$_rc" -eq 75
	ok "within 60 s ($_took s)" test "$_took" -le 60
	ok 'one line says Google does not answer, and why' \
	    test "$(grep -c 'no answer from Google for [0-9]* s (.*); stopping, nothing is lost' "$1.err")" -eq 1 ||
	    sed 's/^/#   /' "$1.err"
	ok 'no line per message: the summary and that line' test "$(wc -l <"$1.err")" -le 2 ||
	    sed 's/^/#   /' "$1.err"
}

# 2. The breaker: Google gone.  The api points at a port nobody listens
# on; tokens still come from the emulator's oauth.  hv-sync with a spool
# of six and hv-fetch of another team (four new since its cursor) run
# side by side.
t1=$(date +%s)
pace 0
deliver_n s3@example.com gone 6
hv-fetch -t gone >/dev/null 2>/dev/null
ok 'six messages spooled' test "$(spooled gone)" -eq 6
deliver_n s6@example.com far 2
( hv-fetch -t far 2>/dev/null; echo $? >rc.fetch ) | ( hv-sync -t far 2>/dev/null; echo $? >rc.sync ) >/dev/null
ok "the other team's cursor is set" test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
deliver_n s6@example.com far2 4
sed 's|^api = .*|api = https://127.0.0.1:1|' "$HV_CONFIG" >dead.conf
timed dead hv-sync -c dead.conf -t gone </dev/null &
p1=$!
timed deadf hv-fetch -c dead.conf -t far &
p2=$!
wait $p1 $p2
breaker dead 'hv-sync against a Google that is gone'
ok 'a result line per message, none done' test "$(grep -c '"done":false' dead.out)" -eq 6
ok 'the spool files stay' test "$(spooled gone)" -eq 6
breaker deadf 'hv-fetch against a Google that is gone'
ok 'hv-fetch wrote no line' test ! -s deadf.out
expect_success 'the next hv-sync with Google back exits 0' hv-sync -t gone </dev/null
ok 'and everyone has everything once' everyone 6 a3@example.com b3@example.com c3@example.com
ok 'the spool is empty' spool_empty gone
( hv-fetch -t far 2>/dev/null; echo $? >rc.fetch ) | ( hv-sync -t far 2>/dev/null; echo $? >rc.sync ) >far.out
ok 'the next pipeline fetches what hv-fetch did not' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 -a \
    "$(grep -c '"done":true' far.out)" -eq 4
ok 'everyone has all six once' everyone 6 a6@example.com b6@example.com c6@example.com
echo "# breaker, gone: $(($(date +%s) - t1)) s"

# 3. The breaker: Google stalls.  Every upload of one team, every get of
# the other, answered never; hv's timeout is 2 s.
t1=$(date +%s)
deliver_n s3@example.com stall 5
hv-fetch -t gone >/dev/null 2>/dev/null
deliver_n s6@example.com stall 4
emu POST /_emu/faults '{"rate":1,"kinds":["stall"],"stall_ms":60000,"seed":1,
    "methods":["gmail.users.messages.import","gmail.users.messages.get"],
    "users":["a3@example.com","b3@example.com","c3@example.com","s6@example.com"]}' >/dev/null
timed stall env HV_TEST_HTTP_TIMEOUT=2 hv-sync -t gone </dev/null &
p1=$!
timed stallf env HV_TEST_HTTP_TIMEOUT=2 hv-fetch -t far &
p2=$!
wait $p1 $p2
emu POST /_emu/faults '{"rate":0}' >/dev/null
breaker stall 'hv-sync against a stalled Google'
ok 'the spool files stay' test "$(spooled gone)" -eq 5
breaker stallf 'hv-fetch against a stalled Google'
ok 'hv-fetch wrote no line' test ! -s stallf.out
expect_success 'the next hv-sync exits 0' hv-sync -t gone </dev/null
ok 'everyone has all eleven once (the stalled imports were carried out)' \
    everyone 11 a3@example.com b3@example.com c3@example.com
ok 'the spool is empty' spool_empty gone
( hv-fetch -t far 2>/dev/null; echo $? >rc.fetch ) | ( hv-sync -t far 2>/dev/null; echo $? >rc.sync ) >far.out
ok 'the next pipeline fetches the four' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0 -a \
    "$(grep -c '"done":true' far.out)" -eq 4
ok 'everyone has all ten once' everyone 10 a6@example.com b6@example.com c6@example.com
echo "# breaker, stall: $(($(date +%s) - t1)) s"

# 4. Order and overlap.  Faults on some imports make later messages
# finish first; the lines still come in input order, one per message.
t1=$(date +%s)
pace 50
deliver_n s4@example.com order 20
hv-fetch -t order >order.in 2>/dev/null
emu POST /_emu/faults '{"rate":0.3,"kinds":["503"],"seed":3,
    "methods":["gmail.users.messages.import"]}' >/dev/null
emu DELETE /_emu/stats >/dev/null
expect_success 'hv-sync of a file of twenty lines' hv-sync -t order order.in
last_out >order.out
emu POST /_emu/faults '{"rate":0}' >/dev/null
ok 'some imports were refused and retried' test "$(emu GET /_emu/stats | jq '.faults["503"] // 0')" -ge 3
ok 'one result line per input line, each done' test "$(grep -c '"done":true' order.out)" -eq 20 -a \
    "$(wc -l <order.out)" -eq 20
ok 'in the order of the input' test "$(jq -r .id order.in)" = "$(jq -r .id order.out)"
ok 'everyone has all twenty' everyone 20 a4@example.com b4@example.com c4@example.com

# Overlap: two gets in flight at 100 ms take a second for twenty
# messages; hv-sync's first import must be answered before the last get.
pace 100
deliver_n s4@example.com overlap 20
google_conf two.conf 'inflight = 2'
emu DELETE /_emu/stats >/dev/null
( hv-fetch -c two.conf -t order 2>/dev/null; echo $? >rc.fetch ) |
    ( hv-sync -c two.conf -t order 2>/dev/null; echo $? >rc.sync ) >overlap.out
emu GET '/_emu/log?n=10000' >log.json
ok 'the pipeline exits 0' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
first_import=$(jq '[to_entries[] | select(.value.path | test("/messages/import")) | .key] | min' log.json)
last_get=$(jq '[to_entries[] | select(.value.method == "GET" and (.value.path | test("/messages/[0-9a-f]+[?]"))) | .key] | max' log.json)
ok "hv-sync imports before hv-fetch's last get (log entries $first_import < $last_get)" \
    test "$first_import" != null -a "$last_get" != null -a "$first_import" -lt "$last_get"
ok 'everyone has all forty' everyone 40 a4@example.com b4@example.com c4@example.com

# The same message twice in one input: the second waits for the next run
# rather than racing the first's uploads.
deliver_n s4@example.com twice 1
hv-fetch -t order 2>/dev/null >one.in
cat one.in one.in >twice.in
hv-sync -t order twice.in >twice.out 2>twice.err
ok 'hv-sync of a line given twice exits 75' test $? -eq 75
ok 'the first is done' test "$(sed -n 1p twice.out | grep -c '"done":true')" -eq 1
ok 'the second waits, saying why' grep -q '"done":false.*same Message-ID' twice.out
ok 'everyone has it once' everyone 41 a4@example.com b4@example.com c4@example.com
echo "# order and overlap: $(($(date +%s) - t1)) s"

# 5. The in-flight cap: never more calls per mailbox than Google allows.
t1=$(date +%s)
for cap in 3 8; do
	pace 100 $cap
	google_conf cap$cap.conf "inflight = $cap"
	deliver_n s5@example.com "cap$cap" 15
	emu DELETE /_emu/stats >/dev/null
	( hv-fetch -c cap$cap.conf -t cap 2>/dev/null; echo $? >rc.fetch ) |
	    ( hv-sync -c cap$cap.conf -t cap 2>/dev/null; echo $? >rc.sync ) >/dev/null
	emu GET /_emu/stats >stats.json
	ok "inflight = $cap, Google's cap $cap: the pipeline exits 0" test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
	ok "no 429 at all ($(jq -c .errors stats.json))" test "$(jq '.errors["429"] // 0' stats.json)" -eq 0
	ok "and as many imports as copies" test "$(jq '.calls["gmail.users.messages.import"]' stats.json)" -eq 45
done
ok 'everyone has all thirty' everyone 30 a5@example.com b5@example.com c5@example.com
# The cap is what keeps it so: eight in flight against Google's three.
pace 100 3
deliver_n s5@example.com over 10
emu DELETE /_emu/stats >/dev/null
( hv-fetch -c cap8.conf -t cap 2>/dev/null; echo $? >rc.fetch ) |
    ( hv-sync -c cap8.conf -t cap 2>/dev/null; echo $? >rc.sync ) >/dev/null
ok 'with inflight = 8 over a cap of 3 Google answers 429 (the check can fail)' \
    test "$(emu GET /_emu/stats | jq '.errors["429"] // 0')" -gt 0
ok 'which hv retries to the end' test "$(cat rc.fetch)/$(cat rc.sync)" = 0/0
ok 'everyone has all forty' everyone 40 a5@example.com b5@example.com c5@example.com
pace 0
echo "# in-flight cap: $(($(date +%s) - t1)) s"

# 6. A bad cap is a config error naming file and line.
for v in 0 x -1; do
	google_conf bad.conf "inflight = $v"
	line=$(grep -n "^inflight = $v\$" bad.conf | cut -d: -f1)
	expect_failure 78 "inflight = $v is refused with 78" hv-sync -c bad.conf -t cap </dev/null
	ok "naming bad.conf:$line" grep -q "bad.conf:$line" "$T/.err" || sed 's/^/#   /' "$T/.err"
done

# 7. A member hv has no credentials for: its label cannot be asked for,
# so every copy to it fails without a call to Google, and the others get
# everything.
{ cat "$HV_CONFIG"; printf '[team "nocred"]\nsource = s5@example.com\nmembers = a5@example.com x@elsewhere.example\nlabel = Nocred\n'; } >gone.conf
deliver_n s5@example.com gone 10
emu DELETE /_emu/stats >/dev/null
hv-fetch -c gone.conf -t nocred 2>/dev/null | hv-sync -c gone.conf -t nocred >gone.out 2>gone.err
ok 'hv-sync exits 66 when a member has no credentials' test $? -eq 66 || sed 's/^/#   /' gone.err gone.out | head
ok 'the others got every message' test "$(grep -c '"a5@example.com":"imported"' gone.out)" -eq 10
ok 'the member failed for each, saying why' \
    test "$(grep -c '"x@elsewhere.example":"failed".*no account' gone.out)" -eq 10
ok 'at no cost at Google: one token asked for, for the source' \
    test "$(emu GET /_emu/stats | jq '.calls["oauth2.token"] // 0')" -le 2

# 8. A member whose token Google killed before its expiry (an
# administrator's sign-out), while the domain's delegation still holds:
# the cached token must not be handed out again.  One token is minted
# anew, and the member gets everything.
pace 100
tb=$(hv-auth token b5@example.com)
curl -s --cacert "$EMU_CA" -X POST "$EMU_URL/revoke?token=$tb" >/dev/null
deliver_n s5@example.com revoked 20
hv-fetch -t cap >revoked.in 2>/dev/null
emu DELETE /_emu/stats >/dev/null
hv-sync -t cap revoked.in >revoked.out 2>revoked.err
ok 'hv-sync exits 0 when a member token died early but its access holds' test $? -eq 0 ||
    sed 's/^/#   /' revoked.err
ok 'every member got all twenty' test "$(grep -c '"a5@example.com":"imported","b5@example.com":"imported","c5@example.com":"imported"' revoked.out)" -eq 20
ok 'one new token was minted, for that member' \
    test "$(emu GET /_emu/stats | jq '.calls["oauth2.token"] // 0')" -eq 1
ok 'and the dead one is not in the cache any more' test "$(hv-auth token b5@example.com)" != "$tb"
pace 0

expect_success 'the audit trail verifies' hv-audit verify
echo "# whole file: $(($(date +%s) - t0)) s"
done_testing
