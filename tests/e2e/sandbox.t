#!/bin/sh
# The sandbox (hv(7) SECURITY): a denied open, write, connect and exec
# inside each tool, narrowed per command, required or off as hv.conf says,
# and the kernel's own view (/proc/PID/status) while a tool runs.
. "$(dirname "$0")/lib.sh"

emu_start --quota off
cd "$T" || exit 1
HV_SPOOL_KEYS=files
export HV_SPOOL_KEYS
emu_config '[team "support"]
source = support@example.com
members = a@example.com'
for u in support a; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
hv-auth init 2>/dev/null && hv-auth service-account sa.json 2>/dev/null
echo 'not for hv' >"$T/secret"
PORT=${EMU_URL##*:}

# probe WHAT TOOL ARGS...: the tool's line about the probe, in $T/probe.
probe() {
	_what=$1
	shift
	HV_TEST_SANDBOX_PROBE=$_what "$@" >/dev/null 2>"$T/probe.err"
	echo $? >"$T/probe.rc"
	grep 'sandbox probe' "$T/probe.err" >"$T/probe"
}
said() { grep -qF -- "$1" "$T/probe"; }

probe "open:$T/secret" hv-purge
ok 'hv-purge: a file outside its paths cannot be opened' said "open:$T/secret: Permission denied"
probe "open:$T/master.key" hv-purge
ok 'hv-purge: its master key can' said 'master.key: allowed'
probe "write:$T/state/probe" hv-purge
ok 'hv-purge: its state directory can be written' said 'allowed'
probe "connect:127.0.0.1:$PORT" hv-purge
ok 'hv-purge: no network at all' said 'Permission denied'

probe "connect:127.0.0.1:9" hv-fetch -t support
ok 'hv-fetch: a port no endpoint names is refused' said "connect:127.0.0.1:9: Permission denied"
probe "connect:127.0.0.1:$PORT" hv-fetch -t support
ok "hv-fetch: the endpoints' port is reached" said 'allowed'
probe "open:$T/secret" hv-fetch -t support
ok 'hv-fetch: nor can it read outside its paths' said 'Permission denied'
probe "open:/etc/shadow" hv-fetch -t support
ok 'hv-fetch: nor /etc/shadow, even as root' said 'Permission denied'

probe "write:$T/state/probe2" hv-audit query
ok 'hv-audit query: reads the trail, writes nothing' said 'Permission denied'
probe "open:$T/state/audit.log" hv-audit query
ok 'hv-audit query: reads the trail' said 'allowed'
probe "open:$T/master.key" hv-audit query
ok 'hv-audit query: and no key' said 'Permission denied'
probe "write:$T/state/probe3" hv-audit log test.sandbox
ok 'hv-audit log: writes the trail' said 'allowed'

probe "exec:/bin/true" hv-purge
ok 'exec is killed by the seccomp filter (SIGSYS)' test "$(cat "$T/probe.rc")" -eq 159
HV_SANDBOX_TRAP=1 HV_TEST_SANDBOX_PROBE=exec:/bin/true hv-purge >/dev/null 2>"$T/trap.err"
ok 'HV_SANDBOX_TRAP=1 names the call instead' grep -q 'hv-purge: sandbox: system call [0-9]* refused' "$T/trap.err"

printf 'hello' >plain
hv-seal keygen k
mkdir out
probe "connect:127.0.0.1:$PORT" hv-seal -k k plain out/sealed
ok 'hv-seal: no network' said 'Permission denied'
probe "open:$T/secret" hv-seal -k k plain out/sealed
ok "hv-seal: only its input and its output's directory" said 'Permission denied'
ok 'and seals' test -s out/sealed

# The kernel's view, while hv-sync waits for its input on a fifo.
mkfifo in.fifo
hv-sync -t support in.fifo >sync.out 2>sync.err &
pid=$!
i=0
while ! grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
cp /proc/$pid/status status 2>/dev/null
exec 3>in.fifo
exec 3>&-
wait $pid
echo $? >sync.rc
ok 'a running tool: Seccomp 2 (filter)' grep -q '^Seccomp:[[:space:]]*2$' status
ok 'a running tool: NoNewPrivs 1' grep -q '^NoNewPrivs:[[:space:]]*1$' status
ok 'and it ran to the end' test "$(cat sync.rc)" -eq 0

# mode = off: nothing in force, the same probes allowed.
sed -i 's/^mode = required$/mode = off/' "$HV_CONFIG"
probe "open:$T/secret" hv-purge
ok 'mode = off: the file opens' said 'allowed'
probe "connect:127.0.0.1:9" hv-fetch -t support
ok 'mode = off: the connect is not refused by a sandbox' said 'Connection refused'
sed -i 's/^mode = off$/mode = sometimes/' "$HV_CONFIG"
expect_failure 78 'a bad mode is a config error' hv-purge
ok 'naming it' grep -q "bad sandbox mode 'sometimes' (auto, required or off)" "$T/.err"

done_testing
