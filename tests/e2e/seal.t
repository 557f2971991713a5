#!/bin/sh
# hv-seal end to end: the command line, files, exit codes, all-or-nothing.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
head -c 300000 /dev/urandom >plain
: >empty

expect_success '--help exits 0' hv-seal --help
ok '--help prints the usage on stdout' grep -q '^usage: hv-seal' "$T/.out"
expect_failure 64 'an unknown option is a usage error' hv-seal -x
expect_failure 64 'three operands are a usage error' hv-seal a b c
expect_failure 64 '-d with -r is a usage error' hv-seal -d -r hvpub1x plain
expect_failure 64 'seal with -i is a usage error' hv-seal -i id plain
ok 'says why' grep -q '^hv-seal: -i opens' "$T/.err"
unknown_command hv-seal inspct inspect
expect_failure 66 'a file that does not exist, not close to a command, is a file' hv-seal -k nokey nosuchfile out
expect_success '-V prints the version' hv-seal -V
ok 'version line' grep -q '^hv-seal [0-9]' "$T/.out"

expect_success 'keygen writes a key file' hv-seal keygen key
ok 'the key file is 0600' test "$(stat -c %a key)" = 600
ok 'the key file holds one hvkey1 line' grep -qx 'hvkey1[A-Za-z0-9_-]\{48\}' key
expect_failure 73 'keygen never replaces a file' hv-seal keygen key
expect_success 'keygen -p writes an identity' hv-seal keygen -p id
ok 'and tells its recipient on stderr' grep -q '^recipient: hvpub1' "$T/.err"
sed -n 's/^recipient: //p' "$T/.err" >rcpt
expect_success '-y prints the recipient of an identity' hv-seal -y id
ok 'the one keygen said, on stdout' cmp -s rcpt "$T/.out"
expect_success '-y - reads the identity from stdin' sh -c 'hv-seal -y - <id'
ok 'the same' cmp -s rcpt "$T/.out"
ok 'from a pipe too' sh -c 'cat id | hv-seal -y - | cmp -s rcpt -'
chmod 640 id
expect_failure 77 '-y refuses an identity others can read' hv-seal -y id
ok 'naming it and the fix' grep -q "'id' is readable by others (mode 0640): chmod 600 id" "$T/.err"
chmod 600 id
expect_failure 65 '-y of a symmetric key is refused' hv-seal -y key
expect_failure 66 '-y of no file' hv-seal -y nosuch
expect_failure 64 '-y with anything else is a usage error' hv-seal -y id -d
expect_success 'keygen to stdout' sh -c 'hv-seal keygen >key2'
ok 'key2 is a key' grep -qx 'hvkey1[A-Za-z0-9_-]\{48\}' key2

expect_success 'seal a file to a file' hv-seal -k key -a 'spool:a@x:1' plain sealed
ok 'sealed output is 0600' test "$(stat -c %a sealed)" = 600
expect_success 'open it to a file' hv-seal -d -k key -a 'spool:a@x:1' sealed opened
ok 'same bytes' cmp -s plain opened
mkfifo fifo
cat fifo >from-fifo &
expect_success 'open into a named pipe' hv-seal -d -k key -a 'spool:a@x:1' sealed fifo
wait $!
ok 'the pipe got the plaintext' cmp -s plain from-fifo
ok 'and is still a pipe' test -p fifo
ln -s plain link
expect_failure 73 'a symbolic link as the output is refused' hv-seal -k key -a x plain link
ok 'and left as it was' test -L link
expect_success 'seal stdin to stdout' sh -c 'hv-seal -k key <plain >sealed2'
expect_success 'open stdin to stdout' sh -c 'hv-seal -d -k key <sealed2 >opened2'
ok 'same bytes through pipes' cmp -s plain opened2
expect_success '- means stdin and stdout' sh -c 'cat plain | hv-seal -k key - - | hv-seal -d -k key - - >opened3'
ok 'same bytes through -' cmp -s plain opened3
expect_success 'seal an empty file' hv-seal -k key empty sealed-empty
expect_success 'open an empty sealed file' hv-seal -d -k key sealed-empty opened-empty
ok 'empty in, empty out' test -f opened-empty -a ! -s opened-empty
expect_success 'seal to a recipient (file)' hv-seal -r rcpt plain sealed-r
expect_success 'seal to a recipient (text)' hv-seal -r "$(cat rcpt)" plain sealed-r2
expect_success 'open with the identity' hv-seal -d -i id sealed-r opened-r
ok 'recipient mode round trip' cmp -s plain opened-r
expect_success 'a key through a descriptor' sh -c 'hv-seal -d -k /dev/fd/3 sealed2 3<key >opened4'
ok 'same bytes with the key on fd 3' cmp -s plain opened4

