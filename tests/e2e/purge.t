#!/bin/sh
# hv-purge end to end: keys before files, dry run, the test clock, stats
# against known ages, what is left alone, refusal of a disk spool, and an
# erasure that leaves no trace in the state directory.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
fstype() { stat -f -c %T "$1" 2>/dev/null; }
on_memory() { case $(fstype "$1") in tmpfs|ramfs) true ;; *) false ;; esac; }

SHM=
if on_memory "$T"; then
	SP=$T/spool
elif on_memory /dev/shm; then
	SHM=$(mktemp -d /dev/shm/hv-purge.XXXXXX)
	SP=$SHM/spool
	trap '_cleanup; rm -rf "$SHM"' EXIT
else
	SP=$T/spool
	echo "# no tmpfs here: the spool is allowed on disk"
fi
on_memory "$(dirname "$SP")" && ALLOW=no || ALLOW=yes
export HV_SPOOL_KEYS=files

config() {	# spool allow_disk
	cat >"$HV_CONFIG" <<EOF
[paths]
state = $T/state/hv.db
spool = $1
audit = $T/audit/audit.log
[keys]
master = $T/master.key
[spool]
allow_disk = $2
[team "support"]
source = src@example.com
members = alice@example.com bob@example.com
EOF
}
config "$SP" "$ALLOW"

NOW=$(date +%s)
E=$((NOW / 60))
# mkfile NAME AGE: a spool entry of that age (content does not matter to purge)
mkfile() { printf 'sealed' >"$SP/$1"; touch -d "@$((NOW - $2))" "$SP/$1"; }
# mkkey EPOCH: an epoch key file
mkkey() { head -c 32 /dev/urandom >"$SP/keys/$1.key"; chmod 600 "$SP/keys/$1.key"; }
json() { jq -r "$1" "$T/.out"; }

expect_success '--help exits 0' hv-purge --help
ok 'and prints the usage' grep -q '^usage: hv-purge \[-n | --dry-run\]' "$T/.out"
expect_failure 64 'an unknown command' hv-purge frobnicate
unknown_command hv-purge erse erase
expect_failure 64 'a bad ttl says why' hv-purge --ttl soon
ok 'on one line, then the usage' sh -c "head -n 1 '$T/.err' | grep -q \"^hv-purge: bad ttl 'soon'\" && sed -n 2p '$T/.err' | grep -q '^usage:'"
expect_failure 64 'a bad ttl' hv-purge --ttl soon
expect_failure 64 '--dry-run is for purging only' hv-purge stats --dry-run
expect_failure 64 'erase needs an account' hv-purge erase
expect_success '-V' hv-purge -V
expect_success 'hv-auth init' hv-auth init

expect_success 'purge an empty spool' hv-purge
ok 'a report line' test "$(json '[.keys,.expired,.kept,.oldest] | @csv')" = '0,0,0,'
ok 'the spool is 0700' test "$(stat -c %a "$SP")" = 700

mkdir -p "$SP/keys"
mkkey $((E - 12))
mkkey "$E"
mkfile "$((E - 12)).support.old1.hvs" 720
mkfile "$((E - 12)).support.old2.hvs" 725
mkfile "$((E - 12)).support.old3.hvs" 730
mkfile "$E.support.new1.hvs" 5
mkfile "$E.support.new2.hvs" 20
mkfile README 5000
mkfile "$E.support..hvs" 5000

expect_success 'dry run' hv-purge --dry-run
ok 'says which key would go' test "$(jq -r 'select(.would == "destroy key") | .epoch' "$T/.out")" = $((E - 12))
ok 'and which files' test "$(grep -c '"would":"remove"' "$T/.out")" = 3
ok 'and reports' test "$(tail -n 1 "$T/.out" | jq -c '[.keys,.expired,.kept,.dry_run]')" = '[1,3,2,true]'
ok 'destroying nothing' test -e "$SP/keys/$((E - 12)).key" -a -e "$SP/$((E - 12)).support.old1.hvs"

expect_success 'purge' hv-purge
ok 'one key, three expired files, two kept' test "$(json '[.keys,.expired,.done,.kept,.foreign] | @csv')" = '1,3,0,2,2'
ok 'the oldest survivor is 20 s old' test "$(json .oldest)" -ge 20 -a "$(json .oldest)" -le 22
ok 'the expired key is gone' test ! -e "$SP/keys/$((E - 12)).key"
ok 'the live one is not' test -e "$SP/keys/$E.key"
ok 'expired files gone' test -z "$(ls "$SP" | grep old)"
ok 'the foreign file is named' grep -q "'$SP/README': not a spool file: left alone" "$T/.err"
ok 'and left alone' test -e "$SP/README" -a -e "$SP/$E.support..hvs"

