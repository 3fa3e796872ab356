#!/usr/bin/env bats
# The pipeline as one product (issue 7, DESIGN.md section 4): checkpoint
# barriers from kin-read through kin-window to kin-write, the checkpoint
# file's one writer and its lock, metrics, SIGHUP, one properties file for
# every program — and the proof: kill -9 any stage at random moments, restart
# the whole pipeline each time, and the output stream still holds every
# window result of one uninterrupted run.

load helpers/common

SHIM="$KIN_ROOT/build/plain/faults/libeiofs.so"

# Window options of the proof: order-independent aggregates, so a result
# depends only on which records its window got.  The random partition
# keys split the trades unevenly (up to 11% apart between the shards), and
# kin-read gives the shards a page each in turn, so the lighter shard runs
# ahead in event time (by more than 2 minutes over one last run, before
# kin-read's turns were fair): a window can fire before the other shard's
# records for it came.  --allowed-lateness longer than the data
# lets those records update and re-emit it, so the last result of every
# window is whole (and late.ndjson stays empty).
WIN=(-t EVENT_TIME --size 60s --slide 10s --max-delay 2m
	--allowed-lateness 30m -k TICKER
	-a count -a sum:SEQ -a min:SEQ -a max:SEQ -a max:PRICE)

setup_file() {
	kinesis_start
	local T=$BATS_FILE_TMPDIR
	# 200 000 trades with SEQ, 200 a second of event time (1000 s, from
	# 09:30 UTC), into a 2-shard stream.  Random partition keys spread
	# every ticker over both shards; small KPL aggregates make putting
	# fast and reading slow enough to kill into.
	trade-gen --simulated --seed 42 -n 200000 -r 200 --fields SEQ \
		--start 2026-11-25T09:30:00 --utc >"$T/trades.ndjson"
	kinctl create pin 2 >/dev/null
	kin-write -s pin --random-key --aggregate --aggregate-max-size 4K \
		--rate-limit 0 "$T/trades.ndjson"
	# A small stream for the other tests.
	kinctl create small 2 >/dev/null
	head -2000 "$T/trades.ndjson" | kin-write -s small -K TICKER
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
		kill -9 "$p" 2>/dev/null || true
	done
	exec 7>&- 2>/dev/null || true
}

# ctl FILE: the control lines of FILE, without their RS byte.
ctl() { grep -a $'^\036' "$1" | cut -c2-; }

