#!/bin/sh
# hv-audit end to end: the trail, tampering of every kind, concurrent
# appenders, query against jq, export, opt-out, watch, rotation.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
A=$T/audit
L=$A/audit.log
cat >"$HV_CONFIG" <<EOF
[paths]
audit = $L
state = $T/state/hv.db
[keys]
master = $T/master.key
EOF
hv-seal keygen master.key

# Copies of the whole trail, to tamper with one and restore it.
save() { rm -rf "$T/saved"; cp -a "$A" "$T/saved"; }
restore() { rm -rf "$A"; cp -a "$T/saved" "$A"; }
# verify, and its last stderr line names the problem
named() { grep -q "$1" "$T/.err" || { sed 's/^/#   /' "$T/.err"; false; }; }

expect_success '--help exits 0' hv-audit --help
ok '--help prints the usage' grep -q '^usage: hv-audit log' "$T/.out"
expect_failure 64 'no command is a usage error' hv-audit
ok 'says so before the usage' grep -qx 'hv-audit: no command' "$T/.err"
expect_failure 64 'an unknown command is a usage error' hv-audit frobnicate
unknown_command hv-audit verfy verify
expect_failure 64 'a bad count says why' hv-audit tail -n zero
ok 'on one line before the usage' grep -qx "hv-audit: bad count 'zero'" "$T/.err"
expect_success '-V prints the version' hv-audit -V
expect_failure 66 'verify with no trail' hv-audit verify

expect_success 'init creates the trail' hv-audit init
ok 'and prints the checkpoint key' grep -q '^hvsig1[A-Za-z0-9_-]*$' "$T/.out"
cp "$T/.out" pubkey
ok 'files are 0600' test "$(stat -c %a "$L" "$L.state" "$L.key0" | sort -u)" = 600
ok 'the directory is 0700' test "$(stat -c %a "$A")" = 700
expect_failure 73 'init twice is refused' hv-audit init
expect_success 'pubkey prints the same key' hv-audit pubkey
ok 'the same' cmp -s pubkey "$T/.out"

i=0
while [ $i -lt 20 ]; do
	hv-audit log message.fetch account="u$i@example.com" team=support || break
	i=$((i + 1))
done
ok '20 events logged' test "$(wc -l <"$L")" -eq 21
expect_success 'log with an outcome and error' hv-audit log token.refresh \
    account=b@example.com --outcome fail --error 'invalid_grant: revoked'
ok 'the event says so' sh -c "tail -n 1 '$L' | grep -q '\"outcome\":\"fail\",\"error\":\"invalid_grant: revoked\"'"
expect_failure 64 'a subject may not be logged' hv-audit log message.fetch subject=hello
expect_failure 64 'a raw Message-ID may not be logged' hv-audit log message.fetch 'msgid=<a@b>'
expect_failure 64 'a bad action' hv-audit log 'Bad Action'
expect_failure 64 'a bad outcome' hv-audit log x.y --outcome maybe
expect_success 'a checkpoint on demand' hv-audit checkpoint
expect_success 'the trail verifies' hv-audit verify -v -k "$L.key0"
ok 'and says how much' named 'intact: 23 lines, seq 0 to 22, 2 signatures checked, MACs checked'
expect_success 'the first key beside the log' hv-audit verify
ok 'is advised against' named "the first key '$L.key0' is still on this host"
expect_success 'verify -q' hv-audit verify -q
ok 'silences the advice, not that nothing off-host anchored it' \
    test "$(cat "$T/.err")" = 'hv-audit: no off-host anchor: pass -k and -p with copies kept off this host'
