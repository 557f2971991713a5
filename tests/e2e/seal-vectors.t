#!/bin/sh
# hv-seal(5) against a second implementation, tests/vectors/seal-v1.js:
# the known answers of seal-v1.txt, and files sealed by one side and
# opened by the other, whole or with a byte changed.
. "$(dirname "$0")/lib.sh"

V=$HV_TOP/tests/vectors
if ! command -v node >/dev/null 2>&1; then
	echo '1..0 # SKIP node is not installed'
	exit 0
fi
cd "$T" || exit 1

js() {
	node "$V/seal-v1.js" "$@"
}

# flip FILE OFFSET OUT: a copy of FILE with the low bit of one byte flipped.
flip() {
	node -e 'const fs = require("fs"), b = fs.readFileSync(process.argv[1]);
		b[Number(process.argv[2])] ^= 1; fs.writeFileSync(process.argv[3], b);' "$@"
}

size() {
	wc -c <"$1" | tr -d ' '
}

# The known answers.
expect_success 'the Node implementation makes the vectors' js generate
ok 'they are the committed vectors, byte for byte' cmp -s "$T/.out" "$V/seal-v1.txt"

for name in $(sed -n 's/^name = //p' "$V/seal-v1.txt"); do
	js vector "$name" key-text >"v-$name.key"
	js vector "$name" sealed >"v-$name.hvs"
	js vector "$name" plaintext >"v-$name.plain"
	ctx=$(js vector "$name" context)
	if grep -q '^hvid1' "v-$name.key"; then opt=-i; else opt=-k; fi
	expect_success "hv-seal opens vector $name" \
	    hv-seal -d $opt "v-$name.key" -a "$ctx" "v-$name.hvs" "v-$name.out"
	ok "vector $name: to its plaintext" cmp -s "v-$name.plain" "v-$name.out"
done
expect_success 'hv-seal inspects vector empty' hv-seal inspect v-empty.hvs
ok 'with the key id hv-seal(5) gives' grep -q '"key_id":"32a02c4b71ce23a6"' "$T/.out"

# Both ways, both modes, at and around the segment size.
hv-seal keygen key
hv-seal keygen -p id 2>keygen.err
sed -n 's/^recipient: //p' keygen.err >rcpt
ok 'keygen -p told the recipient' grep -q '^hvpub1' rcpt
ctx='spool:support@example.com:18c2a0f3b4d5e6f7'

for n in 0 1 65535 65536 65537 300000; do
	head -c $n /dev/urandom >p$n
	expect_success "$n bytes: hv-seal seals" hv-seal -k key -a "$ctx" p$n c$n.hvs
	expect_success "$n bytes: Node opens" js open -k key -a "$ctx" c$n.hvs c$n.out
	ok "$n bytes: the same after hv-seal then Node" cmp -s p$n c$n.out
	expect_success "$n bytes: hv-seal seals to a recipient" \
	    hv-seal -r rcpt -a "$ctx" p$n r$n.hvs
	expect_success "$n bytes: Node opens with the identity" \
	    js open -i id -a "$ctx" r$n.hvs r$n.out
	ok "$n bytes: the same after hv-seal -r then Node" cmp -s p$n r$n.out
	expect_success "$n bytes: Node seals" js seal -k key -a "$ctx" p$n n$n.hvs
	expect_success "$n bytes: hv-seal opens" hv-seal -d -k key -a "$ctx" n$n.hvs n$n.out
	ok "$n bytes: the same after Node then hv-seal" cmp -s p$n n$n.out
	expect_success "$n bytes: Node seals to a recipient" js seal -r rcpt -a "$ctx" p$n m$n.hvs
	expect_success "$n bytes: hv-seal opens with the identity" \
	    hv-seal -d -i id -a "$ctx" m$n.hvs m$n.out
	ok "$n bytes: the same after Node -r then hv-seal" cmp -s p$n m$n.out
	ok "$n bytes: both sealed files have the same length" \
	    test "$(size c$n.hvs)" = "$(size n$n.hvs)" -a "$(size r$n.hvs)" = "$(size m$n.hvs)"
done

# A Node-made file with one byte changed: in the header (magic, version,
# mode, segment size, reserved byte, salt, MAC; in recipient mode the
# ephemeral key and the wrapped file key too), in a segment, in a tag.
last=$(($(size n300000.hvs) - 1))
for off in 0 5 6 7 8 9 18 49 50 81 82 1000 65597 65620 131200 $((last - 16)) $last; do
	flip n300000.hvs $off bad.hvs
	expect_failure 65 "symmetric, byte $off flipped: hv-seal refuses" \
	    hv-seal -d -k key -a "$ctx" bad.hvs out
	ok "symmetric, byte $off flipped: no output left" test ! -e out
