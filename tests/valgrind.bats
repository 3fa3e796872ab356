#!/usr/bin/env bats
# Valgrind memcheck over short real runs (issue 9): each of the four
# programs alone, then the barrier pipeline with every stage under valgrind
# at once, against the local Kinesis.  No invalid access, no use of
# uninitialised memory, no definitely or indirectly lost block (still
# reachable memory at exit is allowed).  A few hundred records: valgrind
# runs code some 20 to 50 times slower.

load helpers/common

N=300
WIN=(-t EVENT_TIME --size 60s --slide 10s --max-delay 10m -k TICKER
	-a count -a sum:SEQ -a max:PRICE)

setup_file() {
	if ! command -v valgrind >/dev/null; then
		skip 'valgrind not found: run infra/local/install-deps'
	fi
	kinesis_start
	local T=$BATS_FILE_TMPDIR
	trade-gen --simulated --seed 7 -n "$N" --fields SEQ \
		--start 2026-11-25T09:30:00 --utc >"$T/trades.ndjson"
	kinctl create vin 2 >/dev/null
	kin-write -s vin -K TICKER "$T/trades.ndjson"
}

teardown_file() { kinesis_stop; }

setup() {
	T=$BATS_FILE_TMPDIR
	D=$BATS_TEST_TMPDIR
	BG=()
	cd "$D" || return 1
}

teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	exec 7>&- 2>/dev/null || true
}

# vg NAME CMD...: CMD under memcheck, its report in vg.NAME.PID.  Leaks of
# the kinds asked for count as errors, so the exit status is 99 on any.
# It execs: call it where a subshell runs it (run, a pipeline, &), so a
# signal sent to its pid reaches the program.
vg() {
	local name=$1
	shift
	exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 --track-origins=yes \
		--log-file="$D/vg.$name.%p" "$@"
}

# vg_clean NAME...: each named run left one report, and it says no error
# (leaks included); otherwise show the reports.
vg_clean() {
	local name f bad=0 n
	for name; do
		n=0
		for f in "$D"/vg."$name".*; do
			[ -f "$f" ] || continue
			n=$((n + 1))
			grep -q 'ERROR SUMMARY: 0 errors' "$f" || bad=1
		done
		if [ "$n" != 1 ]; then
			echo "valgrind: $n reports for $name, not 1" >&2
			bad=1
		fi
	done
	if [ "$bad" = 1 ]; then
		for name; do
			for f in "$D"/vg."$name".*; do
				[ -f "$f" ] || continue
				echo "--- $f" >&2
				cat "$f" >&2
			done
		done
		return 1
	fi
}

@test "trade-gen under valgrind: the same trades, no errors, no leaks" {
	run -0 --separate-stderr vg tg trade-gen --simulated --seed 7 -n "$N" \
		--fields SEQ --start 2026-11-25T09:30:00 --utc
	vg_clean tg
	printf '%s\n' "${lines[@]}" | cmp - "$T/trades.ndjson"
}

@test "kin-write under valgrind: puts, a dead-lettered line, no errors, no leaks" {
	kinctl create vw 1 >/dev/null
	{ head -n 100 "$T/trades.ndjson"; echo 'not json'; } >in.ndjson
	# -K on a line that is not JSON: dead-lettered, the run exits 1
	run -1 --separate-stderr vg kw kin-write -s vw -K TICKER \
		--dead-letter dl.ndjson in.ndjson
	vg_clean kw
	[ "$(wc -l <dl.ndjson)" = 1 ]
	run -0 --separate-stderr kin-read -s vw -o trim-horizon -e
	[ "${#lines[@]}" = 100 ]
}

@test "kin-read under valgrind: two shards with a checkpoint, no errors, no leaks" {
	run -0 --separate-stderr vg kr kin-read -s vin -o trim-horizon -e \
		--checkpoint ck
	vg_clean kr
	[ "${#lines[@]}" = "$N" ]
	printf '%s\n' "${lines[@]}" | sort | cmp - <(sort "$T/trades.ndjson")
}

