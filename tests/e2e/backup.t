#!/bin/sh
# hv-backup against a real S3-compatible server (s3rver from npm, over TLS
# on loopback), through a recording proxy that can fail on demand, and to a
# directory: snapshots under writes, restore and compare, erasure, keys,
# tampering, outages, credentials, prune, and SigV4 checked by botocore.
. "$(dirname "$0")/lib.sh"

S3DIR=$HV_TOP/tests/.s3rver
S3RVER=$S3DIR/node_modules/s3rver/bin/s3rver.js
if [ ! -f "$S3RVER" ]; then
	mkdir -p "$S3DIR"
	if ! npm install --no-audit --no-fund --no-save --prefix "$S3DIR" s3rver@3.7.1 \
	    >"$T/npm.log" 2>&1; then
		if grep -qiE 'ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENETUNREACH' "$T/npm.log"; then
			echo "1..0 # SKIP npm registry unreachable"
			exit 0
		fi
		echo "Bail out! npm install s3rver failed"
		sed 's/^/# /' "$T/npm.log"
		exit 1
	fi
fi
cd "$T" || exit 1
# The spool's directory is where the plaintext snapshot goes when it is a
# tmpfs: a private one under /dev/shm, so the test can see it left nothing.
SHM=$(mktemp -d /dev/shm/hv-test.XXXXXX)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A CA and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=hv-test-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile srv.ext -out srv.pem 2>/dev/null

S3PORT=$(free_port)
mkdir s3data
node "$S3RVER" -d "$T/s3data" -a 127.0.0.1 -p "$S3PORT" --key srv.key --cert srv.pem \
    --configure-bucket backups -s >s3rver.log 2>&1 &
s3pid=$!
PXPORT=$(free_port)
echo pass >proxy.mode
node "$HV_TOP/tests/e2e/s3proxy.js" "$PXPORT" "$S3PORT" srv.key srv.pem ca.pem \
    "$T/proxy.log" "$T/proxy.mode" >proxy.out 2>&1 &
pxpid=$!
wpid=
trap 'kill $s3pid $pxpid $wpid 2>/dev/null; wait 2>/dev/null; rm -rf "$SHM"; _cleanup' EXIT
trap 'exit 1' HUP INT PIPE TERM
i=0
while ! curl -s -o /dev/null --cacert ca.pem "https://127.0.0.1:$S3PORT/" && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
while ! grep -q ready proxy.out && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done

# s3rver's one account; it checks the access key id, not the signature.
printf 'access_key = S3RVER\nsecret_key = S3RVER\n' >creds
printf 'access_key = NOBODY\nsecret_key = S3RVER\n' >creds.wrong
chmod 600 creds creds.wrong
hv-seal keygen -p id.key 2>rec.txt
hv-seal keygen -p other.key 2>/dev/null
REC=$(sed -n 's/^recipient: //p' rec.txt)

# conf FILE ENDPOINT TARGETS [extra lines]
conf() {
	cat >"$1" <<CONF
[paths]
state = $T/state/hv.db
spool = $SHM/spool
audit = $T/state/audit.log
[keys]
master = $T/master.key
[backup]
to = $3
endpoint = $2
region = eu-west-3
credentials = $T/creds
ca_file = $T/ca.pem
recipient = $REC
${4:-}
CONF
}
S3URL=https://127.0.0.1:$S3PORT
PXURL=https://127.0.0.1:$PXPORT
conf "$HV_CONFIG" "$S3URL" "s3://backups/hv $T/dir"
conf px.conf "$PXURL" "s3://backups/hv"
conf down.conf "https://127.0.0.1:1" "s3://backups/hv"
conf wrong.conf "$S3URL" "s3://backups/hv" "credentials = $T/creds.wrong"
sed -i '/^credentials = .*creds$/d' wrong.conf

expect_success 'hv-auth init makes a store' hv-auth init
db=state/hv.db
# Big enough for a multipart upload (parts of 32 MiB).
sqlite3 $db "INSERT INTO accounts VALUES ('a@example.com', 1, 's', 0, 1, 1);
    INSERT INTO accounts VALUES ('gone@example.com', 1, 's', 0, 1, 1);
    INSERT INTO secrets VALUES ('gone@example.com', 'refresh_token', x'00112233', 0);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
    INSERT INTO secrets SELECT 'a@example.com', 'blob' || i, randomblob(1048576), 0 FROM n;"