# barrier_of FILE: the barrier id on the first line of a checkpoint or
# state file (bash only: polled often), or -1.
barrier_of() {
	local l=''
	[ -e "$1" ] && IFS= read -r l <"$1" 2>/dev/null
	if [[ $l =~ \"barrier\":([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo -1
	fi
}

alive() { kill -0 "$1" 2>/dev/null; }
# status_is N PID: PID (a child) exits with N.
status_is() {
	local st=0
	wait "$2" || st=$?
	[ "$st" = "$1" ] || { echo "pid $2 exited $st, not $1" >&2; return 1; }
}
# has_record STREAM LINE: the stream holds a record LINE.
has_record() { kin-read -s "$1" -o trim-horizon -e | grep -qxF -- "$2"; }
# lines_at_least N FILE
lines_at_least() { [ "$(wc -l <"$2")" -ge "$1" ]; }
all_gone() {
	local p
	for p; do ! alive "$p" || return 1; done
}

@test "barrier mode needs --checkpoint" {
	run -64 --separate-stderr kin-read -s small --barrier-interval 1s
	assert_stderr --partial '--barrier-interval needs --checkpoint'
}

@test "kin-read | kin-write with barriers: restore, barriers, end; the copy is exactly once across runs" {
	kinctl create copy1 1 >/dev/null
	# kin-read writes restore (no id: nothing committed), barriers with
	# every shard's position, a last barrier and end; kin-write commits
	# each barrier once its records are acknowledged.
	kin-read -s small -o trim-horizon -e --limit 100 --checkpoint ck \
		--barrier-interval 50ms 2>r.err | tee r.out |
		kin-write -s copy1 --checkpoint ck 2>w.err
	ctl r.out >c1
	[ "$(head -1 c1)" = '{"kin":"restore"}' ]
	[ "$(tail -1 c1)" = '{"kin":"end"}' ]
	n=$(grep -c '"barrier"' c1)
	[ "$n" -ge 2 ]
	# ids 1..n in order; each barrier names both shards
	run -0 jq -r 'select(.kin == "barrier") | .id' c1
	[ "${lines[*]}" = "$(seq -s ' ' 1 "$n")" ]
	jq -e -s 'map(select(.kin == "barrier")) | all(.stream == "small" and (.shards | length) == 2)' c1
	# the file holds the last barrier, exactly as kin-read sent it, 0600
	[ "$(jq .barrier ck)" = "$n" ]
	grep '"barrier"' c1 | tail -1 | jq -c .shards >want
	jq -c .shards ck | cmp - want
	[ "$(stat -c %a ck)" = 600 ]
	# the data went through whole, control lines never as records
	run -0 --separate-stderr kin-read -s copy1 -o trim-horizon -e
	[ "${#lines[@]}" = 2000 ]
	# a second run resumes after the last barrier: restore with its id,
	# nothing new to copy, the next barrier id, end
	kin-read -s small -e --checkpoint ck --barrier-interval 50ms 2>>r.err |
		tee r2.out | kin-write -s copy1 --checkpoint ck 2>>w.err
	ctl r2.out >c2
	[ "$(head -1 c2)" = "{\"kin\":\"restore\",\"id\":$n}" ]
	[ "$(tail -1 c2)" = '{"kin":"end"}' ]
	[ "$(grep -a -c -v $'^\036' r2.out)" = 0 ]
	[ "$(jq .barrier ck)" -gt "$n" ]
	run -0 --separate-stderr kin-read -s copy1 -o trim-horizon -e
	[ "${#lines[@]}" = 2000 ]
}

@test "one writer per checkpoint: a second pipeline on the file is refused with 75" {
	# A kin-write holds the lock from its first restore line on: once the
	# record after that line is in the stream.  (Probing with flock(1)
	# would take the lock itself.)
	kinctl create lock1 1 >/dev/null
	mkfifo f
	kin-write -s lock1 --checkpoint ck <f 2>w1.err &
	BG+=("$!")
	exec 7>f
	printf '\036{"kin":"restore"}\n{"n":1}\n' >&7
	wait_for has_record lock1 '{"n":1}'
	run -75 --separate-stderr kin-read -s small -e --checkpoint ck --barrier-interval 1s
	assert_stderr --partial "checkpoint 'ck' is in use: a kin-write holds 'ck.lock'"
	[ -z "$output" ]
	printf '\036{"kin":"restore"}\n' >r
	run -75 --separate-stderr kin-write -s small --checkpoint ck r
	assert_stderr --partial "checkpoint 'ck' is in use"
	# kin-read alone writes its checkpoint itself, and holds the lock too
	run -75 --separate-stderr kin-read -s small -e --checkpoint ck
	assert_stderr --partial "checkpoint 'ck' is in use"
	exec 7>&-
	# the holder saw no end: upstream stopped early, 75
	status_is 75 "${BG[0]}"
	flock -n ck.lock true
	run -0 --separate-stderr kin-read -s small -e -c 1 --checkpoint ck
}

@test "kin-write commits a barrier only once all before it is acknowledged, and reads on meanwhile" {
	kinctl create slow1 1 >/dev/null
	# Every PutRecords fails until the rule is taken away.
	echo 'op=PutRecords status=500 error=InternalFailure message=down' >rules
	"$KIN_ROOT/tests/faultproxy" --upstream "$KIN_ENDPOINT" --rules rules \
		--port-file port --log flog 2>fp.err &
	BG+=("$!")
	wait_for test -s port
	barrier=$(kin-read -s small -o trim-horizon -e --checkpoint ck0 \
		--barrier-interval 1h | grep -a '"barrier"' | head -1)
	mkfifo f
	kin-write --endpoint-url "http://127.0.0.1:$(head -1 port)" -s slow1 \
		--record-ttl 0 --checkpoint ck <f 2>w.err &
	BG+=("$!")
	exec 7>f
	printf '\036{"kin":"restore"}\n{"n":1}\n{"n":2}\n%s\n{"n":3}\n' "$barrier" >&7
	# retried, never acknowledged: no commit
	faults() { [ "$(grep -c PutRecords flog)" -ge 3 ]; }
	wait_for -t 30 faults
	[ ! -e ck ]
	# input after the barrier is still read while it waits
	printf '{"n":4}\n' >&7
	# the service comes back: the barrier is committed, with records 1
	# and 2 (and maybe more) in the stream
	: >rules
	wait_for -t 30 test -s ck
	[ "$(jq .barrier ck)" = 1 ]
	run -0 --separate-stderr kin-read -s slow1 -o trim-horizon -e
	assert_line '{"n":1}'
	assert_line '{"n":2}'
	printf '\036{"kin":"end"}\n' >&7
	exec 7>&-
	status_is 0 "${BG[1]}"
	run -0 --separate-stderr kin-read -s slow1 -o trim-horizon -e
	[ "${#lines[@]}" = 4 ]
}

@test "kin-write: an input that ends without end commits nothing more, exits 75, drops a cut last line" {
	kinctl create cut1 1 >/dev/null
	kin-read -s small -o trim-horizon -e --checkpoint ck0 --barrier-interval 1h |
		grep -a '"barrier"' >b
	[ "$(wc -l <b)" = 1 ]
	{ printf '\036{"kin":"restore"}\n{"n":1}\n'; cat b; printf '{"n":2}\n{"n":3'; } >in
	run -75 --separate-stderr kin-write -s cut1 --checkpoint ck in
	assert_stderr --partial 'line 5 has no newline at the end of the input'
	assert_stderr --partial "input ended without an 'end' control line: upstream stopped early; checkpoint left at barrier 1"
	[ "$(jq .barrier ck)" = 1 ]
	run -0 --separate-stderr kin-read -s cut1 -o trim-horizon -e
	[ "${lines[*]}" = '{"n":1} {"n":2}' ]
	# without any control line it is no pipeline: no end needed
	printf '{"n":9}\n' | kin-write -s cut1 --checkpoint ck
}

@test "kin-write: a checkpoint that cannot be written stops it with 74, the last good one kept" {
	[ -f "$SHIM" ] || skip "no $SHIM"
	kinctl create disk1 1 >/dev/null
	kin-read -s small -o trim-horizon -e --checkpoint ck0 --barrier-interval 1h |
		grep -a '"barrier"' >b
	{ printf '\036{"kin":"restore"}\n{"n":1}\n'; cat b; printf '{"n":2}\n'; cat b;
		printf '\036{"kin":"end"}\n'; } >in
	# the first commit works, the second cannot rename its file
	run -74 --separate-stderr env LD_PRELOAD="$SHIM" \
		ASAN_OPTIONS=verify_asan_link_order=0 KIN_FAULT_PATH='*/ck' \
		KIN_FAULT_OP=rename KIN_FAULT_AFTER=2 KIN_FAULT_LOG=flog \
		kin-write -s disk1 --checkpoint "$D/ck" in
	assert_stderr --partial "cannot commit barrier 1: cannot rename"
	grep -q rename flog
	[ "$(jq .barrier ck)" = 1 ]
	jq -e '.shards | length == 2' ck
}

@test "kill -9 any stage at random moments: the output holds every window result of an uninterrupted run" {
	local T=$BATS_FILE_TMPDIR seed=${KIN_PIPE_SEED:-$$} s p mode target base sb
	local rs ws ks kills=0 t0 lines
	local -A n=([read]=0 [window]=0 [write]=0)
	kinctl create pout 1 >/dev/null
	kin-window "${WIN[@]}" "$T/trades.ndjson" >ref.ndjson
	[ "$(wc -l <ref.ndjson)" -ge 500 ]

	start_pipe() {
		rm -f p1 p2
		mkfifo p1 p2
		kin-read -s pin -o trim-horizon -e --limit 10 --checkpoint ck \
			--barrier-interval 250ms >p1 2>>read.err &
		RPID=$!
		kin-window "${WIN[@]}" --state st --late late.ndjson <p1 >p2 2>>win.err &
		WPID=$!
		kin-write -s pout --checkpoint ck <p2 2>>write.err &
		KPID=$!
		BG=("$RPID" "$WPID" "$KPID")
	}
	committed() { barrier_of ck; }
	newer_state() { [ "$(barrier_of st)" -gt "$sb" ]; }
	at_target() { [ "$(committed)" -ge "$target" ]; }

	# 12 kills, each stage 4 times, in a random order
	RANDOM=$seed
	local stages=(read window write read window write read window write read window write)
	for ((i = ${#stages[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		s=${stages[i]} stages[i]=${stages[j]} stages[j]=$s
	done
	echo "# seed $seed (KIN_PIPE_SEED repeats it)" >&3
	t0=$(date +%s)
	for s in "${stages[@]}"; do
		start_pipe
		# The moment: 1 to 3 barriers committed by this run, then right
		# away, or as soon as kin-window has snapshotted the next
		# barrier (before kin-write commits it, mostly), or after a
		# random 0 to 300 ms.
		base=$(committed)
		target=$((base + 1 + RANDOM % 3))
		wait_for -t 60 at_target
		mode=$((RANDOM % 3))
		case $mode in
		1) sb=$(barrier_of st)
		   wait_for -t 30 newer_state ;;
		2) sleep "0.$(printf %03d $((RANDOM % 300)))" ;;
		esac
		case $s in read) p=$RPID ;; window) p=$WPID ;; write) p=$KPID ;; esac
		alive "$p"
		kill -9 "$p"
		kills=$((kills + 1))
		n[$s]=$((n[$s] + 1))
		wait_for -t 60 all_gone "$RPID" "$WPID" "$KPID"
		rs=0 ws=0 ks=0
		wait "$RPID" || rs=$?
		wait "$WPID" || ws=$?
		wait "$KPID" || ks=$?
		echo "kill $kills: $s (moment $mode) after barrier $(committed): read $rs window $ws write $ks" >>kills.log
		# the one killed: 137; the others stop on their own, for the
		# reasons they give (EOF without end, a closed pipe): never 65
		# (a restore without its state) nor a crash
		for p in "$s:137" "read:$rs" "window:$ws" "write:$ks"; do
			case $p in
			"$s":137) ;;
			*:0|*:74|*:75|*:141|*:137) ;;
			*) cat kills.log read.err win.err write.err >&2; false ;;
			esac
		done
	done
	[ "$kills" -ge 10 ] && [ "${n[read]}" -ge 2 ] && [ "${n[window]}" -ge 2 ] && [ "${n[write]}" -ge 2 ]
	# then once to the end, untouched
	start_pipe
	wait_for -t 180 all_gone "$RPID" "$WPID" "$KPID"
	wait "$RPID"
	wait "$WPID"
	wait "$KPID"
	BG=()

	# The last result of every window in the output stream is the one of
	# the uninterrupted run, and there are no other windows: same keys,
	# windows and values.  Earlier results of a window are allowed:
	# results after a barrier, sent again after a restart, and results
	# that a late record of the slower shard updated.
	kin-read -s pout -o trim-horizon -e >out.ndjson
	tac out.ndjson | awk -F',"end":' '!seen[$1]++' | sort >out.u
	sort -u ref.ndjson >ref.u
	[ ! -s late.ndjson ]
	lines=$(wc -l <out.ndjson)
	echo "# $kills kills (read ${n[read]}, window ${n[window]}, write ${n[write]}) in $(($(date +%s) - t0)) s; reference $(wc -l <ref.u) results; output $lines lines, $(sort -u out.ndjson | wc -l) distinct, $(wc -l <out.u) windows" >&3
	if ! cmp -s ref.u out.u; then
		cat kills.log >&2
		echo "missing (<) and wrong (>):" >&2
		diff ref.u out.u | head -20 >&2
		false
	fi
}

