#!/usr/bin/env bats
# The whole pipeline under the faults operators meet (issue 9): 100 000
# trades with SEQ fields go through `kin-write` into an input stream, then
# `kin-read | kin-window | kin-write` into an output stream, every request
# through tests/faultproxy in front of kinesalite (or, for the last tests,
# with the server killed and restarted, or the middle stage stopped).
# At the end, read straight from kinesalite:
#   - the input stream holds every trade (TICKER, SEQ) not dead-lettered,
#     and no trade twice unless the fault allows it (a PutRecords whose
#     answer was lost after it was done is sent again);
#   - trades = in the input stream + dead-lettered;
#   - the output stream holds exactly the window results of kin-window run
#     on the file (where a duplicate is allowed, but for the count: min and
#     max cannot change), nothing is late and nothing dead-lettered on the
#     way out.

load helpers/common

# Window options.  The faults hold one shard back while the other reads on
# (a refused connection backs each shard off on its own clock): the delay
# allowed covers the whole 500 s of event time, so no record can be late
# and the results must be exactly those of the file.
WIN=(-t EVENT_TIME --size 60s --slide 10s --max-delay 10m -k TICKER
	-a min:SEQ -a max:SEQ -a min:PRICE -a max:PRICE)
N=100000

setup_file() {
	local T=$BATS_FILE_TMPDIR
	kinesis_start --data "$T/data"
	# 200 trades a second of event time: 500 s, from 09:30 UTC
	trade-gen --simulated --seed 9 -n "$N" -r 200 --fields SEQ \
		--start 2026-11-25T09:30:00 --utc >"$T/trades.ndjson"
	kin-window "${WIN[@]}" "$T/trades.ndjson" | sort >"$T/ref"
	[ "$(wc -l <"$T/ref")" -ge 250 ]
}

teardown_file() { kinesis_stop; }

setup() {
	D=$BATS_TEST_TMPDIR
	BG=()
	cd "$D" || return 1
}

teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
}

# proxy RULE...: the fault proxy in front of the server; sets PROXY.
proxy() {
	local args=() r
	for r in "$@"; do args+=(--rule "$r"); done
	"$KIN_ROOT/tests/faultproxy" --upstream "$KIN_ENDPOINT" \
		--port-file fport --log fault.log --seed 11 "${args[@]}" \
		2>fault.err &
	BG+=("$!")
	wait_for test -s fport
	PROXY=http://127.0.0.1:$(head -n1 fport)
}

# pipeline NAME [KIN-WRITE OPTION...]: both halves of the job through
# $PROXY: the trades into NAME-in, then NAME-in through kin-window into
# NAME-out.  Statuses in WST (the first kin-write) and RST WINST OST.
pipeline() {
	local name=$1 T=$BATS_FILE_TMPDIR
	shift
	kinctl create "$name-in" 2 >/dev/null
	kinctl create "$name-out" 1 >/dev/null
	WST=0 RST=0 WINST=0 OST=0
	timeout 300 kin-write --endpoint-url "$PROXY" -s "$name-in" --random-key --rate-limit 0 \
		--dead-letter dl-in.jsonl "$@" "$T/trades.ndjson" 2>write-in.err || WST=$?
	timeout 300 kin-read --endpoint-url "$PROXY" -s "$name-in" -o trim-horizon -e \
		--limit 2000 2>read.err >read.ndjson || RST=$?
	timeout 300 kin-window "${WIN[@]}" --late late.ndjson read.ndjson \
		2>win.err >win.ndjson || WINST=$?
	timeout 300 kin-write --endpoint-url "$PROXY" -s "$name-out" -K key --rate-limit 0 \
		--dead-letter dl-out.jsonl "$@" win.ndjson 2>write-out.err || OST=$?
}

