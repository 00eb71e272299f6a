# storefleet - one non-recursive Makefile.
#
#   make              build every program into build/bin/
#   make run          install what is missing, build, start the local stack (tools/run.sh)
#   make test         install what is missing, build with -Werror, run every test via prove
#   make check-san    the same suite under ASan+UBSan (build/san/)
#   make fuzz         libFuzzer targets, time-boxed (FUZZ_SECONDS each)
#   make bench        benchmarks against a running stack, printed as a table
#
# Variables: V=1 prints full commands; WERROR=1 turns warnings into errors;
# SANITIZE=address,undefined builds into build/san with ARENA_DEBUG.

V ?= 0
ifeq ($(V),1)
Q =
else
Q = @
endif

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libpq libcurl jansson yaml-0.1 libsodium libmicrohttpd gnutls

ifdef SANITIZE
O ?= build/san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -DARENA_DEBUG
LDSAN = -fsanitize=$(SANITIZE)
else
O ?= build
OPT = -O2 -g -D_FORTIFY_SOURCE=3
LDSAN =
endif

WARN = -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN += -Werror
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
CFLAGS += -std=c11 $(OPT) $(WARN) -fstack-protector-strong -fPIE $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(LDSAN)
LDLIBS += $(PKG_LIBS) -lfcgi -lm

LIB_SRC := $(wildcard src/*.c)
CMD_SRC := $(wildcard src/cmd/*.c)
SIM_SRC := $(wildcard src/kubesim/*.c)
FCGI_SRC := $(wildcard cgi-bin/*.c)
UNIT_SRC := $(wildcard tests/unit/t-*.c)
# x-*.c: compiled tests that need an environment; their tNNNN-*.sh runs them.
DRIVEN_SRC := $(wildcard tests/unit/x-*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)

LIB := $(O)/libstorefleet.a
CMDS := $(patsubst src/cmd/%.c,$(O)/bin/%,$(CMD_SRC))
SIM := $(if $(SIM_SRC),$(O)/bin/kubesim)
FCGI := $(if $(FCGI_SRC),$(O)/bin/storefleet.fcgi)
UNITS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
DRIVEN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(DRIVEN_SRC))
REPLAYS := $(patsubst tests/fuzz/%.c,$(O)/tests/%,$(FUZZ_SRC))
HELLO := $(if $(wildcard tests/bench/hello.c),$(O)/bin/fcgi-hello)
PROGRAMS := $(CMDS) $(SIM) $(FCGI) $(HELLO)

OBJ = $(patsubst %.c,$(O)/obj/%.o,$(1))

.PHONY: all programs tests run test test-only check-san fuzz bench deps clean
.DEFAULT_GOAL := all
.SECONDARY:

all: programs tests
programs: $(PROGRAMS)
tests: $(UNITS) $(DRIVEN) $(REPLAYS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(call OBJ,$(LIB_SRC))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/bin/%: $(O)/obj/src/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bin/kubesim: $(call OBJ,$(SIM_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bin/storefleet.fcgi: $(call OBJ,$(FCGI_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The bare FastCGI hello-world `make bench` compares storefleet.fcgi with.
$(O)/bin/fcgi-hello: $(O)/obj/tests/bench/hello.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/t-%: $(O)/obj/tests/unit/t-%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/x-%: $(O)/obj/tests/unit/x-%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets also build as plain programs that replay their corpus (jansson's trick).
$(O)/tests/fuzz-%: $(O)/obj/tests/fuzz/fuzz-%.o $(O)/obj/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- running and testing -------------------------------------------------

deps:
	$(Q)tools/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory programs
	$(Q)SF_BUILD=$(O) tools/run.sh

# prove runs compiled unit tests and shell tests directly (--exec '').
PROVE_JOBS ?= 2
test-only: all
	$(Q)SF_BUILD=$(abspath $(O)) SF_ROOT=$(CURDIR) prove --exec '' -j$(PROVE_JOBS) --timer $(sort $(UNITS) $(REPLAYS)) $(sort $(wildcard tests/t[0-9]*.sh))

test: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 test-only

# detect_stack_use_after_return: cleanups pointing into a finished request's stack frame.
check-san: deps
	$(Q)ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) --no-print-directory WERROR=1 SANITIZE=address,undefined test-only

FUZZ_SECONDS ?= 30
fuzz: deps
	$(Q)tools/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	$(Q)$(MAKE) --no-print-directory programs
	$(Q)SF_BUILD=$(abspath $(O)) SF_ROOT=$(CURDIR) tools/bench.sh

clean:
	rm -rf build

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
