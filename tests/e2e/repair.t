#!/bin/sh
# hv-audit repair: a torn audit tail (storage that lost acknowledged
# writes in a power cut) stops every tool with one line until a person
# repairs it; the repair records the loss, verify reports it for good;
# tampering is not repaired; a full disk is said as such.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
emu_config '[team "support"]
source = support@example.com
members = a@example.com
label = Support'
for u in support a; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null
L=$T/state/audit.log
named() { grep -q "$1" "$T/.err" || { sed 's/^/#   /' "$T/.err"; false; }; }
msg() { printf 'Message-ID: <m%s@example.net>\r\nSubject: s%s\r\n\r\nbody\r\n' "$1" "$1"; }
n=0
more() {	# deliver $1 new messages
	i=0
	while [ $i -lt "$1" ]; do n=$((n + 1)); deliver support@example.com "$(msg $n)"; i=$((i + 1)); done
}
pipe() {
	( hv-fetch -t support 2>"$T/fetch.err"; echo $? >"$T/rc.fetch" ) |
	    ( hv-sync -t support 2>"$T/sync.err"; echo $? >"$T/rc.sync" ) >"$T/sync.out"
}

more 3
pipe
ok 'a first run syncs' test "$(cat rc.fetch) $(cat rc.sync)" = '0 0'
cp "$L.key0" key0
hv-audit pubkey >pubkey
expect_success 'the trail verifies' hv-audit verify -k key0 -p pubkey
lines=$(wc -l <"$L")

# A power cut that lost what the disk had acknowledged: the last line cut
# in half, the state counting it whole.
size=$(stat -c %s "$L")
last=$(tail -n 1 "$L" | wc -c)
truncate -s $((size - last / 2)) "$L"
more 3
pipe
ok 'hv-fetch exits 65' test "$(cat rc.fetch)" -eq 65
ok 'with one line' test "$(wc -l <fetch.err)" -eq 1
ok 'that says to run hv-audit repair' grep -q "run 'hv-audit repair'" fetch.err
hv-sync -t support </dev/null >/dev/null 2>sync.err; echo $? >rc.sync; cp sync.err sync1.err
ok 'hv-sync exits 65' test "$(cat rc.sync)" -eq 65
ok 'with one line naming hv-audit repair' sh -c "test \$(wc -l <sync.err) -eq 1 && grep -q 'hv-audit repair' sync.err"
expect_failure 65 'verify fails' hv-audit verify -k key0 -p pubkey
expect_failure 64 'repair without -y and without a terminal' hv-audit repair </dev/null
ok 'says to pass -y' named 'pass -y'
ok 'and changes nothing' test "$(stat -c %s "$L")" -eq $((size - last / 2))
expect_success 'repair -y' hv-audit repair -y
lost=$((lines - 1))
ok 'shows the seq lost' named "seq $lost to $lost lost (1 line)"
ok 'and the bytes' named "$last bytes its state counted are gone"
ok 'names where the torn bytes are' named "torn bytes after seq $((lost - 1)) are cut off and kept in '$L.torn.$lost'"
ok 'kept, 0600' test "$(stat -c '%a %s' "$L.torn.$lost")" = "600 $((last - last / 2))"
ok 'the event records the loss' sh -c "grep '\"action\":\"audit.repair\"' '$L' | jq -e '.target | .first_lost == \"$lost\" and .last_lost == \"$lost\" and .cut_bytes == \"$((last - last / 2))\" and .torn_sha256 == \"$(sha256sum <"$L.torn.$lost" | cut -c1-64)\"' >/dev/null"
ok 'a checkpoint signs it' sh -c "tail -n 1 '$L' | jq -e '.action == \"audit.checkpoint\" and .target.reason == \"repair\"' >/dev/null"
expect_success 'verify exits 0 after the repair' hv-audit verify -k key0 -p pubkey
ok 'and reports the gap' named "seq $lost..$lost lost in a torn write, repaired at .* by .* (audit.repair seq $((lost + 1)))"
expect_success 'so does a third party, from the files' hv-audit verify -p pubkey "$L"
ok 'the same' named "seq $lost..$lost lost in a torn write"
expect_success 'repair again: nothing to repair' hv-audit repair -y
ok 'says so' named 'nothing to repair'
pipe
ok 'the tools work again' test "$(cat rc.fetch) $(cat rc.sync)" = '0 0'
ok 'and sync what came meanwhile' test "$(grep -c '"done":true' sync.out)" -eq 3
expect_success 'the trail verifies, gap and all' hv-audit verify -k key0 -p pubkey
ok 'reported still' named "seq $lost..$lost lost in a torn write"

# Two whole lines gone, the state counting them.
cp -a "$T/state" saved
head -n -2 "$L" >cut && cat cut >"$L"
more 1
pipe
ok 'two lines gone: hv-fetch exits 65, one line' sh -c "test \$(cat rc.fetch) -eq 65 && test \$(wc -l <fetch.err) -eq 1"
last=$(tail -n 1 "$T/saved/audit.log" | jq .seq)
expect_success 'repair -y' hv-audit repair -y
ok 'shows the two seqs lost' named "seq $((last - 1)) to $last lost (2 lines)"
ok 'nothing torn to keep' sh -c "! grep -q 'kept in' '$T/.err'"
expect_success 'verify exits 0' hv-audit verify -k key0 -p pubkey
ok 'and reports both gaps' sh -c "grep -c 'lost in a torn write' '$T/.err' | grep -qx 2"
pipe
ok 'the tools work again' test "$(cat rc.fetch) $(cat rc.sync)" = '0 0'