expect_success '-q before the command' hv-audit -q verify
ok 'likewise' test "$(wc -l <"$T/.err")" -eq 1
expect_success 'and -c too' hv-audit -c "$HV_CONFIG" -q verify -k "$L.key0"
mv "$L.key0" key0
expect_success 'verify without the first key beside the log' hv-audit verify
ok 'says MACs are not checked' named 'line MACs not checked'
expect_success 'a third party: lines and public key only' hv-audit verify -p "$(cat pubkey)" "$L"
expect_success 'the public key from a file' hv-audit verify -p pubkey -k key0 "$L"
expect_failure 65 'another public key is refused' sh -c \
    "hv-seal keygen >/dev/null; hv-audit verify -p hvsig1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA '$L'"

# Tampering: line N+1 holds seq N.
save
tamper() {	# name sed-script want
	restore
	sed -i "$2" "$L"
	expect_failure 65 "$1: verify fails" hv-audit verify -k "$T/key0"
	ok "$1: names it" named "$3"
}
tamper 'a modified line' '6s/u4@/u9@/' 'seq 5: modified (its MAC does not match)'
tamper 'a deleted line' '8d' 'seq 7: deleted'
tamper 'two deleted lines' '8,9d' 'seq 7 to 8: deleted'
tamper 'reordered lines' '10{h;d};11G' 'seq 9: reordered'
tamper 'a replayed line' '5p' 'seq 4: inserted (a second line with that seq)'
tamper 'an inserted forged line' '7{h;s/u5@/evil@/;p;x}' 'seq 6: inserted'
tamper 'the first line gone' '1d' 'seq 0: deleted'
tamper 'a cut tail' '$d' 'seq 22: tail cut'
tamper 'an unknown version' '4s/{"v":1,/{"v":7,/' 'line after seq 2: malformed: unknown version 7'
tamper 'a non-JSON line' '4s/.*/hello world/' 'line after seq 2: malformed: not an hv-audit(5) line'
restore
sed -i '6s/u4@/u9@/' "$L"
expect_failure 65 'without any key: a modified line' hv-audit verify -p pubkey "$L"
ok 'names it by the hash chain' named 'seq 5: modified'
restore
ok 'a tampering found is itself logged' sh -c "hv-audit verify -k key0 >/dev/null 2>&1; \
    sed -i '6s/u4@/u9@/' '$L'; hv-audit verify -k key0 2>/dev/null; tail -n 1 '$L' | grep -q audit.tamper"
restore
head -c 5000 /dev/zero | tr '\0' x >long
sed -i "4s/.*/$(cat long)/" "$L"
expect_failure 65 'a line over the size cap' hv-audit verify -k key0
ok 'is reported' named 'line 4: longer than 4096 bytes'
restore
printf '{"v":1,"seq":23,"time":"torn' >>"$L"
expect_failure 65 'a torn last line' hv-audit verify -k key0
ok 'is reported' named 'no newline at the end'
expect_success 'and the next append repairs it' hv-audit log message.skip account=a@example.com
expect_success 'then the trail verifies' hv-audit verify -k key0
restore

# Freshness: a checkpoint must be newer than --max-age.
expect_success '--max-age met' hv-audit verify -k key0 --max-age 1h
sed -i '$s/"time":"[0-9-]*T/"time":"2020-01-01T/' "$L"
expect_failure 65 'a stale checkpoint' hv-audit verify --max-age 1h -p pubkey "$L"
restore

# Many appenders at once.
p=0
while [ $p -lt 8 ]; do
	( j=0; while [ $j -lt 50 ]; do hv-audit log message.import account="p$p@example.com" n=$j; j=$((j + 1)); done ) &
	p=$((p + 1))
done
wait
expect_success '8 concurrent appenders: the trail verifies' hv-audit verify -k key0
ok 'all 400 events are there' test "$(grep -c message.import "$L")" -eq 400
ok 'no seq twice' test "$(grep -o '"seq":[0-9]*' "$L" | sort | uniq -d | wc -l)" -eq 0

# Progress: a trail of over a thousand lines is verified with a count at a
# terminal, and nothing extra when stderr is not one.
p=0
while [ $p -lt 8 ]; do
	( j=0; while [ $j -lt 90 ]; do hv-audit log bulk.test n=$j; j=$((j + 1)); done ) &
	p=$((p + 1))
