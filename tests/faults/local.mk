# tests/faults/local.mk — the disk-fault shim (tests/faults/eiofs.c), an
# LD_PRELOAD library for tests/faults-disk.bats.  Always a plain build, even
# under SANITIZE: a preloaded library must not carry its own ASan runtime.
EIOFS = build/plain/faults/libeiofs.so
EIOFS_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -O2 -g

all: $(EIOFS)
$(EIOFS): tests/faults/eiofs.c tests/faults/local.mk
	$(say) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(EIOFS_CFLAGS) -shared -o $@ $< -ldl
