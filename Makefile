# hv: see README.  Targets: all check check-pkg install uninstall clean demo bench fuzz.
include config.mk

LIBOBJ = audit_append.o audit_format.o audit_read.o audit_repair.o audit_state.o audit_verify.o \
	auth.o auth_grant.o buf.o clock.o config.o crashpoint.o crypto.o crypto_sign.o \
	directory.o err.o file.o \
	backup.o http_s3.o http_s3_list.o store_snapshot.o \
	epoch.o purge.o spool.o store_erase.o store_purge.o store_team.o \
	http.o http_curl.o http_multi.o json.o json_jq.o \
	fetch.o follow.o pubsub.o gmail.o gmail_pool.o gmail_resumable.o keys.o loopback.o mime.o quota.o \
	mem.o msg.o oauth.o store.o store_index.o store_roster.o sync.o team.o \
	gmail_labels.o labels.o store_labels.o store_pause.o \
	seal.o seal_io.o \
	lock.o syslabel.o \
	doctor.o doctor_accounts.o doctor_audit.o doctor_backup.o doctor_files.o \
	doctor_spool.o doctor_teams.o \
	audit_optout.o audit_rules.o url.o audit_query.o audit_export.o audit_follow.o audit_watch.o
LIBOBJ += cli.o sandbox.o sandbox_policy.o
BIN = hv-audit hv-auth hv-seal hv-fetch hv-sync hv-backup hv-purge hv-doctor
MAN1 = hv-audit.1 hv-auth.1 hv-backup.1 hv-doctor.1 hv-fetch.1 hv-seal.1 hv-purge.1 hv-sync.1
MAN5 = hv-audit.5 hv.conf.5 hv-seal.5
MAN7 = hv.7
UNIT = audit buf config crypto err json keys seal mime spool backup purge oauth store
UNIT += lock
UNIT += gmail
UNIT += cli
UNIT += sandbox
UNIT += url
UNIT += audit_query
UNIT += pubsub
FUZZ = fuzz-audit fuzz-config fuzz-json fuzz-keys fuzz-seal fuzz-s3-list fuzz-oauth fuzz-mime
FUZZ += fuzz-gmail fuzz-resumable fuzz-pubsub