expect_failure 64 'verify without an identity is a usage error' hv-backup verify
expect_failure 64 'an unknown command' hv-backup frobnicate
unknown_command hv-backup prnue prune
expect_failure 64 'an option of another command says which' hv-backup -j create
ok 'on one line, then the usage' sh -c "head -n 1 '$T/.err' | grep -qx 'hv-backup: -j is for list only' && sed -n 2p '$T/.err' | grep -q '^usage:'"
expect_success '-h prints the usage' hv-backup -h
ok 'which names every command' sh -c 'hv-backup -h | grep -q "restore -i identity"'

# Create while another process writes: pairs of rows in one transaction each.
( i=0; while [ ! -f "$T/stop.writer" ] && [ -d "$T/state" ]; do
	sqlite3 $db "PRAGMA busy_timeout=10000; BEGIN IMMEDIATE;
	    INSERT INTO meta VALUES ('w$i.a', 'x'); INSERT INTO meta VALUES ('w$i.b', 'x'); COMMIT;" >/dev/null ||
	    echo "writer failed at $i" >>"$T/writer.err"
	i=$((i + 1))
done ) &
wpid=$!
sleep 0.3
expect_success 'create while the store is written to' hv-backup create
touch stop.writer
wait $wpid
wpid=
ok 'the writer was never blocked out' test ! -s writer.err
ok 'one line per target' test "$(last_out | wc -l)" -eq 2
b1=$(last_out | head -n 1 | jq -r .name)
ok 'named by UTC time, to the microsecond' sh -c "echo $b1 | grep -Eq '^hv-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.hvb$'"
ok 'stored in the bucket under the prefix' test -n "$(find s3data/backups -path "*hv/$b1*" | head -n 1)"
ok 'and in the directory, 0600' test "$(stat -c %a dir/$b1)" = 600
ok 'the directory copy is sealed (hv-seal inspect)' sh -c "hv-seal inspect dir/$b1 | grep -q '\"mode\":\"recipient\"'"
ok 'no plaintext left in the scratch directory' test -z "$(ls "$SHM")"
expect_success 'list shows it' hv-backup list
ok 'on both targets' test "$(last_out | grep -c "\"$b1\"")" -eq 2

expect_success 'verify the newest' hv-backup verify -i id.key
v=$(sqlite3 $db 'PRAGMA user_version')
ok "on both targets, schema $v" test "$(last_out | grep -c "\"schema\":$v,\"ok\":true")" -eq 2
expect_failure 77 'verify with another identity: cannot be opened' hv-backup verify -i other.key "$b1"
ok 'one line per target, each error once' test "$(last_err | wc -l)" -eq 2

# The origin: each copy is signed with the host's checkpoint key, which
# verify -p checks. Anyone who has the recipient can seal a backup: one
# sealed again to the same recipient, in place of the host's, fails it.
hv-audit pubkey >host.pub
expect_success 'verify -p with the host checkpoint key' hv-backup verify -i id.key -p host.pub "$b1"
ok 'on both targets' test "$(last_out | grep -c '"ok":true')" -eq 2
ok 'a signature beside each copy' test -s "dir/$b1.sig"
hv-seal -d -i id.key -a "backup:$b1" "dir/$b1" forged.db
sqlite3 forged.db "INSERT INTO accounts VALUES ('mallory@example.com', 1, 's', 0, 1, 1)"
hv-seal -r "$REC" -a "backup:$b1" forged.db forged.hvb
cp "dir/$b1" orig.hvb
cp forged.hvb "dir/$b1"
expect_success 'a backup sealed again elsewhere passes verify without -p' hv-backup verify -i id.key "$b1"
expect_failure 65 'but not verify -p' hv-backup verify -i id.key -p host.pub "$b1"
ok 'which names the copy that is not the host'"'"'s' grep -q "not signed by the checkpoint key given" "$T/.err"
sed "s|^to = .*|to = $T/dir|" "$HV_CONFIG" >dironly.conf
expect_failure 65 'nor restore -p, which puts nothing in place' \
    hv-backup -c dironly.conf restore -i id.key -p host.pub --to "$T/forged-r/hv.db" "$b1"
ok 'nothing restored' test ! -e "$T/forged-r/hv.db"
mv "dir/$b1.sig" orig.sig
expect_failure 65 'nor does a copy without its signature' hv-backup verify -i id.key -p "$(cat host.pub)" "$b1"
ok 'saying so' grep -q "no signature" "$T/.err"
cp orig.hvb "dir/$b1"
mv orig.sig "dir/$b1.sig"
rm -f forged.db forged.hvb orig.hvb
expect_success 'restore -p of the host'"'"'s own' \
    hv-backup -c dironly.conf restore -i id.key -p host.pub --to "$T/signed-r/hv.db" "$b1"