done
wait
ok 'over a thousand lines' test "$(wc -l <"$L")" -gt 1100
expect_success 'verify, stderr not a terminal' hv-audit verify -k key0
ok 'says nothing extra' test ! -s "$T/.err"
if command -v script >/dev/null; then
	script -qec 'hv-audit verify -k key0' /dev/null >tty.out 2>&1
	ok 'at a terminal it shows how far it is' grep -q 'lines verified' tty.out
	script -qec 'hv-audit verify -q -k key0' /dev/null >tty.out 2>&1
	ok 'but not with -q' test ! -s tty.out
fi

# query is jq -c.
for f in '.' 'select(.action=="message.fetch")' '{seq,action}' '.target.account' \
    '.target // empty | keys' 'select(.seq % 7 == 0) | .time' '[.seq, .pid > 0]' \
    'select(.outcome != "ok")' '.seq as $s | {($s|tostring): .action}' 'length'; do
	hv-audit query "$f" >q.out 2>q.err
	jq -c "$f" "$L" >jq.out 2>/dev/null
	ok "query '$f' is jq -c" cmp -s q.out jq.out
done
expect_success 'query with no filter' hv-audit query
ok 'prints every line as jq -c .' sh -c "jq -c . '$L' | cmp -s - '$T/.out'"
expect_failure 64 'a filter that does not compile' hv-audit query 'select('
ok 'says so' named 'bad jq filter'
expect_success 'query --since in the future' hv-audit query --since 2999-01-01
ok 'prints nothing' test ! -s "$T/.out"
expect_success 'query --since 1h' hv-audit query --since 1h -- '.seq'
ok 'prints every event' test "$(wc -l <"$T/.out")" -eq "$(wc -l <"$L")"
expect_success 'query --until 2000-01-01' hv-audit query --until 2000-01-01
ok 'prints nothing' test ! -s "$T/.out"
expect_failure 64 'a bad time' hv-audit query --since yesterday
save
sed -i '3s/.*/not json/' "$L"
expect_failure 65 'a non-JSON line in query' hv-audit query '.seq'
ok 'is named' named "line 3: jq: error\\|line 3: bad JSON"
ok 'and the other lines still come out' test "$(wc -l <"$T/.out")" -eq $(($(wc -l <"$L") - 1))
restore
expect_success 'tail' hv-audit tail -n 3
ok 'prints the last 3 lines' sh -c "tail -n 3 '$L' | cmp -s - '$T/.out'"

# export: the default redaction, pseudonyms, opt-out.
expect_success 'export' hv-audit export
ok 'keeps only time, tool, action, outcome, user' sh -c \
    "jq -e -s 'all(keys == [\"action\",\"outcome\",\"time\",\"tool\",\"user\"])' '$T/.out' >/dev/null"
ok 'no address, host or seq escapes' sh -c "! grep -q '@\\|\"host\\|\"seq' '$T/.out'"
ok 'times are bucketed to the hour' sh -c "jq -e -s 'all(.time | test(\":00:00Z$\"))' '$T/.out' >/dev/null"
ok 'one pseudonym per account' test "$(jq -r 'select(.action=="message.import") | .user' "$T/.out" | sort -u | wc -l)" -eq 8
cp "$T/.out" export1
expect_success 'optout add' hv-audit optout add p3@example.com
expect_success 'optout add another' hv-audit optout add u1@example.com
expect_success 'optout list' hv-audit optout list
ok 'lists both as JSON lines' sh -c "grep -qx '{\"id\":\"p3@example.com\"}' '$T/.out' && grep -qx '{\"id\":\"u1@example.com\"}' '$T/.out'"
expect_success 'export again' hv-audit export
# 51 events of the two left out; one more: the first export's own event
ok 'the opted-out are left out' test "$(wc -l <"$T/.out")" -eq $(($(wc -l <export1) - 51 + 1))
expect_success 'optout remove' hv-audit optout remove u1@example.com
expect_success 'export with a custom redaction' hv-audit export --redact '{action, user}'
ok 'as asked' sh -c "jq -e -s 'all(keys == [\"action\",\"user\"])' '$T/.out' >/dev/null"
expect_success 'the trail still verifies' hv-audit verify -k key0

