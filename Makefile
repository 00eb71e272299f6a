# storefleet - one non-recursive Makefile.
#
#   make              build every program into build/bin/
#   make run          install what is missing, build, start the local stack (tools/run.sh)
#   make test         install what is missing, build with -Werror, run every test via prove
#   make check-san    the same suite under ASan+UBSan (build/san/)
#   make check-engines  the Medusa recipe from npm, run as the chart runs it (minutes, cached)
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
PKGS = libpq libcurl jansson yaml-0.1 libsodium libmicrohttpd gnutls libidn2

ifdef SANITIZE
O ?= build/san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -DARENA_DEBUG
LDSAN = -fsanitize=$(SANITIZE)
else
O ?= build
OPT = -O2 -g -D_FORTIFY_SOURCE=3
LDSAN =
endif

WARN = -Wall -Wextra -Wvla -Wwrite-strings -Wpointer-arith -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
ifeq ($(WERROR),1)
WARN += -Werror
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

# Libraries by layer (docs/design.md section 8): libcurl belongs to the
# fleet (and to storefleetctl, which checks a cluster's kubeconfig with the
# fleet's client before it stores it), libfcgi to the FastCGI program alone.
CORE_PKGS = libpq jansson yaml-0.1 libsodium libidn2
CORE_LIBS := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null) -lm
CURL_LIBS := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)
SIM_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd gnutls libcurl 2>/dev/null)

CPPFLAGS += -D_GNU_SOURCE -MMD -MP
CFLAGS += -std=c11 $(OPT) $(WARN) -fstack-protector-strong -fPIE $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(LDSAN)

