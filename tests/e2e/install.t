#!/bin/sh
# make install into a DESTDIR: the layout an administrator gets (binaries,
# manual pages, the example hv.conf, systemd units and timers, the wrapper
# they run, the cron file, tmpfiles, bash and zsh completion), modes, units
# that systemd-analyze accepts, completion that loads, and make uninstall
# that leaves nothing but empty directories.  The builder's CFLAGS,
# CPPFLAGS and LDFLAGS come after the project's.
. "$(dirname "$0")/lib.sh"

skip() { _n=$((_n + 1)); echo "ok $_n # SKIP $1"; }
# The tools are what cmd/ holds, so a new one is checked without a word here.
TOOLS=$(cd "$HV_TOP/cmd" && ls *.c | sed 's/\.c$//')
UNITS="hv-sync@.service hv-sync@.timer hv-purge.service hv-purge.timer
hv-backup.service hv-backup.timer hv-audit-checkpoint.service
hv-audit-checkpoint.timer hv-audit-verify.service hv-audit-verify.timer"
R=$T/root
M="make -s -C $HV_TOP"

mode() { stat -c %a "$1"; }
# every FILE... has MODE
modes() {
	_m=$1; shift
	for _f; do
		[ -f "$_f" ] || { echo "#   missing: $_f"; return 1; }
		[ "$(mode "$_f")" = "$_m" ] || { echo "#   $_f: mode $(mode "$_f"), want $_m"; return 1; }
	done
}

expect_success 'make install DESTDIR PREFIX=/usr' $M install DESTDIR="$R" PREFIX=/usr
bins= man1= bash=
for t in $TOOLS; do
	bins="$bins $R/usr/bin/$t"
	bash="$bash $R/usr/share/bash-completion/completions/$t"
done
for p in "$HV_TOP"/man/*.[157]; do
	s=${p##*.}
	man1="$man1 $R/usr/share/man/man$s/${p##*/}"
done
ok 'every tool in bin, 0755' modes 755 $bins
ok 'every page in man1, man5, man7, 0644' modes 644 $man1
ok 'the wrapper in libexec, 0755' modes 755 "$R/usr/libexec/hv/hv-sync-team"
ok 'the example hv.conf, 0644' modes 644 "$R/usr/share/doc/hv/examples/hv.conf"
units=
for u in $UNITS; do units="$units $R/usr/lib/systemd/system/$u"; done
ok 'every directory 0755, whatever the umask' \
	[ -z "$(find "$R" -type d ! -perm 755)" ]
ok 'every unit and timer, 0644' modes 644 $units
ok 'the cron file and tmpfiles, 0644' modes 644 "$R/etc/cron.d/hv" "$R/usr/lib/tmpfiles.d/hv.conf"
ok 'bash completion of every tool, zsh completion, 0644' \
	modes 644 $bash "$R/usr/share/zsh/site-functions/_hv"

# The example: every key of hv.conf(5), and read without complaint.
keys=$(sed -n 's/^\.It Cm \([a-z_]*\) Pq .*/\1/p' "$HV_TOP/man/hv.conf.5" | sort -u)
missing=
for k in $keys; do
	grep -Eq "^#?$k = " "$R/usr/share/doc/hv/examples/hv.conf" || missing="$missing $k"
done
ok "the example names every key of hv.conf(5)${missing:+ (missing:$missing)}" [ -z "$missing" ]
hv-seal -c "$R/usr/share/doc/hv/examples/hv.conf" </dev/null >/dev/null 2>"$T/conf.err"
rc=$?
ok 'the example parses (only its master key is missing)' \
	[ $rc -ne 78 ] && [ $rc -ne 64 ] && ! grep -q 'hv.conf:' "$T/conf.err"
[ $rc -ne 78 ] || sed 's/^/#   /' "$T/conf.err"

