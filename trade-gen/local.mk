# trade-gen/local.mk — extra rules for trade-gen (included by the Makefile).

# The walk model's bytes for a --seed must not depend on whether the
# compiler fuses a*b+c into one rounding (clang does by default where FMA
# exists): keep every operation IEEE-rounded on its own.
$(B)/trade-gen/%.o: KIN_CFLAGS += -ffp-contract=off

# fmt-check: the price formatting over hard cases, checked against python3
# by tests/trade-gen.bats; not linked into trade-gen.
TG_FMTCHECK = $(B)/trade-gen/fmt-check
all: $(TG_FMTCHECK)
$(TG_FMTCHECK): trade-gen/check/fmt-check.c trade-gen/fmt.h trade-gen/rng.h
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(KIN_CFLAGS) -ffp-contract=off $(LDFLAGS) -o $@ $< -lm
