# kin-write's unit test (kin-write/t/): its KPL encoder, reply scanner,
# token bucket and PutRecords body, linked with the objects they live in.
# `make unit` builds and runs it (and `make unit-san` under ASan/UBSan).
KW_UNIT_OBJ = $(B)/kin-write/agg.o $(B)/kin-write/body.o $(B)/kin-write/resp.o $(B)/kin-write/rec.o \
	$(B)/kin-write/shardmap.o $(B)/kin-write/ratelimit.o
$(B)/tests/test_kin_write: kin-write/t/test_kin_write.c $(KW_UNIT_OBJ) $(LIB)
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) -Ikin-write -Itests/unit $(LDFLAGS) -o $@ $< $(KW_UNIT_OBJ) $(LIB) $(LDLIBS_KIN)
-include $(B)/tests/test_kin_write.d

.PHONY: kw-unit
kw-unit: $(B)/tests/test_kin_write
	@echo "  UNIT   $<"; $<
unit: kw-unit