expect_success 'an hour later by the test clock' env HV_TEST_CLOCK_OFFSET=3600 hv-purge
ok 'the last key and files go' test "$(json '[.keys,.expired,.kept] | @csv')" = '1,2,0'
ok 'no key file left' test -z "$(ls "$SP/keys" | grep key)"

expect_success 'the trail verifies' hv-audit verify
hv-audit query 'select(.action == "epoch.destroy" or .action == "spool.purge") | [.action, .target.epoch, (.target.files // ""), .target.cause] | @csv' | jq -r . >events
ok 'an epoch.destroy per key' test "$(grep -c '^"epoch.destroy"' events)" = 2
ok 'a spool.purge per epoch with its count' grep -q "^\"spool.purge\",\"$((E - 12))\",\"3\",\"expired\"" events
ok 'the trail names no file' test "$(grep -c 'hvs\|old1' "$T/audit/audit.log")" = 0

# A key file others can read is destroyed at once.
mkkey "$E"
chmod 644 "$SP/keys/$E.key"
expect_success 'a readable key file' hv-purge
ok 'is named' grep -q "'$SP/keys/$E.key': epoch key others could read: destroyed" "$T/.err"
ok 'and destroyed' test ! -e "$SP/keys/$E.key"
rm -f "$SP/README" "$SP/$E.support..hvs"

# Stats against known ages: 10 files of 10, 20, ... 100 s.
i=1
while [ $i -le 10 ]; do mkfile "$E.support.s$i.hvs" $((i * 10)); i=$((i + 1)); done
# The ages are as of NOW; the tools read the clock a little later, so an
# age may be late by the seconds elapsed since.
late() { echo $(($(date +%s) - NOW)); }
agrees() {	# set want: the set's [p50,p99,max] is want, each late by 0..late
	jq -e -s --argjson late "$(late)" --argjson want "$2" 'map(select(.set == "'"$1"'"))[0] |
	    [[.p50, .p99, .max], $want] | transpose |
	    all(.[0] - .[1] | . >= 0 and . <= $late)' "$T/.out" >/dev/null
}
expect_success 'stats -j' hv-purge stats -j
ok 'the spool: count and bytes' test "$(jq -c 'select(.set == "spool") | [.count,.bytes]' "$T/.out")" = '[10,60]'
ok 'the spool: p50, p99, max' agrees spool '[50,100,100]'
expect_success 'purged ten minutes later' env HV_TEST_CLOCK_OFFSET=600 hv-purge
expect_success 'stats then' env HV_TEST_CLOCK_OFFSET=600 hv-purge stats
ok 'JSON when stdout is not a terminal: purged in the hour' \
    test "$(jq -c 'select(.set == "purged_1h") | .count' "$T/.out")" = 13
ok 'their p50, p99, max' agrees purged_1h '[670,730,730]'
if script -qec true /dev/null >/dev/null 2>&1; then
	script -qec 'hv-purge stats' /dev/null >table
	ok 'a table on a terminal' grep -q '^SET  *COUNT  *BYTES  *P50  *P99  *MAX' table
else
	ok '# SKIP no script(1) for a terminal' true
fi

# A spool on persistent storage.
DISK=
for d in "$T" /var/tmp "$HV_TOP"; do
	if ! on_memory "$d" && [ -w "$d" ]; then DISK=$(mktemp -d "$d/hv-disk.XXXXXX") && break; fi
done
if [ -n "$DISK" ]; then
	config "$DISK/spool" no
	expect_failure 78 'a spool on disk is refused' hv-purge
	ok 'saying how to accept it' grep -q 'allow_disk = yes' "$T/.err"
	config "$DISK/spool" yes
	expect_success 'accepted with allow_disk' hv-purge
	ok 'with a warning' grep -q 'warning: spool .* is on persistent storage' "$T/.err"
	ok 'and a spool.disk event' test "$(hv-audit query 'select(.action == "spool.disk")' | wc -l)" = 1
	rm -rf "$DISK"
else
	ok '# SKIP no persistent directory' true
fi
config "$SP" "$ALLOW"

# Erasure: rows naming alice everywhere, bob's beside them.
DB=$T/state/hv.db
sqlite3 "$DB" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
INSERT INTO accounts (email, kind, scopes, revoked, created, updated) VALUES ('alice@example.com', 1, 'gmail.insert', 0, 1, 1),
  ('bob@example.com', 1, 'gmail.insert', 0, 1, 1);
INSERT INTO secrets (owner, name, blob, expires) VALUES ('alice@example.com', 'refresh_token', X'a11ce5ec7e7a11ce', 0),
  ('bob@example.com', 'refresh_token', X'b0b5ec7e7b0b', 0);
INSERT INTO cursors (account, kind, history_id, updated) VALUES ('alice@example.com', 'labels', 'hist-alice-9876', 1),
  ('bob@example.com', 'labels', 'hist-bob-5432', 1);