# watch: a command per matching event, exactly once.
cat >rules <<EOF
# test rules
match .action == "alert.test"
run cat >>$T/fired

match .action == "auth.fail"
count 3 within 1h
run cat >>$T/fired3
EOF
: >fired
: >fired3
hv-audit log alert.test n=before
hv-audit watch --from "$(($(wc -l <"$L") - 1))" rules 2>watch.err &
wpid=$!
sleep 0.5
for n in 1 2 3 4; do hv-audit log alert.test n=$n; done
for n in 1 2 3 4 5 6 7; do hv-audit log auth.fail n=$n; done
hv-audit log other.thing
i=0
while [ $i -lt 50 ] && [ "$(wc -l <fired)" -lt 5 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
kill "$wpid"
wait "$wpid"
ok 'watch fired once per matching event' test "$(wc -l <fired)" -eq 5
ok 'with the event on stdin' sh -c "grep -c '\"action\":\"alert.test\"' fired | grep -qx 5"
ok 'a count rule fires on every third match' test "$(wc -l <fired3)" -eq 2
ok 'watch stops cleanly on a signal' test ! -s watch.err
expect_failure 124 'the default rules load and run until stopped' \
    timeout -s TERM 1 hv-audit watch "$HV_TOP/scripts/hv-audit.rules"
ok 'without a complaint' test ! -s "$T/.err"
printf 'match select(\nrun true\n' >badrules
expect_failure 65 'a rule that does not compile' hv-audit watch badrules

# rotate: a new file chained to the last; verify walks across.
expect_success 'rotate' hv-audit rotate
ok 'names the rotated file' named "rotated to '$L.0'"
hv-audit log message.fetch account=after@example.com
expect_success 'rotate again' hv-audit rotate
hv-audit log message.fetch account=after2@example.com
expect_success 'verify walks across the files' hv-audit verify -k key0 -v
ok 'all of them' named 'intact: [0-9]* lines, seq 0 to'
second=$(ls "$L".[0-9]* | sort -V | tail -n 1)
expect_success 'the rotated files from the first, with the first key' \
    hv-audit verify -k key0 "$L.0" "$second"
expect_failure 65 'a later one alone: its seq is more than its size can hold' \
    hv-audit verify -k key0 "$second"
expect_success 'without the first key it is taken as it starts' hv-audit verify -p pubkey "$second"

# A first line whose seq is near 2^64 fails at once, rather than holding
# the verifier while it ratchets the first key that far.
sed -n '1s/"seq":[0-9]*/"seq":9999999999999999999/p' "$second" >far.log
expect_failure 65 'a first seq past what the file can hold' timeout 20 hv-audit verify -k key0 far.log
ok 'says so' named 'seq 9999999999999999999: more lines before the first than there can be'
cp far.log "$T/far.log.9999999999999999999"
expect_failure 65 'and a name that claims it is no help' \
    timeout 20 hv-audit verify -k key0 "$T/far.log.9999999999999999999"
sed -i '1s/after@/evil@/' "$second"
expect_failure 65 'a modified line in a rotated file' hv-audit verify -k key0
ok 'names the file' named "$second"
expect_success 'query reads every file' hv-audit query 'select(.target.account? == "after2@example.com") | .action'
ok 'finds it' grep -qx '"message.fetch"' "$T/.out"

# A state rewritten to hide lines cut after the last checkpoint: its MAC
# key is not the one the first key ratchets to at its seq.
G=$T/g
mkdir "$G"
printf '[paths]\naudit = %s/audit.log\n' "$G" >g.conf
hv-audit -c g.conf init >g.pub 2>/dev/null
mv "$G/audit.log.key0" g.key0
for n in 1 2 3 4 5; do hv-audit -c g.conf log message.fetch account=g$n@example.com; done
expect_success 'an anchored verify (-k and -p kept off the host)' hv-audit -c g.conf verify -k g.key0 -p g.pub
ok 'says nothing of an anchor' sh -c "! grep -q 'off-host' '$T/.err'"
cp -a "$G" g.saved
head -n -3 "$G/audit.log" >g.cut
cat g.cut >"$G/audit.log"
last=$(tail -n 1 g.cut | sed 's/.*"seq":\([0-9]*\),.*/\1/')
prev=$(tail -n 1 g.cut | sha256sum | cut -c1-64)
sed -i -e "s/^seq .*/seq $((last + 1))/" -e "s/^size .*/size $(stat -c %s g.cut)/" \
    -e "s/^prev .*/prev $prev/" "$G/audit.log.state"
expect_failure 65 'cut lines and a rewritten state' hv-audit -c g.conf verify -k g.key0 -p g.pub
ok 'are found by the state key' named "seq $((last + 1)): tail cut (the state's MAC key is not the first key's"
rm -f "$G/audit.log.state"
expect_failure 65 'and a state deleted' hv-audit -c g.conf verify -k g.key0 -p g.pub
rm -rf "$G"; cp -a g.saved "$G"

# A trail deleted and made again verifies with the keys it made itself:
# verify says that nothing off this host anchored it, and one anchored
# on the first trail's keys fails.
rm -rf "$G"; mkdir "$G"
hv-audit -c g.conf init >/dev/null 2>&1
expect_success 'a trail made again passes an unanchored verify' hv-audit -c g.conf verify -q --max-age 1h
ok 'which says so' named 'no off-host anchor: pass -k and -p with copies kept off this host'
expect_failure 65 'not one anchored off-host' hv-audit -c g.conf verify -k g.key0 -p g.pub --max-age 1h
expect_failure 65 'nor one with the public key alone' hv-audit -c g.conf verify -p g.pub

expect_failure 66 'msgid needs the state database' hv-audit msgid '<x@example.com>'
hv-auth init 2>/dev/null
expect_success 'msgid' hv-audit msgid '<x@example.com>'
ok 'is 32 hex digits' grep -qx '[0-9a-f]\{32\}' "$T/.out"
cp "$T/.out" id1
hv-audit msgid '<x@example.com>' >id2
ok 'the same each time' cmp -s id1 id2

# hv-audit(5) lists every action lib/audit.h defines, and no other, so a
# watch rule's author sees what to match: they cannot drift apart.
actions=$(sed -n 's/^#define HV_AUDIT_[A-Z_]*[[:space:]]*"\([a-z0-9_.]*\)".*/\1/p' "$HV_TOP/lib/audit.h")
ok 'lib/audit.h defines actions' test "$(echo "$actions" | wc -l)" -ge 20
missing=
for a in $actions; do
	grep -q "^\.It Li $a\( Pq .*\)\{0,1\}\$" "$HV_TOP/man/hv-audit.5" || missing="$missing $a"
done
ok "every one is in hv-audit(5)${missing:+ (missing:$missing)}" test -z "$missing"
extra=
for a in $(sed -n '/^\.Ss Actions/,/^\.Ss /s/^\.It Li \([a-z0-9_.]*\).*/\1/p' "$HV_TOP/man/hv-audit.5"); do
	echo "$actions" | grep -qx "$a" || extra="$extra $a"
done
ok "and hv-audit(5) lists no other${extra:+ (extra:$extra)}" test -z "$extra"
ok 'the library logs no action spelled out elsewhere' sh -c \
    "! grep -n 'hv_audit_[a-z_]*([^,]*, *\"' '$HV_TOP'/lib/*.c"

done_testing