# Units: the tools at PREFIX, the hv user, hardened, the spool on /run.
ok 'units run the tools from PREFIX and the wrapper from libexec' \
	grep -q '^ExecStart=/usr/libexec/hv/hv-sync-team -w 30 %i$' "$R/usr/lib/systemd/system/hv-sync@.service"
bad=
for u in $UNITS; do
	case $u in *.service) ;; *) continue ;; esac
	f=$R/usr/lib/systemd/system/$u
	for d in User=hv NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	    PrivateTmp=yes StateDirectory=hv RuntimeDirectory=hv RuntimeDirectoryPreserve=yes \
	    UMask=0077 CapabilityBoundingSet=; do
		grep -qx "$d" "$f" || bad="$bad $u:$d"
	done
	grep '^Exec' "$f" | grep -Eqv '=(/usr/bin/hv-|/usr/libexec/hv/)' && bad="$bad $u:Exec"
done
ok "every service as hv, hardened${bad:+ (not:$bad)}" [ -z "$bad" ]

# systemd-analyze verify needs the commands where the units say: install
# once more under a real PREFIX, and an instance of the template.
if command -v systemd-analyze >/dev/null 2>&1; then
	P=$T/prefix
	$M install PREFIX="$P" SYSCONFDIR="$P/etc" >/dev/null 2>&1
	cd "$P/lib/systemd/system" || exit 1
	cp hv-sync@.service hv-sync@test.service
	cp hv-sync@.timer hv-sync@test.timer
	MANPATH=$P/share/man systemd-analyze verify $(ls | grep -v '@\.') >"$T/verify" 2>&1
	rc=$?
	ok 'systemd-analyze verify accepts every unit and timer, silently' \
		[ $rc -eq 0 ] && [ ! -s "$T/verify" ]
	sed 's/^/#   /' "$T/verify"
	# systemd's own measure of confinement: 2.0 is "OK" on its 0-10 scale.
	systemd-analyze security --offline=true --threshold=20 --no-pager \
		$(ls | grep '\.service$' | grep -v '@\.') >"$T/security" 2>&1
	ok 'systemd-analyze security: every service exposed 2.0 at most' [ $? -eq 0 ]
	grep 'Overall exposure' "$T/security" | sed 's/^/#   /'
	cd "$T" || exit 1
else
	skip 'systemd-analyze is not installed (package systemd)'
fi

# The cron file: nothing runs until uncommented; stdout never mailed.
C=$R/etc/cron.d/hv
ok 'the cron file runs nothing until a line is uncommented' \
	[ -z "$(grep -Ev '^[[:space:]]*(#|$|[A-Z_]+=)' "$C")" ]
ok 'every job in the cron file runs as hv with stdout to /dev/null' \
	[ -z "$(grep -E '^#[0-9*]' "$C" | grep -Ev '^#([^[:space:]]+[[:space:]]+){5}hv[[:space:]].*>/dev/null$')" ]
ok 'the cron file names the wrapper and the tools at PREFIX' \
	grep -q '/usr/libexec/hv/hv-sync-team -q support' "$C"

# The wrapper: hv-fetch | hv-sync with pipefail's status, quiet with -q
# on 0 and 75.  Stubs stand in for the tools.
S=$T/stubs
mkdir -p "$S"
cat >"$S/hv-fetch" <<'EOF'
#!/bin/sh
echo "fetch $*" >>"$STUB_LOG"
echo "hv-fetch: fetched" >&2
echo '{"id":"1"}'
exit "${FETCH_RC:-0}"
EOF
cat >"$S/hv-sync" <<'EOF'
#!/bin/sh
echo "sync $*" >>"$STUB_LOG"
cat >/dev/null
echo "hv-sync: imported 1" >&2
echo '{"result":"ok"}'
exit "${SYNC_RC:-0}"
EOF
chmod 755 "$S/hv-fetch" "$S/hv-sync"
sed "s|@BINDIR@|$S|g" "$HV_TOP/scripts/hv-sync-team" >"$S/hv-sync-team"
chmod 755 "$S/hv-sync-team"
STUB_LOG=$T/stub.log
export STUB_LOG
expect_success 'hv-sync-team: fetch | sync, 0' "$S/hv-sync-team" -w 5 support
ok 'hv-sync-team: both tools for the team, with -w; the stdout of hv-sync passed on' \
	[ "$(sort "$STUB_LOG" | tr '\n' ' ')" = "fetch -w 5 -t support sync -w 5 -t support " ] &&
	[ "$(last_out)" = '{"result":"ok"}' ]
