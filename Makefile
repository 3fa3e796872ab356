# kin — top-level build. Plain make: every common/*.c goes into libkin.a,
# every PROG/*.c into PROG, every tests/unit/test_*.c into a unit-test binary.

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANPREFIX ?= $(PREFIX)/share/man
DESTDIR  ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
KIN_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon \
             -DKIN_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS_KIN = -lcurl -lcrypto -lm -lpthread

# make SANITIZE=address,undefined: objects go to a separate tree so a
# sanitized build never mixes with a plain one.
ifneq ($(SANITIZE),)
  KIN_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS    += -fsanitize=$(SANITIZE)
  B = build/san
else
  B = build/plain
endif

ifeq ($(V),1)
  Q =
  say = @true
else
  Q = @
  say = @printf '  %-6s %s\n'
endif

PROGS   = trade-gen kin-write kin-read kin-window
LIB_SRC = $(wildcard common/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
LIB     = $(B)/libkin.a
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
MANS     = $(wildcard man/*.[1-9])

.PHONY: all check unit unit-san bats lint bench install uninstall clean demo deps
# Plain programs land in their own directory (kin-read/kin-read); sanitized
# ones under build/san/bin so tests can pick either.
binof = $(if $(SANITIZE),$(B)/bin/$(1),$(1)/$(1))
PROG_BINS = $(foreach p,$(PROGS),$(call binof,$(p)))
all: $(PROG_BINS) $(LIB)

define prog_rules
$(1)_SRC = $$(wildcard $(1)/*.c)
$(1)_OBJ = $$($(1)_SRC:%.c=$$(B)/%.o)
$(call binof,$(1)): $$($(1)_OBJ) $$(LIB)
	$$(say) LINK $$@
	@mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJ) $$(LIB) $$(LDLIBS_KIN)
-include $$($(1)_OBJ:.o=.d)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rules,$(p))))

$(B)/%.o: %.c
	$(say) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(LIB)
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_KIN)

# Small tools the tests use, built from common/ (tests/helpers/NAME.c).
HELPER_SRC = $(wildcard tests/helpers/*.c)
HELPER_BIN = $(HELPER_SRC:tests/helpers/%.c=$(B)/helpers/%)
$(B)/helpers/%: tests/helpers/%.c $(LIB)
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_KIN)
all: $(HELPER_BIN)

-include $(LIB_OBJ:.o=.d) $(UNIT_BIN:=.d) $(HELPER_BIN:=.d)

# A directory may add its own rules (fuzz targets, benches) in local.mk.
-include $(wildcard */local.mk tests/*/local.mk)

deps:
	@infra/local/install-deps

# The unit tests run twice: plain and under ASan+UBSan.
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "  UNIT   $$t"; $$t; done

unit-san:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined unit

bats: all
	@tests/run-bats

# Builds inside check use $(JOBS) compilers (the machines here have 2 cores).
JOBS ?= 2
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory -j$(JOBS) unit
	@$(MAKE) --no-print-directory -j$(JOBS) unit-san
	@$(MAKE) --no-print-directory lint
	@tests/run-bats

lint:
	@tests/lint

bench: all
	@infra/local/install-deps --bench
	@tests/bench/run

demo: deps all
	@infra/local/demo

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man7
	install -m 755 $(PROG_BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MANS); do s=$${m##*.}; install -d $(DESTDIR)$(MANPREFIX)/man$$s; \
	  install -m 644 $$m $(DESTDIR)$(MANPREFIX)/man$$s/; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MANS); do s=$${m##*.}; rm -f $(DESTDIR)$(MANPREFIX)/man$$s/$${m#man/}; done

clean:
	rm -rf build $(foreach p,$(PROGS),$(p)/$(p))
