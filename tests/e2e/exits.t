#!/bin/sh
# Exit codes a cron job can trust (hv(7) EXIT STATUS): a host that does not
# resolve 68, a URL refused when the config is read 78, a path hv may not
# write 77 and one it cannot create 73 (each named), no descriptors 75;
# and strict modes: a config or a directory above it others may write, a
# key others may read, 77 with the chmod that fixes it.  No traffic leaves
# loopback: a .invalid name fails in the resolver.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
emu_config '[team "support"]
source = support@example.com
members = a@example.com'
for u in support a; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json >/dev/null 2>&1
cp "$HV_CONFIG" good.conf

# one_line: the last command said one line on stderr, holding $1.
one_line() {
	[ "$(wc -l <"$T/.err")" -eq 1 ] && grep -qF -- "$1" "$T/.err"
}

# with KEY VALUE: hv.conf with [google] KEY replaced.
with() {
	sed "s|^$1 = .*|$1 = $2|" good.conf >"$HV_CONFIG"
}

# nodac CMD...: CMD without root's power to ignore file modes, so a test
# of "no permission" means the same whoever runs it.
nodac() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --bounding-set=-dac_override,-dac_read_search "$@"
	else
		"$@"
	fi
}

expect_success 'the setup fetches' hv-fetch -t support

# 68: a typo in a host name is not "try again later".
with api https://no-such-host.invalid
expect_failure 68 'an api host that does not resolve exits 68' hv-fetch -t support
ok '... with one line naming the host' one_line no-such-host.invalid

# 78: plain http to a host that is not loopback, refused when read.
with api http://192.0.2.1
expect_failure 78 'api = http://192.0.2.1 is refused when the config is read' hv-purge
ok '... saying why' one_line 'plain http'
with oauth 'http://localhost:x@192.0.2.2:18282'
expect_failure 78 'a user@ in a URL is refused (http://localhost:x@192.0.2.2)' hv-fetch -t support
ok '... saying why' one_line 'user information'
with directory 'http://127.0.0.1.evil.example'
expect_failure 78 'http://127.0.0.1.evil.example is not loopback' hv-purge
printf '[backup]\nendpoint = http://192.0.2.3:9000\n' >>"$HV_CONFIG"
sed -i '/^directory = /d' "$HV_CONFIG"
expect_failure 78 'the backup endpoint is checked too' hv-purge
with api 'HTTP://LOCALHOST:1'
expect_success 'HTTP://LOCALHOST is loopback' hv-purge
cp good.conf "$HV_CONFIG"

# 77: the state directory hv may not write, named.
chmod 500 state
rm -f state/hv.db-wal state/hv.db-shm
expect_failure 77 'a read-only state directory exits 77' nodac hv-auth list
ok '... naming the database' one_line "$T/state/hv.db"
chmod 700 state

# 73: a state path that cannot be created, named.
: >notadir
sed "s|^state = .*|state = $T/notadir/state/hv.db|" good.conf >"$HV_CONFIG"
expect_failure 73 'a state path that cannot be created exits 73' hv-auth init
ok '... naming it' one_line "$T/notadir/state"
cp good.conf "$HV_CONFIG"

# 75: out of descriptors is for a later run.
expect_failure 75 'out of descriptors exits 75' sh -c 'ulimit -n 5; exec hv-auth list'
ok '... saying so' one_line 'Too many open files'

# Strict modes: what others may write is not trusted, what they may read
# is not secret.
chmod 666 "$HV_CONFIG"
expect_failure 77 'hv.conf at 0666 is refused' hv-purge
ok '... with the chmod' one_line "is writable by others (mode 0666): chmod go-w $HV_CONFIG"
chmod 600 "$HV_CONFIG"
expect_success 'hv.conf at 0600 is read' hv-purge
chmod 640 "$HV_CONFIG"
expect_success '... and 0640 too (read, not written, by the group)' hv-purge
chmod 600 "$HV_CONFIG"

chmod 644 master.key
expect_failure 77 'a master key at 0644 is refused' hv-auth list
ok '... with the chmod' one_line "chmod 600 $T/master.key"
chmod 600 master.key

mkdir etc
cp good.conf etc/hv.conf
chmod 770 etc
expect_failure 77 'a group-writable directory above hv.conf is refused' \
    hv-purge -c "$T/etc/hv.conf"
ok '... naming it, with the chmod' one_line "chmod go-w $T/etc"
chmod 700 etc
expect_success '... fixed, it is read' hv-purge -c "$T/etc/hv.conf"

cp "$EMU_CA" ca.pem
sed "s|^ca_file = .*|ca_file = $T/ca.pem|" good.conf >"$HV_CONFIG"
chmod 622 ca.pem
expect_failure 77 'a CA bundle others may write is refused' hv-purge
ok '... with the chmod' one_line "[google] ca_file: '$T/ca.pem' is writable by others"
chmod 644 ca.pem
expect_success '... one others may read is fine' hv-purge
cp good.conf "$HV_CONFIG"

chmod 755 state
expect_failure 77 'a state directory others can read is refused' hv-auth list
ok '... with the chmod' one_line "chmod 700 $T/state"
chmod 700 state
expect_success 'and all is well again' hv-auth list

done_testing