expect_failure 65 'another context is bad data' hv-seal -d -k key -a 'spool:b@x:1' sealed out
ok 'and says why' grep -q "hv-seal: 'sealed': header does not authenticate" "$T/.err"
ok 'no output file was left' test ! -e out
expect_failure 77 'another key is a permission error' hv-seal -d -k key2 -a 'spool:a@x:1' sealed out
ok 'naming the key id' grep -q 'sealed to another key (the file names key [0-9a-f]\{16\}, this is key [0-9a-f]\{16\})' "$T/.err"
expect_failure 77 'a symmetric key for a recipient file' hv-seal -d -k key sealed-r out
head -c 200000 sealed >cut
expect_failure 65 'a truncated file' hv-seal -d -k key -a 'spool:a@x:1' cut out
ok 'leaves no output file' test ! -e out
ok 'and no temporary file' sh -c '! ls out.tmp.* 2>/dev/null | grep -q .'
head -c $((82 + 65552)) sealed >cut2
expect_failure 65 'a file cut at a segment boundary' hv-seal -d -k key -a 'spool:a@x:1' cut2 out
(cat sealed; printf x) >long
expect_failure 65 'a byte appended' hv-seal -d -k key -a 'spool:a@x:1' long out
cp sealed flipped
printf '\001' | dd of=flipped bs=1 seek=150000 conv=notrunc 2>/dev/null
expect_failure 65 'a flipped byte in the body' hv-seal -d -k key -a 'spool:a@x:1' flipped out
expect_failure 65 'a flipped byte: on stdout too' sh -c 'hv-seal -d -k key -a spool:a@x:1 flipped >out'
ok 'a regular-file stdout is cut back to nothing' test ! -s out
rm -f out
expect_failure 65 'an empty file' hv-seal -d -k key empty out
ok 'says so' grep -q 'empty input: not a sealed file' "$T/.err"
expect_failure 65 'a file that is not sealed' hv-seal -d -k key plain out
expect_failure 66 'a missing input' hv-seal -d -k key nosuchfile out
expect_failure 66 'a missing key file' hv-seal -d -k nosuchkey sealed out
chmod 644 key
expect_failure 77 'a key file others can read' hv-seal -d -k key sealed out
ok 'is refused with its mode' grep -q "'key' is readable by others (mode 0644)" "$T/.err"
chmod 600 key
expect_failure 65 'a key file that is not a key' hv-seal -d -k plain sealed out

expect_failure 64 'the key and the data both from stdin' sh -c 'cat key | hv-seal -k - >out'
ok 'says why' grep -q 'cannot both come from stdin' "$T/.err"
long=$(head -c 5000 /dev/zero | tr '\0' x)
expect_failure 64 'a context over 4096 bytes' hv-seal -k key -a "$long" plain out
echo 'earlier log lines' >log
expect_failure 65 'a failed open appending to a file' sh -c 'hv-seal -d -k key -a spool:a@x:1 flipped >>log'
ok 'leaves what the file held before' test "$(cat log)" = 'earlier log lines'
printf '[keys]\nmaster = "command:cat >/dev/null; cat %s/key"\n' "$T" >"$HV_CONFIG"
expect_success 'a key command does not eat the data on stdin' sh -c 'hv-seal <plain >sealed-c'
ok 'all the data was sealed' test "$(stat -c %s sealed-c)" = "$(stat -c %s sealed)"
: >"$HV_CONFIG"

expect_success 'inspect a sealed file' hv-seal inspect sealed
ok 'inspect prints the header as JSON' grep -q '^{"version":1,"mode":"symmetric","key_id":"[0-9a-f]\{16\}","segment":65536,"header":82,"size":300162}$' "$T/.out"
expect_success 'inspect a recipient file from stdin' sh -c 'hv-seal inspect <sealed-r'
ok 'recipient header' grep -q '"mode":"recipient".*"header":162' "$T/.out"
expect_failure 65 'inspect a file that is not sealed' hv-seal inspect plain

# Without -k: the master key named by the config.
hv-seal keygen master >/dev/null 2>&1
printf '[keys]\nmaster = %s/master\n' "$T" >"$HV_CONFIG"
expect_success 'seal with the master key from the config' hv-seal plain sealed-m
expect_success 'open with it' hv-seal -d sealed-m opened-m
ok 'master key round trip' cmp -s plain opened-m
expect_failure 77 'the raw master key is not the seal key' hv-seal -d -k master sealed-m out
printf '[keys]\nmastr = x\n' >"$HV_CONFIG"
expect_failure 78 'an unknown config key' hv-seal plain out
ok 'names file and line' grep -q "hv.conf:2: unknown key 'mastr'" "$T/.err"
expect_failure 66 'a missing -c file' hv-seal -c "$T/none.conf" plain out

done_testing
