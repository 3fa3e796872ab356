#!/usr/bin/env bats
# infra/local/demo (`make demo`): the original job's lines read back from
# the output stream (the same lines kin-window gives on the same trades
# without Kinesis in between), OHLC candles as JSON, narration on stderr,
# well under a minute; and no process left behind after a normal end, a
# SIGTERM mid-run, or Ctrl-C in LIVE mode.
#
# Each run carries a marker in its environment (KIN_DEMO_TEST_MARK), which
# every process it starts inherits, kinesalite included: a process left
# behind is one whose /proc/PID/environ still holds it.

load helpers/common

DEMO="$KIN_ROOT/infra/local/demo"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	MARK="demo-test-$BATS_TEST_NUMBER-$$-$RANDOM"
	export KIN_DEMO_TEST_MARK=$MARK
}

# left_behind: pids and command lines of live processes with our marker.
left_behind() {
	local f pid found=1
	for f in /proc/[0-9]*/environ; do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[ "$pid" != "$$" ] || continue
		if { tr '\0' '\n' <"$f"; } 2>/dev/null | grep -qxF "KIN_DEMO_TEST_MARK=$MARK"; then
			printf '%s %s\n' "$pid" "$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)"
			found=0
		fi
	done
	return "$found"
}

assert_nothing_left() {
	local left
	if left=$(left_behind); then
		echo "processes left behind by the demo:" >&2
		echo "$left" >&2
		return 1
	fi
}

WINDOW_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})? ==> (AMZN|GOOG|AZRE|ORCL|BABA) : Stock Value: [0-9]+\.[0-9]+(E-?[0-9]+)?$'

@test "demo: the job's lines from the output stream, then OHLC candles, under a minute, nothing left" {
	local t0 t1
	t0=$(date +%s%3N)
	run -0 --separate-stderr "$DEMO"
	t1=$(date +%s%3N)
	echo "demo took $((t1 - t0)) ms" >&3
	[ $((t1 - t0)) -lt 60000 ]
	assert_nothing_left

	printf '%s\n' "${lines[@]}" | grep -E "$WINDOW_RE" >windows.txt || true
	printf '%s\n' "${lines[@]}" | grep '^{' >candles.ndjson || true
	# Every stdout line is one or the other.
	[ $(($(wc -l <windows.txt) + $(wc -l <candles.ndjson))) -eq "${#lines[@]}" ]

	# Ten minutes of 5 trades a second, 60 s windows sliding by 30 s:
	# 21 window starts x 5 tickers, all read back from the output stream,
	# exactly what kin-window says on the same trades with no Kinesis in
	# between (one partition key keeps them in order on one shard).
	[ "$(wc -l <windows.txt)" -eq 105 ]
	trade-gen --simulated --seed 42 --start 2026-11-25T09:30:00 --tz UTC -d 10m |
		kin-window -t EVENT_TIME --size 60s --slide 30s -a first:EVENT_TIME \
			-a max:PRICE -f '{first_EVENT_TIME} ==> {TICKER} : Stock Value: {max_PRICE:java}\n' >want.txt
	diff want.txt windows.txt

	# One-minute candles: 10 minutes x 5 tickers, each a JSON object with
	# the OHLC fields and low <= open, close <= high.
	[ "$(wc -l <candles.ndjson)" -eq 50 ]
	jq -e -s 'all(.[]; (.key | type) == "string" and (.count | type) == "number"
		and .low <= .open and .open <= .high and .low <= .close and .close <= .high
		and .start < .end)' candles.ndjson

	# It says what it does, on stderr.
	[[ $stderr == *"starting a local Kinesis"* ]]
	[[ $stderr == *"creating stocktrading-ingest-stream (2 shards) and stocktrading-output-stream"* ]]
	[[ $stderr == *"step 4/4"* ]]
	[[ $stderr == *"3000 trades put"* ]]
}

@test "demo: SIGTERM mid-run stops every process it started and exits 143" {
	"$DEMO" >out 2>err 3>&- &
	local pid=$!
	# Stop it while a pipeline runs.
	wait_for -t 30 grep -q 'step 2/4\|step 3/4' err
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	cat err
	[ "$st" -eq 143 ]
	grep -q 'terminated: stopping' err
	assert_nothing_left
}

@test "demo: LIVE=1 runs on the wall clock until Ctrl-C, then leaves nothing" {
	# A background job of a script ignores SIGINT; give it back its default
	# so the demo sees Ctrl-C as on a terminal.
	LIVE=1 env --default-signal=INT "$DEMO" >out 2>err 3>&- &
	local pid=$!
	wait_for -t 30 grep -q 'LIVE: running' err
	# The producer is putting trades (its first progress line comes after
	# a second).
	wait_for -t 30 grep -q '^demo: producer: kin-write: in [1-9]' err
	kill -INT "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 0 ]
	grep -q 'interrupted: stopping the pipelines' err
	assert_nothing_left
}