done
last=$(($(size m300000.hvs) - 1))
for off in 0 7 8 9 18 50 81 82 129 130 161 162 70000 $last; do
	flip m300000.hvs $off bad.hvs
	expect_failure 65 "recipient, byte $off flipped: hv-seal refuses" \
	    hv-seal -d -i id -a "$ctx" bad.hvs out
	ok "recipient, byte $off flipped: no output left" test ! -e out
done
flip n300000.hvs 12 bad.hvs
expect_failure 77 'a flipped key id names another key' hv-seal -d -k key -a "$ctx" bad.hvs out
# Past the first half megabyte hv-seal has written plaintext to stdout.
head -c 1200000 /dev/urandom >big
js seal -k key -a "$ctx" big big.hvs
flip big.hvs $(($(size big.hvs) - 100)) bad.hvs
expect_failure 65 'a flipped byte late in a long stream, to stdout' \
    sh -c 'hv-seal -d -k key -a "$1" bad.hvs >out' sh "$ctx"
ok 'the regular-file stdout is cut back to nothing' test -f out -a ! -s out
rm -f out
expect_success 'the long stream unflipped opens' hv-seal -d -k key -a "$ctx" big.hvs out
ok 'to the same bytes' cmp -s big out
rm -f out
head -c $(($(size n65537.hvs) - 1)) n65537.hvs >bad.hvs
expect_failure 65 'a Node-made file cut by a byte' hv-seal -d -k key -a "$ctx" bad.hvs out
head -c $((82 + 65552)) n65537.hvs >bad.hvs
expect_failure 65 'a Node-made file cut at a segment boundary' \
    hv-seal -d -k key -a "$ctx" bad.hvs out
cp n65536.hvs bad.hvs && printf x >>bad.hvs
expect_failure 65 'a Node-made file with a byte appended' hv-seal -d -k key -a "$ctx" bad.hvs out
expect_failure 65 'a Node-made file opened in another context' \
    hv-seal -d -k key -a 'spool:support@example.com:0' n1.hvs out

# Segment sizes hv-seal does not write but must read, and sizes out of range.
for log2 in 12 13 20; do
	expect_success "Node seals with 2^$log2-byte segments" \
	    js seal -s $log2 -k key -a "$ctx" p300000 s$log2.hvs
	expect_success "hv-seal opens 2^$log2-byte segments" \
	    hv-seal -d -k key -a "$ctx" s$log2.hvs s$log2.out
	ok "2^$log2-byte segments: the same bytes" cmp -s p300000 s$log2.out
done
for log2 in 11 21; do
	js seal -s $log2 -k key -a "$ctx" p1 bad.hvs
	expect_failure 65 "hv-seal refuses 2^$log2-byte segments" \
	    hv-seal -d -k key -a "$ctx" bad.hvs out
done

# Files whose every segment authenticates but that break the segment rules.
# forge KEYFILE OUT PIECES: PIECES is a list of [plaintext, last flag]; P(n)
# is n bytes of plaintext.
forge() {
	node -e 'const fs = require("fs"), m = require(process.argv[1]);
		const key = m.keyFromText(fs.readFileSync(process.argv[2], "latin1"));
		const P = (n) => Buffer.alloc(n, 0x61);
		const pieces = eval(process.argv[5]);
		fs.writeFileSync(process.argv[4], m.sealPieces(key, Buffer.from(process.argv[3]), pieces));' \
	    "$V/seal-v1.js" "$@"
}
forge key "$ctx" bad.hvs '[[P(65536), true]]'
expect_success 'a forged file that keeps the rules opens' hv-seal -d -k key -a "$ctx" bad.hvs out
rm -f out
for case in \
    'no segment:[]' \
    'no segment flagged last:[[P(65536), false]]' \
    'an empty last segment after a full one:[[P(65536), false], [P(0), true]]' \
    'a short segment before the last:[[P(1000), false], [P(10), true]]' \
    'a segment after the last:[[P(65536), true], [P(5), true]]' \
    'two empty last segments:[[P(0), true], [P(0), true]]' \
    'the last flag on the first of two:[[P(65536), true], [P(65536), false]]'; do
	forge key "$ctx" bad.hvs "${case#*:}"
	expect_failure 65 "hv-seal refuses ${case%%:*}" hv-seal -d -k key -a "$ctx" bad.hvs out
	expect_failure 65 "Node refuses ${case%%:*}" js open -k key -a "$ctx" bad.hvs out
done

# And the other way: the Node implementation refuses what hv-seal refuses.
flip c300000.hvs 150000 bad.hvs
expect_failure 65 'Node refuses an hv-seal file with a flipped byte' \
    js open -k key -a "$ctx" bad.hvs out
flip r1.hvs 100 bad.hvs
expect_failure 65 'Node refuses a recipient file with a flipped wrapped key' \
    js open -i id -a "$ctx" bad.hvs out
expect_failure 65 'Node refuses an hv-seal file in another context' \
    js open -k key -a 'token:alice@example.com' c1.hvs out

done_testing
