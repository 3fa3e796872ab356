# tests/fuzz/local.mk — fuzz targets, always built with ASan+UBSan.
# gcc has no libFuzzer: each target carries a small random-mutation driver
# (compile with -DKW_LIBFUZZER and -fsanitize=fuzzer under clang to use
# libFuzzer instead).  `make fuzz` builds them; tests/kin-window.bats runs
# fuzz_scan for a bounded time.

FUZZ_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all

.PHONY: fuzz
fuzz: build/fuzz/fuzz_scan

build/fuzz/fuzz_scan: tests/fuzz/fuzz_scan.c kin-window/scan.c \
    kin-window/value.c kin-window/kw.h
	@$(MAKE) --no-print-directory SANITIZE=address,undefined build/san/libkin.a
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O1 -g $(FUZZ_SAN) -std=c11 -D_GNU_SOURCE -Wall -Wextra \
	    -Werror -Icommon -Ikin-window -o $@ tests/fuzz/fuzz_scan.c \
	    kin-window/scan.c kin-window/value.c build/san/libkin.a \
	    $(LDLIBS_KIN)