# NUL bytes where the last page never reached the disk, the size kept.
size=$(stat -c %s "$L")
last=$(tail -n 1 "$L" | wc -c)
truncate -s $((size - 40)) "$L"
truncate -s "$size" "$L"
expect_failure 65 'a tail of NUL bytes, the size kept: appends refused' hv-audit log x.y
ok 'naming hv-audit repair' named "lost its last line in a torn write.*run 'hv-audit repair'"
expect_success 'a tail of NUL bytes: repair -y' hv-audit repair -y
ok 'shows the seq lost' named "lost (1 line)"
expect_success 'verify exits 0' hv-audit verify -k key0 -p pubkey

# Tampering is not a torn tail.
cp -a "$T/state" saved2
sed -i '3s/"pid":[0-9]*/"pid":1/' "$L"
expect_failure 65 'a line modified in the middle: verify fails' hv-audit verify -k key0 -p pubkey
expect_failure 65 'repair refuses' hv-audit repair -y
ok 'says it is not a torn tail' named 'not a torn tail'
expect_failure 65 'verify still fails' hv-audit verify -k key0 -p pubkey
head -n -1 "$L" >cut && cat cut >"$L"
expect_failure 65 'modified in the middle and the tail cut: repair refuses' hv-audit repair -y
rm -rf "$T/state/audit.log"*; cp -a "$T/saved2/." "$T/state/"
sed -i '$s/"pid":[0-9]*/"pid":1/' "$L"
expect_failure 65 'the last line modified: repair refuses' hv-audit repair -y
rm -rf "$T/state/audit.log"*; cp -a "$T/saved2/." "$T/state/"
head -n 4 "$L" >cut && sed -n '7,$p' "$L" >>cut && cat cut >"$L"
expect_failure 65 'lines deleted in the middle: repair refuses' hv-audit repair -y
rm -rf "$T/state/audit.log"*; cp -a "$T/saved2/." "$T/state/"
expect_success 'restored, the trail verifies' hv-audit verify -k key0 -p pubkey
expect_failure 64 'the tools may not log an audit.repair' hv-audit log audit.repair first_lost=1 last_lost=2

# A full disk: a small tmpfs in a namespace of our own, where one can be had.
if unshare -r -m true 2>/dev/null; then
	mkdir -p full
	cat >full.sh <<EOS
set -u
mount -t tmpfs -o size=64k,mode=0700 tmpfs '$T/full' || exit 99
cp -a '$T/state/audit.log' '$T/state/audit.log.state' '$T/state/audit.log.lock' '$T/full/'
sed 's|$T/state/audit.log|$T/full/audit.log|' '$HV_CONFIG' >'$T/full.conf'
export HV_CONFIG='$T/full.conf'
head -c \$((64 * 1024 - \$(du -sb '$T/full' | cut -f1) - 6000)) /dev/zero >'$T/full/filler' 2>/dev/null
i=0 rc=0
while [ \$i -lt 500 ]; do
	hv-audit log message.fetch account=a@example.com n=\$i 2>'$T/full.err' || { rc=\$?; break; }
	i=\$((i + 1))
done
echo \$rc >'$T/full.rc'
cp '$T/full/audit.log' '$T/full.log'
hv-audit verify -k '$T/key0' -p '$T/pubkey' 2>'$T/full.verify'
echo \$? >>'$T/full.rc'
# Now the log's own write: room for none of its pages, a line that
# crosses into a new one, so that part of it gets in.
rm '$T/full/filler'
while :; do
	r=\$((\$(stat -c %s '$T/full/audit.log') % 4096))
	[ \$r -gt 300 ] && [ \$r -lt 3400 ] && break
	hv-audit log message.fetch account=a@example.com || exit 98
done
size=\$(stat -c %s '$T/full/audit.log')
dd if=/dev/zero of='$T/full/filler' bs=4096 2>/dev/null
v=\$(head -c 390 /dev/zero | tr '\\0' x)
hv-audit log big.event a=\$v b=\$v c=\$v d=\$v e=\$v f=\$v g=\$v h=\$v i=\$v 2>'$T/full2.err'
echo \$? >'$T/full2.rc'
test "\$(stat -c %s '$T/full/audit.log')" -eq \$size
echo \$? >>'$T/full2.rc'
hv-audit verify -k '$T/key0' -p '$T/pubkey' 2>>'$T/full2.err'
echo \$? >>'$T/full2.rc'
EOS
	unshare -r -m sh full.sh
	ok 'a full disk: exit 74, then verify 0' test "$(cat full.rc | tr '\n' ' ')" = '74 0 ' ||
	    sed 's/^/#   /' full.rc full.err full.verify
	ok 'said as a full disk, in one line' sh -c "test \$(wc -l <full.err) -eq 1 && grep -q 'audit log: no space left on device' full.err"
	ok 'nothing torn left' test "$(tail -c 1 full.log | od -An -c | tr -d ' ')" = '\n'
	ok 'a line that got in part way: exit 74, cut back, verify 0' \
	    test "$(cat full2.rc | tr '\n' ' ')" = '74 0 0 ' || sed 's/^/#   /' full2.rc full2.err
	ok 'said as a full disk' grep -q "audit log: no space left on device ('$T/full/audit.log' not written)" full2.err
else
	ok 'a full disk (skipped: no namespace to mount a tmpfs in)' true
fi

done_testing
