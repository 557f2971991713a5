#!/bin/sh
# hv-auth against the Google emulator: sign-in both ways, service accounts,
# the sealed cache, refresh, revocation, rotation, and what is refused.
. "$(dirname "$0")/lib.sh"

emu_start --token-ttl 400
cd "$T" || exit 1
emu_config '[team "support"]
source = support@example.com
members = a@example.com b@example.com'
for u in support a b c d; do emu POST /_emu/users "{\"email\":\"$u@example.com\"}" >/dev/null; done
emu POST /_emu/users '{"email":"narrow@example.com","grant":["https://www.googleapis.com/auth/gmail.insert"]}' >/dev/null
emu POST /_emu/users '{"email":"no@example.com","deny":true}' >/dev/null

gmail_status() {	# token path
	curl -s -o /dev/null -w '%{http_code}' --cacert "$EMU_CA" \
	    -H "Authorization: Bearer $1" "$EMU_URL/gmail/v1/users/me$2"
}

expect_success 'init creates the master key and the store' hv-auth init
ok 'master key is 0600' test "$(stat -c %a master.key)" = 600
ok 'state database is 0600' test "$(stat -c %a state/hv.db)" = 600
ok 'its directory is 0700' test "$(stat -c %a state)" = 700
expect_success 'init again changes nothing' hv-auth init
cp master.key master.key.orig

expect_failure 66 'token for an unknown account' hv-auth token support@example.com
expect_success 'login through the loopback redirect' login support@example.com
ok 'says what it signed in with' grep -q 'signed in with https://www.googleapis.com/auth/gmail.readonly' "$T/login.err"
expect_success 'a token for it' hv-auth token support@example.com
tok1=$(last_out)
ok 'the token works at Gmail' test "$(gmail_status "$tok1" /profile)" = 200
expect_success 'a second call answers from the cache' hv-auth token support@example.com
ok 'with the same token' test "$(last_out)" = "$tok1"

# The pasted-URL flow: the browser is elsewhere; its final address comes back.
mkfifo paste
rm -f "$T/login.err"
hv-auth login -t 20 --no-browser a@example.com <paste 2>"$T/login.err" &
pid=$!
exec 3>paste
url=$(consent_url "$T/login.err")
loc=$(curl -s -o /dev/null -w '%{redirect_url}' --cacert "$EMU_CA" "$url")
echo "$loc" >&3
exec 3>&-
wait $pid
ok 'login --no-browser takes the pasted redirect URL' test $? -eq 0
ok 'asks for it' grep -q 'paste here the address' "$T/login.err"
ok 'a member gets insert and labels' sh -c 'hv-auth list -j | grep "\"a@example.com\"" | grep -q "gmail.insert https://www.googleapis.com/auth/gmail.labels"'

mkfifo paste2
rm -f "$T/login.err"
hv-auth login -t 20 --no-browser b@example.com <paste2 2>"$T/login.err" &
pid=$!
exec 3>paste2
url=$(consent_url "$T/login.err")
loc=$(curl -s -o /dev/null -w '%{redirect_url}' --cacert "$EMU_CA" "$url")
echo "$loc" | sed 's/state=[^&]*/state=forged/' >&3
exec 3>&-
wait $pid
ok 'a redirect with another state is refused (77)' test $? -eq 77
ok 'as a forgery' grep -q "state does not match" "$T/login.err"

# A browser signed in to another Google account than the one named.
rm -f "$T/login.err"
hv-auth login -t 20 support@example.com 2>"$T/login.err" &
pid=$!
browse "$(consent_url "$T/login.err" | sed 's/login_hint=support%40/login_hint=c%40/')"
wait $pid
ok 'a grant for another account than the one named is refused (77)' test $? -eq 77
ok 'naming both' grep -q 'the browser signed in as c@example.com, not support@example.com' "$T/login.err"
ok 'and the account keeps its own token' test "$(hv-auth token support@example.com)" = "$tok1"

expect_failure 77 'a narrower grant than asked is refused' login narrow@example.com -s gmail.insert,gmail.labels
ok 'naming what is missing' grep -q 'missing https://www.googleapis.com/auth/gmail.labels' "$T/login.err"
ok 'and nothing is kept' sh -c '! hv-auth list -j | grep -q narrow@'
expect_failure 77 'a refused consent' login no@example.com -s gmail.readonly
ok 'says so' grep -q 'sign-in refused: access_denied' "$T/login.err"
expect_failure 78 'an account in no team, without -s' hv-auth login c@example.com

