# tests/soak/local.mk — `make soak`: the full pipeline at a steady rate
# against a local Kinesis for SOAK_SECONDS (default 600), sampling each
# stage's RSS and open descriptors and checking for growth and loss (see
# tests/soak/run).  Not part of `make check`.
.PHONY: soak
soak: all
	@tests/soak/run