INSERT INTO members (team, account) VALUES ('support', 'alice@example.com'), ('support', 'bob@example.com');
INSERT INTO messages (team, mid_hmac, source, source_id, subject, fetched, done) VALUES ('support', X'01', 'src@example.com', 'srcid0001', NULL, 1, 1),
  ('alices', X'02', 'alice@example.com', 'alicesrc77', NULL, 1, 0);
INSERT INTO copies (team, mid_hmac, member, gmail_id, imported) VALUES ('support', X'01', 'alice@example.com', 'gmailalice42', 1),
  ('support', X'01', 'bob@example.com', 'gmailbob42', 1),
  ('alices', X'02', 'bob@example.com', 'gmailbobfromalice', 1);
EOF
ROWS=7
if [ "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE name = 'labels'")" = 1 ]; then
	sqlite3 "$DB" "INSERT INTO labels (team, mid_hmac, member, label, kind) VALUES
	    ('support', X'01', 'alice@example.com', X'a11ce1abe1', 1)"
	ROWS=8
fi
trace() { cat "$DB" "$DB-wal" "$DB-shm" 2>/dev/null | grep -a -c -e alice -e a11ce -e hist-alice -e gmailalice -e alicesrc; }
ok 'alice is in the state database before' test "$(trace)" -gt 0
expect_failure 64 'erase refuses what is not an account' hv-purge erase hv
# A backup killed mid-snapshot, or one running now: its plaintext copy
# holds alice's rows, so the erasure takes it too.
echo 'SQLite format 3' >"$(dirname "$SP")/hv-snapshot.$$.AbCdEf"
expect_success 'erase alice' hv-purge erase alice@example.com
ok 'and a plaintext backup snapshot with it' test ! -e "$(dirname "$SP")/hv-snapshot.$$.AbCdEf"
ok 'reports the rows' test "$(json .rows)" = $ROWS
H=$(json .account_hmac)
ok 'and the HMAC that names it' test "${#H}" = 32
ok 'no trace of alice in the database, its WAL or shm' test "$(trace)" = 0
ok 'nor anywhere in the state directory' test -z "$(grep -r -a -l -e alice -e a11ce "$T/state")"
ok "bob's rows stay" test "$(sqlite3 "$DB" 'SELECT (SELECT count(*) FROM accounts) || (SELECT count(*) FROM copies) || (SELECT count(*) FROM cursors)')" = 111
hv-audit query 'select(.action == "account.erase") | .target' >erase
ok 'an account.erase event with the HMAC and the count' test "$(jq -r '[.account_hmac, .rows] | @csv' erase)" = "\"$H\",\"$ROWS\""
ok 'not the account' test "$(grep -c alice erase)" = 0
expect_failure 1 'erasing again finds nothing: a negative answer' hv-purge erase alice@example.com
ok 'zero rows' test "$(json .rows)" = 0
ok 'says so on one line' test "$(last_err)" = "hv-purge: no data of 'alice@example.com' found"
expect_failure 1 'a mistyped account likewise' hv-purge erase alcie@example.com
ok 'the request is on the record all the same' test "$(hv-audit query 'select(.action == "account.erase") | .target.rows' | tail -n 1)" = '"0"'

# Where the kernel keyring cannot be used (here add_key and keyctl fail as
# on a kernel without them), epoch keys go to files only when the config
# says so: otherwise the tools refuse, saying why.
cat >nokeyring.c <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

long
syscall(long n, ...)
{
	long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	long a[6];
	va_list ap;
	int i;

	if (n == SYS_add_key || n == SYS_keyctl) {
		errno = ENOSYS;
		return -1;
	}
	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
EOF
if ${CC:-cc} -shared -fPIC -o nokeyring.so nokeyring.c -ldl 2>/dev/null; then
	# Under AddressSanitizer the runtime must come first; the shim only
	# wraps two system calls, so the order does not matter to it.
	nokr() {
		env -u HV_SPOOL_KEYS LD_PRELOAD="$T/nokeyring.so" \
		    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
	}
	expect_failure 78 'no usable keyring and no [spool] keys: refused' nokr hv-purge
	ok 'saying why and what to set' grep -q "the kernel keyring cannot hold the spool's epoch keys here: add_key: .*set \[spool\] keys = files" "$T/.err"
	sed '/^allow_disk/a keys = files' "$HV_CONFIG" >files.conf
	expect_success 'with [spool] keys = files: keys in files' nokr hv-purge -c files.conf
	sed '/^allow_disk/a keys = disk' "$HV_CONFIG" >bad.conf
	expect_failure 78 'keys = anything else is a config error' hv-purge -c bad.conf
	ok 'naming the value' grep -q "bad spool keys 'disk'" "$T/.err"
else
	echo "# no C compiler: keyring refusal not tested"
fi

done_testing
