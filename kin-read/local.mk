# kin-read's own unit tests: the parts of kin-read that are pure logic (the
# GetRecords fast path against the library's parser, KPL de-aggregation,
# output lines) built with kin-read's objects less main.o.  They are built
# by `make all` and run by tests/kin-read.bats.
KR_TEST_SRC = $(wildcard kin-read/test/test_*.c)
KR_TEST_BIN = $(KR_TEST_SRC:kin-read/test/%.c=$(B)/kin-read/%)
KR_TEST_OBJ = $(filter-out $(B)/kin-read/main.o,$(kin-read_OBJ))

$(B)/kin-read/test_%: kin-read/test/test_%.c $(KR_TEST_OBJ) $(LIB)
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) -Ikin-read -Itests/unit $(LDFLAGS) -o $@ $< $(KR_TEST_OBJ) $(LIB) $(LDLIBS_KIN)

all: $(KR_TEST_BIN)
-include $(KR_TEST_BIN:=.d)