# Any local user can reach the listener: a request without this sign-in's
# state gets a 400 and the listener waits on for the real redirect.
listener_port() { sed -n 's/.*redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\([0-9]*\).*/\1/p'; }
emu POST /_emu/users '{"email":"e@example.com"}' >/dev/null
rm -f "$T/login.err"
hv-auth login -t 20 -s gmail.readonly e@example.com 2>"$T/login.err" &
pid=$!
url=$(consent_url "$T/login.err")
port=$(echo "$url" | listener_port)
ok 'a request without state is answered 400' \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/?error=x")" = 400
ok 'and one with another state' \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/?state=forged&code=x")" = 400
browse "$url"
wait $pid
ok 'the real redirect after them still signs in' test $? -eq 0

# A client that sends a byte every 2 s holds neither the listener past -t
# nor the login: one deadline for the whole wait.
rm -f "$T/login.err"
start=$(date +%s)
hv-auth login -t 3 -s gmail.readonly e@example.com 2>"$T/login.err" &
pid=$!
port=$(consent_url "$T/login.err" | listener_port)
python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for c in b"GET /?state=x":
    try: s.send(bytes([c]))
    except OSError: break
    time.sleep(2)' "$port" 2>/dev/null &
slow=$!
wait $pid
rc=$?
took=$(($(date +%s) - start))
kill $slow 2>/dev/null
wait $slow 2>/dev/null
ok "a trickling client does not stretch -t 3 (exit $rc after ${took}s)" \
    test $rc -eq 75 -a $took -le 5

# Refresh: past the margin the token is refreshed, once for many callers.
emu DELETE /_emu/stats >/dev/null
HV_TEST_CLOCK_OFFSET=150 expect_success 'near expiry, a token is refreshed' hv-auth token support@example.com
tok2=$(last_out)
ok 'into a new token' test "$tok2" != "$tok1"
ok 'that works' test "$(gmail_status "$tok2" /profile)" = 200
emu DELETE /_emu/stats >/dev/null
i=0
pids=
while [ $i -lt 8 ]; do
	HV_TEST_CLOCK_OFFSET=300 hv-auth token support@example.com >"$T/par.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
# Not a bare wait: the emulator is a child too.
for p in $pids; do wait "$p"; done
ok 'eight concurrent callers get one token' test "$(sort -u "$T"/par.* | wc -l)" -eq 1
grants=$(emu GET /_emu/stats | jq '.calls["oauth2.token"] // 0')
ok "and refresh once ($grants token grant)" test "$grants" = 1

# Service accounts: domain-wide delegation, minted per subject.
emu POST /_emu/service-accounts '{"domain":"example.com"}' >sa.json
chmod 600 sa.json
expect_success 'record a service account' hv-auth service-account -D example.com sa.json
SA=$(jq -r .client_email sa.json)
ok 'and say so' test "$(last_err)" = "hv-auth: service account $SA for example.com stored"
ok 'list -j shows it and its domain' sh -c "hv-auth list -j | grep -qxF '{\"account\":\"$SA\",\"kind\":\"service\",\"domain\":\"example.com\"}'"
ok 'never its key' sh -c '! hv-auth list -j | grep -q -i -e private -e BEGIN'
command -v script >/dev/null &&
    ok 'the table on a terminal too' sh -c "script -qec 'hv-auth list' /dev/null | grep -q '^$SA *service .*domain example.com'"
expect_success 'quiet with -q' hv-auth -q service-account -D example.com sa.json
ok 'nothing said' test ! -s "$T/.err"
expect_failure 78 'a delegated subject in no team has no scopes to ask' hv-auth token d@example.com
printf '[team "two"]\nsource = d@example.com\nmembers = c@example.com\n' >>"$HV_CONFIG"
expect_success 'a delegated token for c@example.com (a member)' hv-auth token c@example.com
tc=$(last_out)
ok 'lets c list labels' test "$(gmail_status "$tc" /labels)" = 200
ok 'but not read mail' test "$(gmail_status "$tc" /messages)" = 403
expect_success 'a delegated token for another subject' hv-auth token a@example.com
ok 'list shows delegated accounts' sh -c 'hv-auth list -j | grep "\"c@example.com\"" | grep -q "\"kind\":\"delegated\""'

# What must never be in the store in the clear.
ok 'no access token in the state directory' sh -c "! grep -rqF '$tok2' state"
ok 'no refresh token either' sh -c "! grep -rqF '1//0' state"
key_line=$(jq -r .private_key sa.json | sed -n 2p)
ok 'the private key is not there' sh -c "test -n '$key_line' && ! grep -rqF '$key_line' state"

