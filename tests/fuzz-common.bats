#!/usr/bin/env bats
# The libFuzzer targets of tests/fuzz-common, each for a short bounded time
# from its committed seed corpus under ASan and UBSan: common/'s parsers
# (JSON, GetRecords and PutRecords answers, base64, times and durations),
# and the programs' fast parsers against them (kin-read's GetRecords fast
# path, KPL de-aggregator and -f format, kin-write's PutRecords scanner and
# -J envelope reader).
# `make fuzz` runs them for longer (FUZZ_SECONDS, default 300).
# KIN_FUZZ_SECONDS sets the time here (default 8 s each).

load helpers/common

FZ="$KIN_ROOT/build/fuzz-common"
SEEDS="$KIN_ROOT/tests/fuzz-common/corpus"

setup_file() {
	command -v clang >/dev/null || {
		echo 'clang not found: run infra/local/install-deps' >&2
		return 1
	}
	# a make of our own, not the jobserver of a make check that may have
	# started this test
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$KIN_ROOT" --no-print-directory -s fuzz-common-build >&2
}

# fuzz NAME: run fuzz_NAME for KIN_FUZZ_SECONDS; new inputs go to a scratch
# corpus, the seeds are only read. On a crash, show the report and the input.
fuzz() {
	local n=$1 secs=${KIN_FUZZ_SECONDS:-8} log=$BATS_TEST_TMPDIR/fuzz.log crash
	if [ -z "$(ls -A "$SEEDS/$n" 2>/dev/null)" ]; then
		echo "no seed corpus in $SEEDS/$n" >&2
		return 1
	fi
	mkdir -p "$BATS_TEST_TMPDIR/corpus"
	if ! "$FZ/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$BATS_TEST_TMPDIR/" \
		"$BATS_TEST_TMPDIR/corpus" "$SEEDS/$n" 2>"$log"; then
		grep -v '^#' "$log" | tail -n 40 >&2
		for crash in "$BATS_TEST_TMPDIR"/crash-* "$BATS_TEST_TMPDIR"/leak-* \
			"$BATS_TEST_TMPDIR"/timeout-* "$BATS_TEST_TMPDIR"/oom-*; do
			[ -f "$crash" ] || continue
			printf 'input %s (base64): %s\n' "${crash##*/}" "$(base64 -w0 "$crash")" >&2
		done
		return 1
	fi
	# it really ran: the seeds loaded and inputs were tried
	grep -q 'INITED' "$log"
	grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/# fuzz_$n: /" >&3
}

@test "fuzz_json: kin_json_parse and every accessor on every token" { fuzz json; }
@test "fuzz_getrecords: kin_get_records_parse" { fuzz getrecords; }
@test "fuzz_putresp: kin_put_records_parse" { fuzz putresp; }
@test "fuzz_base64: kin_b64_decode, and encode round trips" { fuzz base64; }
@test "fuzz_time: kin_parse_time_us, durations, sizes, numbers" { fuzz time; }
@test "fuzz_page: kin-read's GetRecords fast path agrees with the library" { fuzz page; }
@test "fuzz_putscan: kin-write's PutRecords scanner agrees with the library" { fuzz putscan; }
@test "fuzz_deagg: kin-read's KPL de-aggregator" { fuzz deagg; }
@test "fuzz_fmt: kin-read's -f format renders what its man page says" { fuzz fmt; }
@test "fuzz_envelope: kin-write's -J reader agrees with a generic JSON reading" { fuzz envelope; }