# One object tree per compiler and sanitizer setting, so builds never mix.
VARIANT_ = $(CC)
VARIANT_1 = $(CC)-san
O = build/$(VARIANT_$(SANITIZE))
# Plain builds leave their binaries in bin/, sanitized ones beside their objects.
B_ = bin
B_1 = $(O)/bin
B = $(B_$(SANITIZE))
SFLAGS_1 = $(SAN_FLAGS)
# The builder's CFLAGS, CPPFLAGS and LDFLAGS come last, so they win.
ALL_CPPFLAGS = $(HV_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(HV_CFLAGS) $(HARDEN) $(SFLAGS_$(SANITIZE)) $(EXTRA_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(HV_LDFLAGS) $(SFLAGS_$(SANITIZE)) $(EXTRA_CFLAGS) $(LDFLAGS)

LIB = $(O)/libhv.a
LIBOBJS = $(LIBOBJ:%=$(O)/lib/%)
BINS = $(BIN:%=$(B)/%)
UNITS = $(UNIT:%=$(O)/tests/%.t)
FUZZERS = $(FUZZ:%=build/fuzz/%)

all: $(BINS)

$(O)/lib/%.o: lib/%.c lib/*.h config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c lib/*.h config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJS)
	rm -f $@
	ar rcs $@ $(LIBOBJS)

$(B)/%: $(O)/cmd/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(O)/tests/%.t: tests/unit/%.c tests/unit/tap.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

units: $(UNITS)

# A measurement, not a test: CPU per audit event and per index row.
$(O)/tests/bench-cpu: tests/unit/bench-cpu.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

bench-cpu: $(O)/tests/bench-cpu
	$(O)/tests/bench-cpu $(BENCHDIR)

# Every test through prove: unit tests, end-to-end tests of the binaries,
# and the Google emulator's own suite.
PROVE = prove -e '' $(PROVEFLAGS)
check:
	@scripts/deps
	@$(MAKE) --no-print-directory all units
	HV_BIN=$(CURDIR)/$(B) HV_TOP=$(CURDIR) $(PROVE) \
		$(UNITS:%=./%) ./tests/e2e/*.t $$(ls ./tests/emu/*.t 2>/dev/null)

# The Debian package, built and checked: about a minute and a half, so
# apart from check (.ci/run runs both).
check-pkg:
	@scripts/deps pkg
	HV_TOP=$(CURDIR) $(PROVE) tests/pkg/*.t

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h lib/*.c lib/*.h config.mk
	@$(MAKE) --no-print-directory O=build/fuzz-lib CC=$(FUZZ_CC) \
		EXTRA_CFLAGS='-fsanitize=fuzzer-no-link,address,undefined' build/fuzz-lib/libhv.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(HV_CFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< build/fuzz-lib/libhv.a $(LIBS)

fuzz: $(FUZZERS)
	@scripts/fuzz $(FUZZTIME) $(FUZZERS)

demo:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench:
	@scripts/deps
	@$(MAKE) --no-print-directory all
	@scripts/bench

lint-man:
	mandoc -Tlint -Wwarning $(MAN1:%=man/%) $(MAN5:%=man/%) $(MAN7:%=man/%)

# What install puts beside the binaries and man pages: systemd units and
# timers, the wrappers hv-sync@.service and hv-follow@.service run, a cron file whose jobs are all
# commented out, the spool's parent on tmpfs, an example hv.conf, and bash
# and zsh completion made from each tool's page.  Paths in them are this
# PREFIX's.
SYSTEMD = hv-sync@.service hv-sync@.timer hv-follow@.service hv-purge.service hv-purge.timer \
	hv-backup.service hv-backup.timer \
	hv-audit-checkpoint.service hv-audit-checkpoint.timer \
	hv-audit-verify.service hv-audit-verify.timer
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'
D = build/extras
INSTALLDIRS = $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7 $(LIBEXECDIR) \
	$(DOCDIR)/examples $(SYSTEMDUNITDIR) $(TMPFILESDIR) $(SYSCONFDIR)/cron.d \
	$(BASHCOMPDIR) $(ZSHCOMPDIR)

extras:
	rm -rf $(D)
	mkdir -p $(D)/systemd $(D)/bash
	for f in $(SYSTEMD); do $(SUBST) scripts/systemd/$$f >$(D)/systemd/$$f || exit; done
	$(SUBST) scripts/hv-sync-team >$(D)/hv-sync-team
	$(SUBST) scripts/hv-follow-team >$(D)/hv-follow-team
	$(SUBST) scripts/hv.cron >$(D)/hv.cron
	for f in $(BIN); do scripts/completion/gen bash man/$$f.1 >$(D)/bash/$$f || exit; done
	scripts/completion/gen zsh $(BIN:%=man/%.1) >$(D)/_hv

install: all extras
	for d in $(INSTALLDIRS); do install -d -m 755 $(DESTDIR)$$d || exit; done
	for f in $(BIN); do install -m 755 $(B)/$$f $(DESTDIR)$(BINDIR)/$$f || exit; done
	for f in $(MAN1); do install -m 644 man/$$f $(DESTDIR)$(MANDIR)/man1/$$f || exit; done
	for f in $(MAN5); do install -m 644 man/$$f $(DESTDIR)$(MANDIR)/man5/$$f || exit; done
	for f in $(MAN7); do install -m 644 man/$$f $(DESTDIR)$(MANDIR)/man7/$$f || exit; done
	install -m 755 $(D)/hv-sync-team $(DESTDIR)$(LIBEXECDIR)/hv-sync-team
	install -m 755 $(D)/hv-follow-team $(DESTDIR)$(LIBEXECDIR)/hv-follow-team
	install -m 644 scripts/hv.conf.example $(DESTDIR)$(DOCDIR)/examples/hv.conf
	for f in $(SYSTEMD); do install -m 644 $(D)/systemd/$$f $(DESTDIR)$(SYSTEMDUNITDIR)/$$f || exit; done
	install -m 644 scripts/hv.tmpfiles $(DESTDIR)$(TMPFILESDIR)/hv.conf
	install -m 644 $(D)/hv.cron $(DESTDIR)$(SYSCONFDIR)/cron.d/hv
	for f in $(BIN); do install -m 644 $(D)/bash/$$f $(DESTDIR)$(BASHCOMPDIR)/$$f || exit; done
	install -m 644 $(D)/_hv $(DESTDIR)$(ZSHCOMPDIR)/_hv

# Removes what install put, and the directories that are hv's alone.
uninstall:
	for f in $(BIN); do rm -f $(DESTDIR)$(BINDIR)/$$f $(DESTDIR)$(BASHCOMPDIR)/$$f; done
	for f in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$$f; done
	for f in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$$f; done
	for f in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$$f; done
	for f in $(SYSTEMD); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$f; done
	rm -f $(DESTDIR)$(LIBEXECDIR)/hv-sync-team $(DESTDIR)$(LIBEXECDIR)/hv-follow-team \
		$(DESTDIR)$(DOCDIR)/examples/hv.conf \
		$(DESTDIR)$(TMPFILESDIR)/hv.conf $(DESTDIR)$(SYSCONFDIR)/cron.d/hv \
		$(DESTDIR)$(ZSHCOMPDIR)/_hv
	for d in $(LIBEXECDIR) $(DOCDIR)/examples $(DOCDIR); do \
		rmdir $(DESTDIR)$$d 2>/dev/null || :; done

clean:
	rm -rf bin build

.PHONY: all units check check-pkg fuzz demo bench bench-cpu lint-man extras install uninstall clean
.PRECIOUS: $(O)/lib/%.o $(O)/cmd/%.o