expect_failure 64 '-p is for verify and restore only' hv-backup -p host.pub list
expect_success 'restore to a new path' hv-backup restore -i id.key --to "$T/r1/hv.db" "$b1"
ok 'restored 0600' test "$(stat -c %a r1/hv.db)" = 600
pairs=$(sqlite3 r1/hv.db "SELECT count(*) FROM meta WHERE key LIKE 'w%'")
ok "a consistent snapshot: writes whole ($pairs rows)" test $((pairs % 2)) -eq 0
ok 'integrity ok' test "$(sqlite3 r1/hv.db 'PRAGMA integrity_check')" = ok
expect_failure 73 'restore over an existing file is refused' \
    hv-backup restore -i id.key --to "$T/r1/hv.db" "$b1"

# Every table compared, with nothing writing; made at once, in the same
# second as the one before as often as not.
expect_success 'create from a quiet store' hv-backup create
b2=$(last_out | head -n 1 | jq -r .name)
ok 'a name of its own' test "$b2" != "$b1"
expect_success 'restore it' hv-backup restore -i id.key --to "$T/r2/hv.db" "$b2"
same=1
for t in $(sqlite3 $db "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
	sqlite3 $db "SELECT * FROM $t ORDER BY 1, 2" | md5sum >a.sum
	sqlite3 r2/hv.db "SELECT * FROM $t ORDER BY 1, 2" | md5sum >b.sum
	cmp -s a.sum b.sum || { echo "# table $t differs"; same=0; }
done
ok 'every table restored as it was' test $same -eq 1
ok 'and the schema version' test "$(sqlite3 r2/hv.db 'PRAGMA user_version')" = "$(sqlite3 $db 'PRAGMA user_version')"

# A create killed in VACUUM INTO leaves its plaintext snapshot behind: the
# next create removes it, as its maker is gone, and leaves a running one's.
dead=$(sh -c 'echo $$')
echo 'SQLite format 3' >"$SHM/hv-snapshot.$dead.AbCdEf"
echo 'SQLite format 3' >"$SHM/hv-snapshot.$dead.AbCdEf-journal"
echo 'SQLite format 3' >"$SHM/hv-snapshot.$$.XyZxYz"
expect_success 'create after a killed one' hv-backup create
ok 'removes the plaintext snapshot it left' test ! -e "$SHM/hv-snapshot.$dead.AbCdEf"
ok 'and its journal' test ! -e "$SHM/hv-snapshot.$dead.AbCdEf-journal"
ok 'but not the one of a run still going' test -e "$SHM/hv-snapshot.$$.XyZxYz"
rm -f "$SHM/hv-snapshot.$$.XyZxYz"

# An erased account is absent from backups made after, free pages included.
sqlite3 $db "DELETE FROM secrets WHERE owner = 'gone@example.com';
    DELETE FROM accounts WHERE email = 'gone@example.com';"
sleep 1
expect_success 'create after an erasure' hv-backup create
b3=$(last_out | head -n 1 | jq -r .name)
expect_success 'restore it' hv-backup restore -i id.key --to "$T/r3/hv.db" "$b3"
ok 'the account is gone' test "$(sqlite3 r3/hv.db "SELECT count(*) FROM accounts WHERE email = 'gone@example.com'")" = 0
ok 'not a byte of it in the file' sh -c "! grep -q gone@example r3/hv.db"
ok 'the earlier backup still had it' test "$(sqlite3 r2/hv.db "SELECT count(*) FROM accounts WHERE email = 'gone@example.com'")" = 1

# --force restores over a live store, under its lock.
expect_success 'restore --force over the live store' hv-backup restore -i id.key --force "$b2"
ok 'the live store holds the restored content' test "$(sqlite3 $db "SELECT count(*) FROM accounts WHERE email = 'gone@example.com'")" = 1

# Tampered and truncated objects, put there through the S3 API itself.
s3put() {	# key file
	curl -s -f -o /dev/null --cacert ca.pem --aws-sigv4 aws:amz:eu-west-3:s3 \
	    --user S3RVER:S3RVER -H "x-amz-content-sha256: $(sha256sum "$2" | cut -d' ' -f1)" \
	    -T "$2" "$S3URL/backups/$1"
}
cp dir/$b1 tampered
printf 'X' | dd of=tampered bs=1 seek=5000 conv=notrunc 2>/dev/null
head -c 70000 dir/$b1 >truncated
tname=hv-20200101T000000Z.hvb
uname=hv-20200102T000000Z.hvb
s3put hv/$tname tampered
s3put hv/$uname truncated
conf s3only.conf "$S3URL" "s3://backups/hv"
expect_failure 65 'verify refuses a tampered object' hv-backup -c s3only.conf verify -i id.key $tname
expect_failure 65 'verify refuses a truncated object' hv-backup -c s3only.conf verify -i id.key $uname
s3put hv/hv-20200103T000000Z.hvb dir/$b1
expect_failure 65 'verify refuses a backup under another name (context bound)' \
    hv-backup -c s3only.conf verify -i id.key hv-20200103T000000Z.hvb
cp dir/$b1 dir/hv-20200104T000000Z.hvb
head -c 1000 dir/$b1 >dir/hv-20200105T000000Z.hvb
conf dironly.conf "$S3URL" "$T/dir"
expect_failure 65 'a renamed file in a directory too' hv-backup -c dironly.conf verify -i id.key hv-20200104T000000Z.hvb
expect_failure 65 'a truncated file in a directory too' hv-backup -c dironly.conf verify -i id.key hv-20200105T000000Z.hvb
ok 'said once, on one line' test "$(last_err | wc -l)" -eq 1
expect_failure 65 'restore refuses it as well' hv-backup -c dironly.conf restore -i id.key --to "$T/r4/hv.db" hv-20200105T000000Z.hvb
ok 'and leaves nothing at the destination' test ! -e r4/hv.db
rm dir/hv-2020010[45]T000000Z.hvb
# A backup under a name of the older form (to the second) is still one.
old=hv-20200106T000000Z.hvb
sqlite3 r2/hv.db ".backup '$T/old.db'"
hv-seal -r "$REC" -a "backup:$old" old.db dir/$old
expect_success 'an older name is listed' hv-backup -c dironly.conf list -j
ok 'among the others' sh -c "hv-backup -c dironly.conf list -j | grep -q '\"$old\"'"
expect_success 'verified' hv-backup -c dironly.conf verify -i id.key $old
expect_success 'and restored' hv-backup -c dironly.conf restore -i id.key --to "$T/r5/hv.db" $old
ok 'listed by time: the older name first' test "$(hv-backup -c dironly.conf list -j | head -n 1 | jq -r .name)" = $old
rm dir/$old
expect_success 'every listed name' hv-backup -c s3only.conf list -j
before=$(last_out | wc -l)

# Outages: nothing half written counts as a backup.
sleep 1
expect_failure 75 'an unreachable target is a temporary failure' hv-backup -c down.conf create
echo 500 >proxy.mode
expect_failure 75 'a target answering 500 likewise' hv-backup -c px.conf create
echo get500 >proxy.mode
expect_failure 75 'a read-back that fails: not a backup' hv-backup -c px.conf create
echo part2 >proxy.mode
: >proxy.log
expect_failure 75 'a multipart upload failing half way: not a backup' hv-backup -c px.conf create
# s3rver does not implement AbortMultipartUpload; the request is what we can see.
ok 'the failed upload was aborted' grep -q '"method":"DELETE","url":"[^"]*?uploadId=' proxy.log
echo pass >proxy.mode
expect_success 'list after the failures' hv-backup -c s3only.conf list -j
ok 'no new object on the target' test "$(last_out | wc -l)" -eq "$before"

# Credentials.
expect_failure 77 'an unknown access key (InvalidAccessKeyId) is a permission error' \
    hv-backup -c wrong.conf list
echo 403 >proxy.mode
expect_failure 77 'SignatureDoesNotMatch likewise' hv-backup -c px.conf create
echo pass >proxy.mode
chmod 644 creds
expect_failure 77 'a credentials file others can read is refused' hv-backup -c s3only.conf list
chmod 600 creds

conf path.conf "$S3URL/some/path" "s3://backups/hv"
expect_failure 78 'an endpoint with a path is a configuration error' hv-backup -c path.conf list
conf plain.conf "http://example.com" "s3://backups/hv"
expect_failure 78 'plain http beyond loopback is refused' hv-backup -c plain.conf list
conf slash.conf "$S3URL/" "s3://backups/hv"
expect_success 'a trailing slash on the endpoint is fine' hv-backup -c slash.conf list

# SigV4: every request of a create through the proxy, checked by botocore.
: >proxy.log
sleep 1
expect_success 'create through the recording proxy' hv-backup -c px.conf create
ok 'it used a multipart upload' grep -q 'uploads=' proxy.log
# Debian's python3-botocore (scripts/deps) first, then whatever python3 has.
py=/usr/bin/python3
$py -c 'import botocore' 2>/dev/null || py=python3
expect_success 'every signature matches botocore, every payload hash the body' \
    $py "$HV_TOP/tests/e2e/sigv4-check.py" proxy.log S3RVER S3RVER eu-west-3
last_out | sed 's/^/# /'

# The audit trail.
ok 'backups are in the audit trail' sh -c 'hv-audit query ".action == \"backup.create\" and .outcome == \"ok\"" | grep -q .'
ok 'so are verify and restore' sh -c 'hv-audit query | grep -q backup.verify && hv-audit query | grep -q backup.restore'

# Prune: keep 2, and each of the last 7 days' newest.
conf prune.conf "$S3URL" "$T/pdir" "keep = 2"
sed -i "s|^state = .*|state = $T/small.db|" prune.conf
hv-auth -c prune.conf init >/dev/null 2>&1
now=$(date +%s)
today=$((now - now % 86400))
for d in 0 1 2 3 4 5 6 7 8 9; do
	HV_TEST_CLOCK_OFFSET=$((today - d * 86400 + 60 - now)) hv-backup -c prune.conf create >/dev/null 2>&1
done
HV_TEST_CLOCK_OFFSET=$((today + 120 - now)) hv-backup -c prune.conf create >/dev/null 2>&1
ok 'eleven backups to prune' test "$(ls pdir | grep -c '\.hvb$')" -eq 11
ok 'each with its signature' test "$(ls pdir | grep -c '\.hvb\.sig$')" -eq 11
expect_success 'prune' hv-backup -c prune.conf prune
ok 'deleted the three oldest' test "$(last_out | grep -c '"action":"delete"')" -eq 3
# Compared by day: the clock moves on by a second or so while they are made.
for d in 0 0 1 2 3 4 5 6; do
	date -u -d "@$((today - d * 86400 + 60))" +hv-%Y%m%d
done | sort >kept.want
ls pdir | grep '\.hvb$' | cut -c1-11 | sort >kept.got
ok 'kept the newest two and one a day for the week' cmp -s kept.want kept.got || diff kept.want kept.got | sed 's/^/# /'
ok 'the signatures of the deleted went with them' test "$(ls pdir | grep -c '\.hvb\.sig$')" -eq 8
expect_success 'prune again changes nothing' hv-backup -c prune.conf prune
ok 'nothing deleted' test "$(last_out | grep -c '"action":"delete"')" -eq 0
ok 'prune is in the audit trail' sh -c 'HV_CONFIG=prune.conf hv-audit query ".action == \"backup.prune\"" | grep -q .'

# Backups of a small store, one after the other: several in one second.
expect_success 'three backups at once do not clash' sh -c \
    'for i in 1 2 3; do hv-backup -c prune.conf create || exit; done'
last_out | jq -r .name >made.names
ok 'no progress when stderr is not a terminal' test ! -s "$T/.err"
ok 'three names' test "$(sort -u made.names | wc -l)" -eq 3
hv-backup -c prune.conf list -j | tail -n 3 | jq -r .name >listed.names
ok 'listed in the order they were made' cmp -s made.names listed.names
if command -v script >/dev/null; then
	script -qec 'hv-backup -c prune.conf create >/dev/null' /dev/null >tty.out 2>&1
	ok 'at a terminal create shows its steps' grep -q 'making a snapshot and sealing it' tty.out
	script -qec 'hv-backup -c prune.conf verify -i id.key >/dev/null' /dev/null >tty.out 2>&1
	ok 'and verify its' grep -q 'fetching, opening and checking' tty.out
	script -qec "hv-backup -c prune.conf restore -i id.key --to '$T/r9/hv.db' $(head -n 1 made.names) >/dev/null" /dev/null >tty.out 2>&1
	ok 'and restore its' grep -q 'checking and restoring' tty.out
	script -qec 'hv-backup -q -c prune.conf create >/dev/null' /dev/null >tty.out 2>&1
	ok 'not with -q' test ! -s tty.out
fi

done_testing