expect_failure 69 'hv-sync-team: a failed hv-fetch is the status' \
	env FETCH_RC=69 "$S/hv-sync-team" support
expect_failure 75 'hv-sync-team: hv-sync stepped aside and hv-fetch met SIGPIPE: 75' \
	env SYNC_RC=75 FETCH_RC=141 "$S/hv-sync-team" support
expect_failure 68 'hv-sync-team: a 68 from hv-fetch is not hidden behind a 75 from hv-sync' \
	env SYNC_RC=75 FETCH_RC=68 "$S/hv-sync-team" support
expect_failure 77 'hv-sync-team: nor a 77 from hv-sync behind a 75 from hv-fetch' \
	env SYNC_RC=77 FETCH_RC=75 "$S/hv-sync-team" support
expect_failure 75 'hv-sync-team: 75 and 0 is 75' env FETCH_RC=75 "$S/hv-sync-team" support
expect_failure 75 'hv-sync-team -q: 75' env SYNC_RC=75 "$S/hv-sync-team" -q support
ok 'hv-sync-team -q: nothing on stderr for 75' [ ! -s "$T/.err" ]
expect_success 'hv-sync-team -q: 0' "$S/hv-sync-team" -q support
ok 'hv-sync-team -q: nothing on stderr for 0' [ ! -s "$T/.err" ]
expect_failure 65 'hv-sync-team -q: 65' env SYNC_RC=65 "$S/hv-sync-team" -q support
ok 'hv-sync-team -q: the logs and the status for 65' \
	grep -q '^hv-sync: imported 1$' "$T/.err" && grep -q 'team support: exit status 65' "$T/.err"
expect_failure 64 'hv-sync-team without a team: usage' "$S/hv-sync-team"

# Completion: bash loads it for every tool and completes commands, options
# and teams; zsh parses its file.
B=$R/usr/share/bash-completion/completions
bad=
for t in $TOOLS; do
	out=$(bash -c ". '$B/$t' && complete -p $t" 2>&1)
	[ "$out" = "complete -F _hv $t" ] || bad="$bad $t"
done
ok "bash completion loads for every tool${bad:+ (not:$bad)}" [ -z "$bad" ]
printf '[team "support"]\n[team "sales-eu"]\n' >"$T/teams.conf"
compl() {	# file words...: what bash offers for the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		compopt() { :; }; _hv "$1"; echo "${COMPREPLY[*]}"' _ "$@"
}
offers() {	# word file words...: bash offers word for the last word
	_w=$1; shift
	compl "$@" | tr ' ' '\n' | grep -qx -- "$_w"
}
ok 'bash: hv-sync commands' offers labels "$B/hv-sync" hv-sync ''
ok 'bash: no command once there is one' [ -z "$(compl "$B/hv-sync" hv-sync status '')" ]
ok 'bash: hv-sync -t completes the teams of -c' \
	[ "$(compl "$B/hv-sync" hv-sync -c "$T/teams.conf" -t '')" = "support sales-eu" ]
ok 'bash: hv-audit log --outcome values' \
	offers refused "$B/hv-audit" hv-audit log --outcome ''
ok 'bash: hv-backup restore options' \
	offers --force "$B/hv-backup" hv-backup restore --
ok 'bash: hv-fetch --wait from the DESCRIPTION' \
	offers --wait "$B/hv-fetch" hv-fetch --w