# check NAME DUPS: the promises, read straight from the server.  DUPS is
# "dups" when the fault may have a record put twice.
check() {
	local name=$1 dups=$2 trades dl total distinct lines
	echo "# statuses: write $WST read $RST window $WINST write $OST; faults injected: $(grep -c '^fault' fault.log)" >&3
	if [ "$WST$RST$WINST$OST" != 0000 ]; then
		tail -n 5 write-in.err read.err win.err write-out.err >&2
		false
	fi
	grep -q '^fault' fault.log
	kin-read -s "$name-in" -o trim-horizon -e --limit 10000 |
		jq -r '[.TICKER, .SEQ] | @tsv' >in.keys
	lines=$(wc -l <in.keys)
	distinct=$(sort -u in.keys | wc -l)
	dl=0
	[ ! -e dl-in.jsonl ] || dl=$(wc -l <dl-in.jsonl)
	echo "# input stream: $lines records, $distinct distinct trades, $dl dead-lettered" >&3
	# in = out + dead-lettered; nothing dead-lettered with retries left
	[ "$((distinct + dl))" = "$N" ]
	[ "$dl" = 0 ]
	if [ "$dups" != dups ]; then
		[ "$lines" = "$distinct" ]
	fi
	# kin-read, through the faults, printed every trade; a PutRecords
	# that timed out may land later still, so its copy may come after
	# kin-read ended: the same lines when nothing may repeat
	[ "$(jq -r '[.TICKER, .SEQ] | @tsv' read.ndjson | sort -u | wc -l)" = "$distinct" ]
	if [ "$dups" != dups ]; then
		[ "$(wc -l <read.ndjson)" = "$lines" ]
	fi
	[ ! -s late.ndjson ]
	[ ! -s dl-out.jsonl ]
	kin-read -s "$name-out" -o trim-horizon -e | sort -u >out
	cp "$BATS_FILE_TMPDIR/ref" ref
	if [ "$dups" = dups ]; then
		# a duplicate counts twice; min and max stay
		sed -i 's/"count":[0-9]*,//' ref out
	fi
	if ! cmp -s ref out; then
		echo "missing (<) and wrong (>):" >&2
		diff ref out | head -20 >&2
		false
	fi
}

@test "5% of requests answered 500 or 503" {
	proxy 'share=0.05 status=500 error=InternalFailure' \
		'share=0.05 status=503 error=ServiceUnavailable message=Slow_down'
	pipeline f5xx
	check f5xx no
}

@test "5% of whole requests throttled with ProvisionedThroughputExceededException" {
	proxy 'share=0.05 status=400 error=ProvisionedThroughputExceededException message=Rate_exceeded'
	pipeline fthr
	check fthr no
}

@test "5% of the records inside PutRecords fail on their own" {
	proxy 'op=PutRecords records=0.05 code=ProvisionedThroughputExceededException message=Rate_exceeded_for_shard'
	pipeline frec
	check frec no
	grep -q 'action=records' fault.log
}

@test "GetRecords throttled, and iterators expired early" {
	proxy 'op=GetRecords share=0.3 status=400 error=ProvisionedThroughputExceededException message=Rate_exceeded' \
		'op=GetRecords share=0.1 status=400 error=ExpiredIteratorException message=Iterator_expired'
	pipeline fget
	check fget no
	grep -q 'error=ExpiredIteratorException' fault.log
}

@test "connections reset before the request and after the answer" {
	proxy 'share=0.03 reset=before' 'share=0.03 reset=after'
	pipeline frst
	check frst dups
}

@test "connections refused for 10 s, as when the server restarts" {
	proxy 'op=PutRecords after=60 count=1 refuse=10' \
		'op=GetRecords after=20 count=1 refuse=10'
	pipeline fref
	# the connections open when the listener closes may have been
	# forwarded already: a repeat is allowed
	check fref dups
	[ "$(grep -c 'action=refuse' fault.log)" = 2 ]
}

@test "PutRecords answers delayed past the client's timeout" {
	proxy 'op=PutRecords share=0.05 delay=3'
	pipeline fdly --request-timeout 2s
	check fdly dups
}

@test "answers cut short and answers that are not JSON" {
	proxy 'share=0.03 truncate' 'share=0.03 malformed'
	pipeline fbad
	check fbad dups
	grep -q 'action=truncate' fault.log
	grep -q 'action=malformed' fault.log
}

