# tests/fuzz-common/local.mk — libFuzzer targets for the parsers in common/
# (JSON, GetRecords and PutRecords answers, base64, times and durations),
# and for the programs' own fast parsers checked against them: kin-read's
# GetRecords fast path (page), KPL de-aggregator (deagg) and -f format
# (fmt), kin-write's PutRecords answer scanner (putscan) and -J envelope
# reader (envelope).  They are built by clang under
# ASan+UBSan from the sources themselves, into build/fuzz-common/, never
# mixed with gcc's objects.
#
#   make fuzz-common-build      the binaries
#   make fuzz                   each for FUZZ_SECONDS (default 300)
#   tests/fuzz-common.bats      each for a few seconds, in make check
#
# New inputs go to build/fuzz-common/corpus/NAME (the committed seeds in
# tests/fuzz-common/corpus/NAME are only read); crashes to
# build/fuzz-common/crash/NAME-*.  Add a crash, once fixed, to the seeds.
FZC_CC      = clang
FZC_DIR     = build/fuzz-common
FZC_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
FZC_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -Icommon \
              -DKIN_VERSION='"$(VERSION)"' -MMD -MP $(FZC_SAN)
FZC_NAMES   = json getrecords putresp base64 time page putscan deagg fmt \
              envelope
FZC_BINS    = $(FZC_NAMES:%=$(FZC_DIR)/fuzz_%)
# every target links the shared helpers; the program targets link the
# program's object too (beside libkin-fuzz.a)
$(FZC_BINS): $(FZC_DIR)/fuzzutil.o
FZC_PROG_OBJ = $(FZC_DIR)/kin-read/page.o $(FZC_DIR)/kin-write/resp.o \
               $(FZC_DIR)/kin-read/deagg.o $(FZC_DIR)/kin-read/out.o
$(FZC_DIR)/fuzz_page:    $(FZC_DIR)/kin-read/page.o
$(FZC_DIR)/fuzz_putscan: $(FZC_DIR)/kin-write/resp.o
$(FZC_DIR)/fuzz_deagg:   $(FZC_DIR)/kin-read/deagg.o
$(FZC_DIR)/fuzz_fmt:     $(FZC_DIR)/kin-read/out.o
# input.c reaches into rec.c, shardmap.c and what they use: kin-write's
# objects less main.o in an archive, the linker takes what it needs
FZC_KW_OBJ = $(patsubst kin-write/%.c,$(FZC_DIR)/kin-write/%.o,\
               $(filter-out kin-write/main.c,$(wildcard kin-write/*.c)))
FZC_KW_LIB = $(FZC_DIR)/libkw-fuzz.a
$(FZC_DIR)/fuzz_envelope: $(FZC_KW_LIB)
$(FZC_KW_LIB): $(FZC_KW_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
FZC_LIB_OBJ = $(LIB_SRC:common/%.c=$(FZC_DIR)/common/%.o)
FZC_LIB     = $(FZC_DIR)/libkin-fuzz.a
FUZZ_SECONDS ?= 300

.PHONY: fuzz fuzz-common fuzz-common-build
fuzz-common-build: $(FZC_BINS)
fuzz: fuzz-common

$(FZC_DIR)/common/%.o: common/%.c
	$(say) CLANG $<
	@mkdir -p $(dir $@)
	$(Q)$(FZC_CC) $(FZC_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZC_DIR)/%.o: tests/fuzz-common/%.c
	$(say) CLANG $<
	@mkdir -p $(dir $@)
	$(Q)$(FZC_CC) $(FZC_CFLAGS) -Ikin-read -Ikin-write -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZC_DIR)/kin-read/%.o: kin-read/%.c
	$(say) CLANG $<
	@mkdir -p $(dir $@)
	$(Q)$(FZC_CC) $(FZC_CFLAGS) -Ikin-read -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZC_DIR)/kin-write/%.o: kin-write/%.c
	$(say) CLANG $<
	@mkdir -p $(dir $@)
	$(Q)$(FZC_CC) $(FZC_CFLAGS) -Ikin-write -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZC_LIB): $(FZC_LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(FZC_DIR)/fuzz_%: $(FZC_DIR)/fuzz_%.o $(FZC_LIB)
	$(say) LINK $@
	$(Q)$(FZC_CC) $(FZC_SAN) -fsanitize=fuzzer -o $@ \
	    $(filter-out $(FZC_LIB) $(FZC_KW_LIB),$^) \
	    $(filter $(FZC_KW_LIB),$^) $(FZC_LIB) $(LDLIBS_KIN)

-include $(FZC_LIB_OBJ:.o=.d) $(FZC_BINS:=.d) $(FZC_PROG_OBJ:.o=.d) \
    $(FZC_KW_OBJ:.o=.d) $(FZC_DIR)/fuzzutil.d
.SECONDARY: $(FZC_BINS:=.o) $(FZC_PROG_OBJ) $(FZC_KW_OBJ) $(FZC_DIR)/fuzzutil.o

# Each target in turn; the first failure stops with its crash file named.
fuzz-common: $(FZC_BINS)
	@set -e; for n in $(FZC_NAMES); do \
	  mkdir -p $(FZC_DIR)/corpus/$$n $(FZC_DIR)/crash; \
	  echo "  FUZZ   $$n for $(FUZZ_SECONDS) s"; \
	  $(FZC_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FZC_DIR)/crash/$$n- \
	    $(FZC_DIR)/corpus/$$n tests/fuzz-common/corpus/$$n \
	    2>$(FZC_DIR)/$$n.log || \
	  { tail -n 40 $(FZC_DIR)/$$n.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|new_units_added)' \
	    $(FZC_DIR)/$$n.log | sed 's/^/         /'; \
	done
