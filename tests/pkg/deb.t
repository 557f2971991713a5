#!/bin/sh
# The Debian package: built from a copy of the tree by dpkg-buildpackage
# -us -uc -b, it holds what make install puts (units under the system's
# unit directory), declares the libcurl it loads with dlopen, marks its
# files under /etc as conffiles, and lintian finds no error in it.  About
# a minute and a half on two cores: not part of make check; make check-pkg
# (and .ci/run) runs it.
. "$(dirname "$0")/../e2e/lib.sh"

skip_all() { echo "1..0 # SKIP $1"; exit 0; }
command -v dpkg-buildpackage >/dev/null 2>&1 || skip_all 'dpkg-buildpackage is not installed (scripts/deps pkg)'
command -v dh >/dev/null 2>&1 || skip_all 'debhelper is not installed (scripts/deps pkg)'

# A copy without build products, so the package builds from what is in git.
mkdir "$T/src" || exit 1
(cd "$HV_TOP" && tar -cf - --exclude=./.git --exclude=./bin --exclude=./build \
	--exclude=./debian/hv --exclude=./debian/.debhelper .) | (cd "$T/src" && tar -xf -)
cd "$T/src" || exit 1
unset MAKEFLAGS MAKELEVEL
expect_success 'dpkg-buildpackage -us -uc -b' \
	sh -c 'nice dpkg-buildpackage -us -uc -b >"$1/build.log" 2>&1' _ "$T" ||
	tail -n 20 "$T/build.log" | sed 's/^/#   /'
deb=$(ls "$T"/hv_*.deb 2>/dev/null | head -n 1)
ok 'the .deb is there' [ -n "$deb" ] || done_testing

dpkg-deb -c "$deb" | awk '{ print $1, $6 }' >"$T/list"
has() {	# mode path...: the package holds each path with that mode
	_m=$1; shift
	for _p; do
		grep -qx -- "$_m ./${_p#/}" "$T/list" || { echo "#   not $_m: $_p"; return 1; }
	done
}
tools=$(cd "$HV_TOP/cmd" && ls *.c | sed 's/\.c$//')
bins= comps=
for t in $tools; do
	bins="$bins /usr/bin/$t"
	comps="$comps /usr/share/bash-completion/completions/$t"
done
ok 'every tool in /usr/bin' has -rwxr-xr-x $bins
ok 'the wrapper in /usr/libexec/hv' has -rwxr-xr-x /usr/libexec/hv/hv-sync-team
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
ok "units and timers in $unitdir" has -rw-r--r-- "$unitdir/hv-sync@.service" \
	"$unitdir/hv-sync@.timer" "$unitdir/hv-purge.timer" "$unitdir/hv-backup.timer" \
	"$unitdir/hv-audit-checkpoint.timer" "$unitdir/hv-audit-verify.timer"
ok 'hv.conf, the cron file, tmpfiles, the example' has -rw-r--r-- /etc/hv/hv.conf \
	/etc/cron.d/hv /usr/lib/tmpfiles.d/hv.conf /usr/share/doc/hv/examples/hv.conf
ok 'manual pages, compressed' has -rw-r--r-- /usr/share/man/man1/hv-sync.1.gz \
	/usr/share/man/man5/hv.conf.5.gz /usr/share/man/man7/hv.7.gz
ok 'bash and zsh completion' has -rw-r--r-- $comps /usr/share/zsh/vendor-completions/_hv

dep=$(dpkg-deb -f "$deb" Depends)
ok "Depends names the libcurl that hv dlopens: $dep" \
	sh -c 'echo "$1" | grep -Eq "(^|, )libcurl4t64 \| libcurl4(,|$)"' _ "$dep"
ok 'Depends names adduser (postinst)' sh -c 'echo "$1" | grep -qw adduser' _ "$dep"
dpkg-deb -e "$deb" "$T/control"
ok 'conffiles: /etc/hv/hv.conf and /etc/cron.d/hv' \
	[ "$(sort "$T/control/conffiles" | tr '\n' ' ')" = "/etc/cron.d/hv /etc/hv/hv.conf " ]
ok 'postinst makes the hv system user before the tmpfiles that need it' \
	sh -c 'a=$(grep -n "adduser --system" "$1" | cut -d: -f1)
		b=$(grep -n "systemd-tmpfiles" "$1" | head -n 1 | cut -d: -f1)
		[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]' _ "$T/control/postinst"
# dh_installsystemd --no-enable: was-enabled only on units installed before
# (debian-installed), so a new install enables nothing; --no-start: no start.
ok 'no timer is enabled or started by the package' \
	sh -c '[ "$(grep -c "was-enabled" "$1")" = "$(grep -c "debian-installed" "$1")" ] &&
		! grep -Eq "deb-systemd-invoke .*(start|restart)" "$1"' _ "$T/control/postinst"
if command -v lintian >/dev/null 2>&1; then
	lintian --pedantic "$T"/hv_*.changes >"$T/lintian" 2>&1
	rc=$?
	grep -E '^[EWIPX]: ' "$T/lintian" | sed 's/^/#   /'
	ok 'lintian: no error' [ $rc -eq 0 ] && ! grep -q '^E: ' "$T/lintian"
else
	_n=$((_n + 1)); echo "ok $_n # SKIP lintian is not installed (scripts/deps pkg)"
fi
done_testing