# lines_at_least N FILE
lines_at_least() { [ "$(wc -l <"$2")" -ge "$1" ]; }
# rss PID: its resident set in kB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# distinct_at_least N FILE: FILE holds N distinct trades or more.
distinct_at_least() {
	[ "$(wc -l <"$2")" -ge "$1" ] &&
		[ "$(jq -r '[.TICKER, .SEQ] | @tsv' "$2" | sort -u | wc -l)" -ge "$1" ]
}

@test "the server killed and restarted on its data directory while the job runs" {
	local T=$BATS_FILE_TMPDIR port pid wpid rpid
	port=$(cat "$KIN_TEST_STATE/port")
	kinctl create fkill-in 2 >/dev/null
	kinctl create fkill-out 1 >/dev/null
	# both halves at once, the reader from the start of the stream
	kin-write -s fkill-in --random-key --rate-limit 0 --dead-letter dl-in.jsonl \
		"$T/trades.ndjson" 2>write-in.err &
	wpid=$!
	kin-read -s fkill-in -o trim-horizon --limit 2000 >read.ndjson 2>read.err &
	rpid=$!
	BG+=("$wpid" "$rpid")
	wait_for -t 60 lines_at_least 20000 read.ndjson
	pid=$(cat "$KIN_TEST_STATE/pid")
	kill -9 "$pid"
	# the writer was still at it
	kill -0 "$wpid"
	sleep 2
	"$KIN_LOCAL" --state-dir "$KIN_TEST_STATE" start --data "$T/data" --port "$port" >/dev/null
	WST=0
	wait "$wpid" || WST=$?
	# the reader goes on after the restart; stop it once it has all
	wait_for -t 120 distinct_at_least "$N" read.ndjson
	kill -TERM "$rpid"
	RST=0
	wait "$rpid" || RST=$?
	[ "$RST" = 0 ] || [ "$RST" = 143 ] || { cat read.err >&2; false; }
	RST=0 WINST=0 OST=0
	kin-window "${WIN[@]}" --late late.ndjson read.ndjson >win.ndjson 2>win.err || WINST=$?
	kin-write -s fkill-out -K key --rate-limit 0 --dead-letter dl-out.jsonl \
		win.ndjson 2>write-out.err || OST=$?
	echo "fault: the server killed and restarted" >>fault.log
	check fkill dups
}

@test "kill -STOP of the middle stage for 30 s: the reader blocks in bounded memory, nothing is lost" {
	local T=$BATS_FILE_TMPDIR rpid wpid opid r1 r2
	kinctl create fstop-in 2 >/dev/null
	kinctl create fstop-out 1 >/dev/null
	kin-write -s fstop-in --random-key --rate-limit 0 "$T/trades.ndjson"
	mkfifo p1 p2
	kin-read -s fstop-in -o trim-horizon -e --limit 2000 <&- >p1 2>read.err &
	rpid=$!
	kin-window "${WIN[@]}" --late late.ndjson <p1 >p2 2>win.err &
	wpid=$!
	kin-write -s fstop-out -K key --rate-limit 0 --dead-letter dl-out.jsonl \
		<p2 2>write-out.err &
	opid=$!
	BG+=("$rpid" "$wpid" "$opid")
	kill -STOP "$wpid"
	sleep 5
	r1=$(rss "$rpid")
	sleep 25
	r2=$(rss "$rpid")
	echo "# kin-read's RSS after 5 s stopped: $r1 kB, after 30 s: $r2 kB" >&3
	[ "$r2" -le "$((r1 + 1024))" ]
	kill -CONT "$wpid"
	RST=0 WINST=0 OST=0 WST=0
	wait "$rpid" || RST=$?
	wait "$wpid" || WINST=$?
	wait "$opid" || OST=$?
	BG=()
	# what the stage saw, for check
	kin-read -s fstop-in -o trim-horizon -e --limit 10000 >read.ndjson
	echo "fault: kin-window stopped for 30 s" >>fault.log
	check fstop no
}
