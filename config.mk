# hv build configuration: edit here or override on the command line.
VERSION = 0.1.0

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

CC = cc
PKG_CONFIG = pkg-config

WARN = -Wall -Wextra -Werror -Wvla -Wmissing-prototypes -Wstrict-prototypes \
       -Wwrite-strings -Wformat=2 -Wshadow -fno-common
CFLAGS = -std=c11 -O2 -g $(WARN)
CPPFLAGS = -D_GNU_SOURCE -DHV_VERSION='"$(VERSION)"' -Ilib
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS = -pie -Wl,-z,relro,-z,now
# libcurl is not linked: lib/http_curl.c loads it on first use.
LIBS = $$($(PKG_CONFIG) --libs libcrypto sqlite3) -ljq -lm

# make SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer, no recovery.
SANITIZE =
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# make fuzz: clang's libFuzzer; FUZZTIME seconds per target.
FUZZ_CC = clang
FUZZTIME = 20