# A sealed row copied onto another account does not open there.
saved=$(sqlite3 state/hv.db "SELECT hex(blob) FROM secrets WHERE owner = 'a@example.com' AND name = 'access_token'")
sqlite3 state/hv.db "UPDATE secrets SET blob = (SELECT blob FROM secrets WHERE owner = 'support@example.com' AND name = 'access_token') WHERE owner = 'a@example.com' AND name = 'access_token'" 2>/dev/null
expect_failure 65 'a row moved to another account is refused' hv-auth token a@example.com
ok 'as a row that does not authenticate' grep -q "sealed access_token of 'a@example.com'" "$T/.err"
sqlite3 state/hv.db "UPDATE secrets SET blob = X'$saved' WHERE owner = 'a@example.com' AND name = 'access_token'"
expect_success 'put back, it opens again' hv-auth token a@example.com

# Failures of the network and of Google.
emu POST /_emu/faults '{"rate":1,"kinds":["reset"],"seed":1}' >/dev/null
HV_TEST_CLOCK_OFFSET=1000 expect_failure 75 'a reset during refresh is temporary' hv-auth token support@example.com
emu POST /_emu/faults '{"rate":0}' >/dev/null
HV_TEST_CLOCK_OFFSET=1000 expect_success 'and the next run refreshes' hv-auth token support@example.com
emu POST /_emu/revoke-user '{"email":"support@example.com"}' >/dev/null
HV_TEST_CLOCK_OFFSET=2000 expect_failure 77 'invalid_grant: revoked at Google' hv-auth token support@example.com
ok 'says how to sign in again' grep -q "Google refused hv's access (.*invalid_grant.*); run hv-auth login support@example.com" "$T/.err"
ok 'and marks the account revoked' sh -c 'hv-auth list -j | grep "\"support@example.com\"" | grep -q "\"revoked\":true"'

# Rotation: every secret re-sealed; the old key opens nothing.
expect_success 'rotate-key' hv-auth rotate-key
ok 'reports what it re-sealed' grep -q 're-sealed [1-9][0-9]* secrets' "$T/.err"
ok 'the new key file is 0600' test "$(stat -c %a master.key)" = 600
expect_success 'tokens still come after rotation' hv-auth token a@example.com
HV_TEST_CLOCK_OFFSET=1000 expect_success 'and refresh after rotation' hv-auth token a@example.com
expect_success 'delegated tokens are minted after rotation' hv-auth token c@example.com
sed "s|^master = .*|master = $T/master.key.orig|" "$HV_CONFIG" >old.conf
expect_failure 77 'the old master key is refused' hv-auth -c old.conf token a@example.com
ok 'as not opening the store' grep -q 'does not open the state database' "$T/.err"

# Revocation: at Google, then locally.
tb=$(hv-auth token b@example.com)
expect_success 'revoke' hv-auth revoke b@example.com
ok 'the revoked token fails at Gmail' test "$(gmail_status "$tb" /labels)" = 401
expect_failure 77 'no token after revoke' hv-auth token b@example.com
ok 'its secrets are gone' test "$(sqlite3 state/hv.db "SELECT count(*) FROM secrets WHERE owner = 'b@example.com'")" = 0

# Bad files.
printf '{"web":{}}' >bad-client.json; chmod 600 bad-client.json
sed "s|^client = .*|client = $T/bad-client.json|" "$HV_CONFIG" >bad.conf
expect_failure 65 'a client file that is not a Desktop client' hv-auth -c bad.conf login a@example.com
ok 'says what it is not' grep -q 'not a Desktop app client file' "$T/.err"
chmod 644 bad-client.json
expect_failure 77 'a client file others can read' hv-auth -c bad.conf login a@example.com
printf '{"type":"service_account"}' >bad-sa.json; chmod 600 bad-sa.json
expect_failure 65 'a malformed service-account key file' hv-auth service-account -D example.com bad-sa.json
chmod 644 sa.json
expect_failure 77 'a key file others can read' hv-auth service-account -D example.com sa.json
expect_failure 64 'an unknown command' hv-auth frobnicate
unknown_command hv-auth lsit list
expect_failure 64 'token without an account' hv-auth token

# Revoking when Google is away: local secrets go, exit 75 says so.
emu_stop
expect_failure 75 'revoke with Google unreachable' hv-auth revoke a@example.com
ok 'says Google was not told' grep -q 'but Google was not told' "$T/.err"
ok 'yet the secrets are erased' test "$(sqlite3 state/hv.db "SELECT count(*) FROM secrets WHERE owner = 'a@example.com'")" = 0

# The trail: every grant, refresh, use, revocation and rotation, no secret.
for action in token.mint token.refresh token.revoke key.rotate key.refuse; do
	ok "the audit trail records $action" grep -q "\"action\":\"$action\"" state/audit.log
done
ok 'and holds no access token' test -z "$(grep -F "$tok2" state/audit.log)"
ok 'nor a refresh token' test -z "$(grep -F '1//0' state/audit.log)"
expect_success 'and verifies' hv-audit verify

done_testing