@test "kin-read -J | kin-write -J under valgrind: a copy with its keys, no errors, no leaks" {
	kinctl create vj 1 >/dev/null
	local sts=()
	{
		vg krj kin-read -s vin -o trim-horizon -e -J 2>kr.err |
			vg kwj kin-write -J -s vj 2>kw.err
		sts=("${PIPESTATUS[@]}")
	} || true
	[ "${sts[*]}" = '0 0' ] || { echo "exit statuses ${sts[*]}" >&2; cat kr.err kw.err >&2; }
	vg_clean krj kwj
	[ "${sts[*]}" = '0 0' ]
	run -0 --separate-stderr kin-read -s vj -o trim-horizon -e -J
	[ "${#lines[@]}" = "$N" ]
	# the keys came along: each record's key is its trade's TICKER
	printf '%s\n' "${lines[@]}" >copy.ndjson
	jq -e -s 'all(.key == .data.TICKER)' copy.ndjson
}

# lines_at_least N FILE
lines_at_least() { [ "$(wc -l <"$2")" -ge "$1" ]; }

@test "kin-read under valgrind, stopped by SIGTERM while it waits for more: no errors, no leaks" {
	vg krt kin-read -s vin -o trim-horizon --checkpoint ck >out 2>err 3>&- &
	local pid=$! st=0
	BG+=("$pid")
	KIN_WAIT_TIMEOUT=60 wait_for lines_at_least "$N" out
	kill -TERM "$pid"
	wait "$pid" || st=$?
	[ "$st" = 0 ] || { echo "exit status $st" >&2; cat err >&2; }
	vg_clean krt
	[ "$st" = 0 ]
	[ "$(wc -l <out)" = "$N" ]
}

# has_n STREAM N: the stream holds N records
has_n() { [ "$(kin-read -s "$1" -o trim-horizon -e | wc -l)" = "$2" ]; }

@test "kin-write under valgrind, stopped by SIGTERM while its input is open: no errors, no leaks" {
	kinctl create vt 1 >/dev/null
	mkfifo in.fifo
	vg kwt kin-write -s vt -K TICKER <in.fifo 2>err 3>&- &
	local pid=$! st=0
	BG+=("$pid")
	exec 7>in.fifo
	head -n 50 "$T/trades.ndjson" >&7
	KIN_WAIT_TIMEOUT=60 wait_for has_n vt 50
	kill -TERM "$pid"
	wait "$pid" || st=$?
	exec 7>&-
	[ "$st" = 0 ] || { echo "exit status $st" >&2; cat err >&2; }
	vg_clean kwt
	[ "$st" = 0 ]
}

@test "kin-window under valgrind: sliding event-time windows, no errors, no leaks" {
	run -0 --separate-stderr vg kwin kin-window "${WIN[@]}" \
		"$T/trades.ndjson"
	vg_clean kwin
	# each trade is in size/slide = 6 windows
	printf '%s\n' "${lines[@]}" >win.ndjson
	[ "$(jq -s 'map(.count) | add' win.ndjson)" = $((N * 6)) ]
}

@test "the barrier pipeline, every stage under valgrind: no errors, no leaks" {
	kinctl create vout 1 >/dev/null
	local sts=()
	{
		vg kr kin-read -s vin -o trim-horizon -e --checkpoint ck \
			--barrier-interval 100ms 2>kr.err |
			vg kwin kin-window "${WIN[@]}" --state state 2>kwin.err |
			vg kw kin-write -s vout --aggregate --checkpoint ck 2>kw.err
		sts=("${PIPESTATUS[@]}")
	} || true
	if [ "${sts[*]}" != '0 0 0' ]; then
		echo "exit statuses ${sts[*]}" >&2
		cat kr.err kwin.err kw.err >&2
		vg_clean kr kwin kw
		return 1
	fi
	vg_clean kr kwin kw
	# the output stream holds what kin-window makes of the trades alone
	kin-window "${WIN[@]}" "$T/trades.ndjson" | sort >want
	run -0 --separate-stderr kin-read -s vout -o trim-horizon -e
	printf '%s\n' "${lines[@]}" | sort | cmp - want
	[ "$(jq .barrier ck)" -ge 1 ]
}