# --- layers ----------------------------------------------------------------
#
# Each layer is one folder, one archive and one include path.  A file sees
# the headers of its own layer and of the layers below it, nothing else, so
# a web file that includes a fleet header does not compile, and a program
# links only the archives of the layers it may use, so a call across does
# not link.  tests/t0015-layers.sh checks the programs' symbols as well.
#
#   core    arena buf err log config db view tpl http y2j seal cronrun
#   domain  what both halves share: lifecycle, audit, blueprint, webhook
#   web     store queries, accounts, sessions, tokens, admin, revisions, limits
#   fleet   Kubernetes client, kubeconfig, readiness, leases, reconcile
#   mail    the SMTP sender (libcurl): storefleet-mail alone links it
#   ctl     storefleetctl's commands; the operator's tool may talk to
#           Kubernetes (cluster add checks a kubeconfig with the fleet's
#           client), so it sees web and fleet - only the web app never may
LAYERS := core domain web fleet mail ctl
LAYER_SRC = $(wildcard src/$(1)/*.c)
LAYER_LIB = $(O)/lib/lib$(1).a

INC_core := -Isrc/core
INC_domain := $(INC_core) -Isrc/domain
INC_web := $(INC_domain) -Isrc/web
INC_fleet := $(INC_domain) -Isrc/fleet
INC_mail := $(INC_domain) -Isrc/mail
INC_ctl := $(INC_web) -Isrc/fleet -Isrc/ctl
INC_fcgi := $(INC_web) -Icgi-bin
INC_sim := $(INC_domain) -Isrc/kubesim
INC_tests := $(INC_web) -Isrc/fleet -Isrc/mail -Isrc/ctl

$(O)/obj/src/core/%.o: INC := $(INC_core)
$(O)/obj/src/domain/%.o: INC := $(INC_domain)
$(O)/obj/src/web/%.o: INC := $(INC_web)
$(O)/obj/src/fleet/%.o: INC := $(INC_fleet)
$(O)/obj/src/mail/%.o: INC := $(INC_mail)
$(O)/obj/src/ctl/%.o: INC := $(INC_ctl)
$(O)/obj/src/cmd/storefleet-reconcile.o: INC := $(INC_fleet)
$(O)/obj/src/cmd/storefleet-mail.o: INC := $(INC_mail)
$(O)/obj/src/cmd/storefleetctl.o: INC := $(INC_ctl)
$(O)/obj/cgi-bin/%.o: INC := $(INC_fcgi)
$(O)/obj/src/kubesim/%.o: INC := $(INC_sim)
$(O)/obj/tests/%.o: INC := $(INC_tests)

CORE_A := $(call LAYER_LIB,core)
DOMAIN_A := $(call LAYER_LIB,domain)
WEB_A := $(call LAYER_LIB,web)
FLEET_A := $(call LAYER_LIB,fleet)
MAIL_A := $(call LAYER_LIB,mail)
CTL_A := $(call LAYER_LIB,ctl)
# Tests may use every layer (the order resolves upward references).
ALL_A := $(CTL_A) $(WEB_A) $(FLEET_A) $(MAIL_A) $(DOMAIN_A) $(CORE_A)
ALL_LIBS := $(PKG_LIBS) -lfcgi -lm -lresolv

SIM_SRC := $(wildcard src/kubesim/*.c)
# cgi-bin/page_test.c (the /_test/ debug routes the transport tests use) is
# never part of storefleet.fcgi: only the test build of the program links
# it, with route.c compiled again under SF_TEST_ROUTES to look its table up.
FCGI_TEST_SRC := cgi-bin/page_test.c
FCGI_SRC := $(filter-out $(FCGI_TEST_SRC),$(wildcard cgi-bin/*.c))
UNIT_SRC := $(wildcard tests/unit/t-*.c)
# x-*.c: compiled tests that need an environment; their tNNNN-*.sh runs them.
DRIVEN_SRC := $(wildcard tests/unit/x-*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)

CMDS := $(O)/bin/storefleet-reconcile $(O)/bin/storefleet-mail $(O)/bin/storefleetctl
SIM := $(if $(SIM_SRC),$(O)/bin/kubesim)
FCGI := $(if $(FCGI_SRC),$(O)/bin/storefleet.fcgi)
FCGI_TEST := $(if $(FCGI_SRC),$(O)/tests/storefleet-test.fcgi)
UNITS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
DRIVEN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(DRIVEN_SRC))
REPLAYS := $(patsubst tests/fuzz/%.c,$(O)/tests/%,$(FUZZ_SRC))
HELLO := $(if $(wildcard tests/bench/hello.c),$(O)/bin/fcgi-hello)
PROGRAMS := $(CMDS) $(SIM) $(FCGI) $(HELLO)

OBJ = $(patsubst %.c,$(O)/obj/%.o,$(1))

.PHONY: all programs tests run test test-only check-san check-engines fuzz bench deps clean image
.DEFAULT_GOAL := all
.SECONDARY:

all: programs tests
programs: $(PROGRAMS)
tests: $(UNITS) $(DRIVEN) $(REPLAYS) $(FCGI_TEST)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(INC) $(CFLAGS) -c -o $@ $<

$(foreach l,$(LAYERS),$(eval $(call LAYER_LIB,$(l)): $(call OBJ,$(call LAYER_SRC,$(l)))))
$(O)/lib/lib%.a:
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

LINK = @mkdir -p $(dir $@); $(if $(Q),echo "  LINK    $@";) $(CC) $(LDFLAGS) -o $@

# The two halves: neither links the other's layer.
$(O)/bin/storefleet.fcgi: $(call OBJ,$(FCGI_SRC)) $(WEB_A) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ -lfcgi $(CORE_LIBS)

# The test build: storefleet.fcgi plus the /_test/ routes (tests/t0100, t0110).
$(O)/obj/cgi-bin/route-test.o: cgi-bin/route.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (SF_TEST_ROUTES)")
	$(Q)$(CC) $(CPPFLAGS) -DSF_TEST_ROUTES $(INC) $(CFLAGS) -c -o $@ $<

$(O)/tests/storefleet-test.fcgi: $(call OBJ,$(filter-out cgi-bin/route.c,$(FCGI_SRC)) $(FCGI_TEST_SRC)) \
		$(O)/obj/cgi-bin/route-test.o $(WEB_A) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ -lfcgi $(CORE_LIBS)

$(O)/bin/storefleet-reconcile: $(O)/obj/src/cmd/storefleet-reconcile.o $(FLEET_A) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ $(CURL_LIBS) $(CORE_LIBS) -lresolv

$(O)/bin/storefleet-mail: $(O)/obj/src/cmd/storefleet-mail.o $(MAIL_A) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ $(CURL_LIBS) $(CORE_LIBS)

$(O)/bin/storefleetctl: $(O)/obj/src/cmd/storefleetctl.o $(CTL_A) $(WEB_A) $(FLEET_A) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ $(CURL_LIBS) $(CORE_LIBS)

$(O)/bin/kubesim: $(call OBJ,$(SIM_SRC)) $(DOMAIN_A) $(CORE_A)
	$(LINK) $^ $(SIM_LIBS) $(CORE_LIBS)

# The bare FastCGI hello-world `make bench` compares storefleet.fcgi with.
$(O)/bin/fcgi-hello: $(O)/obj/tests/bench/hello.o $(WEB_A)
	$(LINK) $^ -lfcgi

$(O)/tests/t-%: $(O)/obj/tests/unit/t-%.o $(ALL_A)
	$(LINK) $^ $(ALL_LIBS)

$(O)/tests/x-%: $(O)/obj/tests/unit/x-%.o $(ALL_A)
	$(LINK) $^ $(ALL_LIBS)

# Fuzz targets also build as plain programs that replay their corpus (jansson's trick).
$(O)/tests/fuzz-%: $(O)/obj/tests/fuzz/fuzz-%.o $(O)/obj/tests/fuzz/replay.o $(ALL_A)
	$(LINK) $^ $(ALL_LIBS)

# storefleet's own container image (Containerfile), with podman or docker.
image:
	$(Q)tools/image.sh

# --- running and testing -------------------------------------------------

deps:
	$(Q)tools/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory programs
	$(Q)SF_BUILD=$(O) tools/run.sh

# prove runs compiled unit tests and shell tests directly (--exec '').
# The engine checks download and build Medusa (minutes): make check-engines runs them.
ENGINE_TESTS := tests/t0320-medusa-run.sh
PROVE_JOBS ?= 2
# prove -j starts the files in the order given: the known-slow ones first
# (slowest first, from the per-file times of full runs), so that no long test
# starts last and runs alone while the other job idles.  Every other test file
# follows in name order (a new tests/tNNNN-*.sh is picked up by the wildcard),
# after the compiled tests (t-k8s-sim takes ~15 s; the rest are short).  A name here that
# no longer exists is dropped; a test is never listed twice.
SLOW_TESTS := t0559-reconcile-cluster-trouble t0555-reconcile-concurrent t0310-quota-arithmetic \
	t0120-run-anywhere t0749-restore t0751-undelete t0752-clone t0748-backups-schedule t0747-backups-faults \
	t0556-reconcile-scale t0740-dump-restore t0741-backup-woocommerce-restore \
	t0743-backup-medusa-restore t0742-backup-woocommerce-faults t0744-backup-medusa-faults \
	t0722-upgrade-crash t0724-upgrade-edges t0554-reconcile-crash t0251-mail-kill t0800-browser \
	t0552-reconcile-delete t0746-backups-now t0756-upgrade-backup t0754-backup-leftovers \
	t0755-restore-medusa t0567-clusters-placement t0566-clusters-down \
	t0720-upgrade t0445-kubesim-hostile t0557-reconcile-web \
	t0502-stores-isolation t0551-reconcile-failures t0553-reconcile-storms t0250-mail-outbox \
	t0710-admin-stores t0254-notifications t0721-upgrade-medusa t0252-password-reset \
	t0020-validator t0471-kubesim-watch-history t0300-render t0420-kubesim-faults
# Files that mostly wait (measured alone with perf stat -e task-clock: t0559 spends
# 13 s of CPU in 130 s, waiting out Retry-After and backoff as a real client must;
# t0445 3 s in 25 s, on slow and silent clients; t0564 4 s in 13 s, on re-lists) run
# in a lane of their own beside the PROVE_JOBS jobs: taking a job's place they left a
# core idle for two minutes, and beside them they cost the others almost nothing.
# The lane's output follows the jobs' when both are done; either failing fails the run.
WAITING_TESTS := t0559-reconcile-cluster-trouble t0445-kubesim-hostile t0564-observe-relist
# Under the sanitizers `make run`'s start-ups mostly wait: t0120 spent 85 s of CPU in
# 211 s (287 s in a CI run, against 79 s without them); without them it keeps a core busy.
ifdef SANITIZE
WAITING_TESTS += t0120-run-anywhere
endif
SHELL_TESTS := $(sort $(filter-out $(ENGINE_TESTS),$(wildcard tests/t[0-9]*.sh)))
WAITING := $(filter $(SHELL_TESTS),$(patsubst %,tests/%.sh,$(WAITING_TESTS)))
SLOW_FIRST := $(filter-out $(WAITING),$(filter $(SHELL_TESTS),$(patsubst %,tests/%.sh,$(SLOW_TESTS))))
PROVE := SF_BUILD="$(abspath $(O))" SF_ROOT="$(CURDIR)" prove --exec '' --timer --failures --comments
test-only: all
	$(Q)$(PROVE) $(WAITING) >"$(O)/waiting-lane.log" 2>&1 & lane=$$!; \
	$(PROVE) -j$(PROVE_JOBS) $(SLOW_FIRST) $(sort $(UNITS) $(REPLAYS)) \
		$(filter-out $(SLOW_FIRST) $(WAITING),$(SHELL_TESTS)); jobs=$$?; \
	wait $$lane; waited=$$?; \
	echo "--- the waiting lane: $(notdir $(WAITING))"; cat "$(O)/waiting-lane.log"; \
	[ $$jobs -eq 0 ] && [ $$waited -eq 0 ]

test: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 test-only

# detect_stack_use_after_return: cleanups pointing into a finished request's stack frame.
check-san: deps
	$(Q)ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) --no-print-directory WERROR=1 SANITIZE=address,undefined test-only

# The engines for real: the Medusa image recipe built from npm and run with the
# rendered chart's exact commands against PostgreSQL and Redis on loopback
# (tools/check-engines-medusa.sh; npm and Node are cached in $(O)/engines), with
# tests/unit/x-medusa-key.c: reconcile's read of the publishable key, run against it.
check-engines: deps
	$(Q)$(MAKE) --no-print-directory programs $(O)/tests/x-medusa-key
	$(Q)SF_CHECK_ENGINES=1 SF_BUILD="$(abspath $(O))" SF_ROOT="$(CURDIR)" prove --exec '' --timer $(ENGINE_TESTS)

FUZZ_SECONDS ?= 30
fuzz: deps
	$(Q)tools/fuzz.sh $(FUZZ_SECONDS)

# make bench [BENCH_SIZES="1000 10000"]: the fleet sizes of its table (tools/bench.sh)
BENCH_SIZES ?= 1000 10000 50000
bench: deps
	$(Q)$(MAKE) --no-print-directory programs
	$(Q)SF_BUILD="$(abspath $(O))" SF_ROOT="$(CURDIR)" BENCH_SIZES="$(BENCH_SIZES)" tools/bench.sh

clean:
	rm -rf build

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
