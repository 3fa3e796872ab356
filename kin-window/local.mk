# kin-window/local.mk — test helpers of kin-window: the clock-step shim
# (kin-window/t/clockstep.c), an LD_PRELOAD library for tests/kin-window.bats.
# Always a plain build: a preloaded library must not carry an ASan runtime.
CLOCKSTEP = build/plain/kin-window/libclockstep.so

all: $(CLOCKSTEP)
$(CLOCKSTEP): kin-window/t/clockstep.c kin-window/local.mk
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -O2 -g \
	    -shared -o $@ $< -ldl