ok 'bash: options of the command, and those of every command' \
	offers -j "$B/hv-auth" hv-auth list - && offers -c "$B/hv-auth" hv-auth list -
if command -v zsh >/dev/null 2>&1; then
	Z=$R/usr/share/zsh/site-functions/_hv
	expect_success 'zsh -n parses the zsh completion' zsh -n "$Z"
	# compadd and _files stand in for zsh's own, to show what is offered.
	zcompl() {
		zsh -f -c 'compadd() { print -r -- "$*" }; _files() { print -r -- _files }
			_message() { : }
			f=$1; shift; words=("$@"); CURRENT=$#; service=$1; PREFIX=${@[-1]}
			t() { source $f }; t' _ "$Z" "$@" 2>&1
	}
	zfirst() { zcompl "$@" | head -n 1; }
	ok 'zsh: hv-sync commands, then files' \
		[ "$(zcompl hv-sync '' | sed 's/ .*//' | tr '\n' ' ')" = "-- _files " ] &&
		[ "$(zfirst hv-sync '' | cut -d ' ' -f 2)" = status ]
	ok 'zsh: hv-sync -t completes the teams of -c' \
		[ "$(zcompl hv-sync -c "$T/teams.conf" -t '')" = "-- support sales-eu" ]
	ok 'zsh: hv-audit log --outcome values' \
		[ "$(zcompl hv-audit log --outcome '')" = "-- ok fail refused" ]
	ok 'zsh: hv-seal inspect takes a file' [ "$(zcompl hv-seal inspect '')" = _files ]
else
	skip 'zsh is not installed'
fi
bad=
for t in $TOOLS; do
	head -n 1 "$R/usr/share/zsh/site-functions/_hv" | grep -qw -- "$t" || bad="$bad $t"
done
ok "zsh completion is for every tool${bad:+ (not:$bad)}" [ -z "$bad" ]

expect_success 'make uninstall' $M uninstall DESTDIR="$R" PREFIX=/usr
ok 'make uninstall leaves nothing but empty directories' [ -z "$(find "$R" ! -type d)" ]
ok "make uninstall removes hv's own directories" \
	[ ! -d "$R/usr/libexec/hv" ] && [ ! -d "$R/usr/share/doc/hv" ]

# The builder's flags: after the project's, which stay, warnings as errors
# included (make -n shows the command lines without building).
o=$(cd "$HV_TOP" && ls lib/*.c | head -n 1 | sed 's|\.c$|.o|')
cline() {
	make -n -B -C "$HV_TOP" SANITIZE= O=build/cc "$@" "build/cc/$o" 2>/dev/null |
		grep -- ' -c ' | head -n 1
}
l=$(cline CFLAGS=-O0)
ok 'make CFLAGS=-O0: -O0 last, -Werror and -std=c11 kept' \
	[ "${l##* -O0 }" != "$l" ] && [ "${l#*-Werror}" != "$l" ] && [ "${l#*-std=c11}" != "$l" ] &&
	[ -z "$(echo "${l##*-O0}" | grep -- '-O2')" ]
l=$(CFLAGS='-O2 -g -fstack-clash-protection' CPPFLAGS=-DHV_T1 cline)
ok 'CFLAGS and CPPFLAGS from the environment are used, with -Werror' \
	[ "${l#*-fstack-clash-protection}" != "$l" ] && [ "${l#*-DHV_T1}" != "$l" ] &&
	[ "${l#*-Werror}" != "$l" ]
l=$(LDFLAGS=-Wl,--as-needed make -n -B -C "$HV_TOP" SANITIZE= O=build/cc bin/hv-seal 2>/dev/null |
	grep -- '-o bin/hv-seal')
ok 'LDFLAGS from the environment are used, with -pie' \
	[ "${l#*-Wl,--as-needed}" != "$l" ] && [ "${l#*-pie}" != "$l" ]

done_testing