@test "--metrics: kin-read and kin-write write EMF lines that add up" {
	kinctl create met1 1 >/dev/null
	kin-read -s small -o trim-horizon -e --metrics rm.jsonl --metrics-interval 1h |
		kin-write -s met1 --metrics wm.jsonl --metrics-interval 1h
	jq -e -s 'length >= 1 and all(.[]; .program == "kin-read" and .stream == "small"
		and ._aws.CloudWatchMetrics[0].Namespace == "kin")
		and (map(.records_out) | add) == 2000 and (map(.records_in) | add) == 2000
		and (map(.get_records) | add) >= 2' rm.jsonl
	jq -e -s 'all(.[]; .program == "kin-write" and .stream == "met1")
		and (map(.records_in) | add) == 2000 and (map(.records_out) | add) == 2000
		and (map(.dead_letters) | add) == 0 and .[-1].records_pending == 0' wm.jsonl
	[ "$(stat -c %a wm.jsonl)" = 600 ]
}

@test "one properties file with the job's names serves every program; SIGHUP reloads it" {
	kinctl create hup1 1 >/dev/null
	printf '%s\n' inputStreamName=small outputStreamName=hup1 aws.region=us-east-1 \
		AggregationEnabled=false Partition=one >job.properties
	# every program takes the file, each what applies to it
	trade-gen --config job.properties --simulated -n 3 >t3
	[ "$(wc -l <t3)" = 3 ]
	kin-read --config job.properties -o trim-horizon -e -c 5 |
		kin-window --config job.properties -t EVENT_TIME --size 1h -a count |
		kin-write --config job.properties
	run -0 --separate-stderr kin-read -s hup1 -o trim-horizon -e -f '%k\n'
	[ "${lines[*]}" = "one one" ]
	kin-read -s hup1 -o trim-horizon -e | jq -e -s 'map(.count) | add == 5'

	# kin-write: the partition key and aggregation change on SIGHUP, the
	# stream cannot
	mkfifo f
	kin-write --config job.properties <f 2>w.err &
	BG+=("$!")
	exec 7>f
	echo '{"n":1}' >&7
	wait_for has_record hup1 '{"n":1}'
	sed -i 's/^Partition=one/Partition=two/; s/^outputStreamName=hup1/outputStreamName=other/
		s/^AggregationEnabled=false/AggregationEnabled=true/' job.properties
	kill -HUP "${BG[0]}"
	wait_for grep -q "partition key -k 'one' -> -k 'two'" w.err
	grep -q "the stream cannot change while kin-write runs" w.err
	grep -q "config reloaded: aggregation is now on" w.err
	printf '{"n":%s}\n' 2 3 4 5 6 >&7
	exec 7>&-
	status_is 0 "${BG[0]}"
	run -0 --separate-stderr kin-read -s hup1 -o trim-horizon -e -f '%k %d\n'
	assert_line 'two {"n":2}'
	# records 2 to 6 went in a KPL aggregate (its magic bytes)
	kinctl get hup1 shardId-000000000000 | od -An -tx1 | tr -d ' \n' >raw
	grep -q f3899ac2 raw

	# kin-read: the log level and intervals change; the stream cannot.
	# (A metrics line says it is up: signals are its own from then on.)
	printf '%s\n' inputStreamName=small idle-wait=200ms metrics=- \
		metrics-interval=100ms >r.properties
	kin-read --config r.properties -o latest >/dev/null 2>r.err &
	BG+=("$!")
	wait_for grep -q '"_aws"' r.err
	printf '%s\n' inputStreamName=other idle-wait=1s verbose=true metrics=- \
		metrics-interval=100ms >r.properties
	kill -HUP "${BG[1]}"
	wait_for grep -q 'config reloaded: --idle-wait 200ms -> 1000ms' r.err
	grep -q 'config reloaded: log level verbose 0 -> verbose 1' r.err
	grep -q 'config reloaded: the stream cannot change while kin-read runs' r.err
	kill -TERM "${BG[1]}"
	status_is 0 "${BG[1]}"

	# trade-gen: the rate, on the wall clock
	printf 'rate=2\n' >g.properties
	trade-gen --config g.properties >g.out 2>g.err &
	BG+=("$!")
	wait_for test -s g.out
	printf 'rate=1000\n' >g.properties
	kill -HUP "${BG[2]}"
	wait_for grep -q 'config reloaded: --rate 2 -> 1000' g.err
	wait_for lines_at_least 200 g.out
	kill -TERM "${BG[2]}"
	status_is 0 "${BG[2]}"
}
