# hv build configuration: edit here or override on the command line.
VERSION = 0.1.0

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
LIBEXECDIR = $(PREFIX)/libexec/hv
DOCDIR = $(PREFIX)/share/doc/hv
SYSCONFDIR = /etc
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions

CC = cc
PKG_CONFIG = pkg-config

# The project's flags.  CFLAGS, CPPFLAGS and LDFLAGS are the builder's
# (a distribution's, the environment's, the command line's): they come
# after these, so make CFLAGS=-O0 still builds with the warnings on.
WARN = -Wall -Wextra $(WERROR) -Wvla -Wmissing-prototypes -Wstrict-prototypes \
       -Wwrite-strings -Wformat=2 -Wshadow -fno-common
WERROR = -Werror
HV_CFLAGS = -std=c11 -O2 -g $(WARN)
HV_CPPFLAGS = -D_GNU_SOURCE -DHV_VERSION='"$(VERSION)"' -Ilib
# Empty FORTIFY when CPPFLAGS sets _FORTIFY_SOURCE itself (dpkg-buildflags).
FORTIFY = -D_FORTIFY_SOURCE=2
HARDEN = -fstack-protector-strong $(FORTIFY) -fPIE
HV_LDFLAGS = -pie -Wl,-z,relro,-z,now
# libcurl is not linked: lib/http_curl.c loads it on first use.
LIBS = $$($(PKG_CONFIG) --libs libcrypto sqlite3) -ljq -lm

# make SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer, no recovery.
SANITIZE =
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# make fuzz: clang's libFuzzer; FUZZTIME seconds per target.
FUZZ_CC = clang
FUZZTIME = 20
