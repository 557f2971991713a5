# hv: see README.  Targets: all check install clean demo bench fuzz.
include config.mk

LIBOBJ = audit.o auth.o auth_grant.o buf.o clock.o config.o crashpoint.o crypto.o crypto_sign.o \
	directory.o err.o file.o \
	backup.o http_s3.o http_s3_list.o store_snapshot.o \
	epoch.o purge.o spool.o store_erase.o store_purge.o \
	http.o http_curl.o http_multi.o json.o json_jq.o \
	fetch.o gmail.o gmail_pool.o keys.o loopback.o mime.o quota.o \
	mem.o msg.o oauth.o store.o store_index.o store_roster.o sync.o team.o \
	gmail_labels.o labels.o store_labels.o store_pause.o \
	seal.o seal_io.o \
	lock.o syslabel.o \
	audit_optout.o audit_rules.o url.o
BIN = hv-audit hv-auth hv-seal hv-fetch hv-sync hv-backup hv-purge
MAN1 = hv-audit.1 hv-auth.1 hv-backup.1 hv-fetch.1 hv-seal.1 hv-purge.1 hv-sync.1
MAN5 = hv-audit.5 hv.conf.5 hv-seal.5
MAN7 = hv.7
UNIT = audit buf config crypto err json keys seal mime spool backup purge oauth store
UNIT += lock
UNIT += gmail
UNIT += url
FUZZ = fuzz-audit fuzz-config fuzz-json fuzz-keys fuzz-seal fuzz-s3-list fuzz-oauth fuzz-mime
FUZZ += fuzz-gmail

# One object tree per compiler and sanitizer setting, so builds never mix.
VARIANT_ = $(CC)
VARIANT_1 = $(CC)-san
O = build/$(VARIANT_$(SANITIZE))
# Plain builds leave their binaries in bin/, sanitized ones beside their objects.
B_ = bin
B_1 = $(O)/bin
B = $(B_$(SANITIZE))
SFLAGS_1 = $(SAN_FLAGS)
ALL_CFLAGS = $(CFLAGS) $(HARDEN) $(SFLAGS_$(SANITIZE)) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SFLAGS_$(SANITIZE)) $(EXTRA_CFLAGS)

LIB = $(O)/libhv.a
LIBOBJS = $(LIBOBJ:%=$(O)/lib/%)
BINS = $(BIN:%=$(B)/%)
UNITS = $(UNIT:%=$(O)/tests/%.t)
FUZZERS = $(FUZZ:%=build/fuzz/%)

all: $(BINS)

$(O)/lib/%.o: lib/%.c lib/*.h config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/cmd/%.o: cmd/%.c lib/*.h config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJS)
	rm -f $@
	ar rcs $@ $(LIBOBJS)

$(B)/%: $(O)/cmd/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(O)/tests/%.t: tests/unit/%.c tests/unit/tap.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

units: $(UNITS)

# A measurement, not a test: CPU per audit event and per index row.
$(O)/tests/bench-cpu: tests/unit/bench-cpu.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

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

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h lib/*.c lib/*.h config.mk
	@$(MAKE) --no-print-directory O=build/fuzz-lib CC=$(FUZZ_CC) \
		EXTRA_CFLAGS='-fsanitize=fuzzer-no-link,address,undefined' build/fuzz-lib/libhv.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined \
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

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	cp -f $(BINS) $(DESTDIR)$(BINDIR)/
	cd $(DESTDIR)$(BINDIR) && chmod 755 $(BIN)
	cp -f $(MAN1:%=man/%) $(DESTDIR)$(MANDIR)/man1/
	cp -f $(MAN5:%=man/%) $(DESTDIR)$(MANDIR)/man5/
	cp -f $(MAN7:%=man/%) $(DESTDIR)$(MANDIR)/man7/

clean:
	rm -rf bin build

.PHONY: all units check fuzz demo bench bench-cpu lint-man install clean
.PRECIOUS: $(O)/lib/%.o $(O)/cmd/%.o
