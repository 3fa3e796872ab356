#!/usr/bin/env bats
# kin-read --lease-table against kinesalite + dynalite: several kin-read
# processes share a stream's shards through KCL-style leases (lease_owner.c
# over common/lease.h).  Each reader prints -J lines through the `stamp`
# helper, which prefixes the wall-clock ms at which the line came out, so
# the readers' outputs merge into one history: who printed which record of
# which shard, when.  From it: every record is printed, exactly once while
# nobody fails; after a kill -9 only records past the dead reader's last
# checkpoint come again; and no shard is ever printed by two readers at
# once.  Failover time 3 s (renewals every second) keeps the file short.
# shellcheck disable=SC2016 # awk and jq programs

load helpers/common

FAILOVER_MS=3000

setup_file() {
	kinesis_start --dynamo
}

teardown_file() {
	kinesis_stop
}

setup() {
	PIDS=()
	T=$BATS_TEST_TMPDIR
	TABLE="kr-leases-$BATS_TEST_NUMBER"
	STREAM="s12-$BATS_TEST_NUMBER"
	kinctl create "$STREAM" 12 >/dev/null
}

teardown() {
	local p f
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for f in "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}"
		grep -v ' records/s, ' "$f" | tail -n 15
	done
}

now_ms() { date +%s%3N; }

# reader NAME [ARG...]: a kin-read in the background, stdout stamped into
# NAME.out, stderr (-v: each lease gained and lost) into NAME.err.
reader() {
	local name=$1
	shift
	kin-read -s "$STREAM" -J -o trim-horizon --lease-table "$TABLE" \
		--worker-id "$name" --failover-time 3s --checkpoint-interval 1s \
		--discovery-interval 2s -v "$@" \
		> >(stamp >"$T/$name.out" 3>&-) 2>"$T/$name.err" 3>&- &
	PIDS+=("$!")
	eval "PID_$name=$!"
}

# stop NAME: SIGTERM; it must exit 0, having checkpointed and released.
stop() {
	local pid_var="PID_$1" st=0
	kill -TERM "${!pid_var}"
	wait "${!pid_var}" || st=$?
	[ "$st" -eq 0 ] || { echo "reader $1 exited $st"; return 1; }
	grep -q "lease table '$TABLE': worker '$1' gained" "$T/$1.err"
}

# put FROM TO [PACE]: records pNNNNNN for FROM..TO-1 with random partition
# keys, through kin-write; with PACE, 50 records every PACE seconds.
put() {
	local i
	if [ -z "${3:-}" ]; then
		seq -f 'p%06g' "$1" $(($2 - 1)) | kin-write -s "$STREAM" --random-key
		return
	fi
	for ((i = $1; i < $2; i += 50)); do
		seq -f 'p%06g' "$i" $((i + 49 < $2 - 1 ? i + 49 : $2 - 1))
		sleep "$3"
	done | kin-write -s "$STREAM" --random-key --linger 20ms
}

# leases: "shard owner checkpoint" per lease, owner "-" when free.
leases() {
	kin-read -L -J --lease-table "$TABLE" |
		jq -r '[.shard, (.owner // "-"), (.checkpoint // "-")] | @tsv'
}
# checkpointed N: N leases have a sequence number as checkpoint.
checkpointed() {
	[ "$(leases | awk -F'\t' '$3 ~ /^[0-9]+$/' | wc -l)" -ge "$1" ]
}
table_counts() {
	leases | awk -F'\t' '$2 != "-" { n[$2]++ } END { for (w in n) print n[w] }' |
		sort -n | paste -sd' '
}
is_table() { [ "$(table_counts)" = "$1" ]; }

# reading NAME: shards NAME reads now (leases gained less lost, from -v).
reading() {
	awk '/lease of shard .* gained/ { n++ } /lease of shard .* lost/ { n-- }
		END { print n + 0 }' "$T/$1.err"
}
# is_reading "4 4 4" A B C: the readers read that many shards each.
is_reading() {
	local want=$1 w
	shift
	[ "$(for w in "$@"; do reading "$w"; done | sort -n | paste -sd' ')" = "$want" ]
}

# history: "ms reader shard seq data" for every line printed, in time order.
history() {
	local f
	for f in "$T"/*.out; do
		[ -s "$f" ] || continue
		cut -f2- "$f" | jq -r --arg w "$(basename "$f" .out)" \
			'[$w, .shard, .seq, .data] | @tsv' |
			paste <(cut -f1 "$f") -
	done | sort -s -t$'\t' -k1,1n
}
distinct() { history | cut -f5 | sort -u | wc -l; }
has_distinct() { [ "$(distinct)" -ge "$1" ]; }

# all_once FROM TO: every record of FROM..TO-1 printed at least once, and
# nothing else.
all_there() {
	history | cut -f5 | sort -u >"$T/got"
	seq -f 'p%06g' "$1" $(($2 - 1)) >"$T/want"
	cmp "$T/got" "$T/want"
}

# exclusive: per shard, the runs of lines printed by one reader, in time
# order; a shard printed by two readers at once shows as runs that
# alternate.  Fails when a reader prints a shard again within a failover
# time of another reader printing it, or when a handover leaves less than
# 150 ms between the two readers (the fence gives 300: a tenth of the
# failover time).  Prints the smallest handover gap.
exclusive() {
	history | awk -F'\t' -v fo="$FAILOVER_MS" '
		{
			t = $1; w = $2; s = $3
			if ((s in cur) && cur[s] != w) {
				gap = t - end[s]
				if (gap < 150) {
					print "shard " s ": " cur[s] " until " end[s] ", " w " from " t
					bad = 1
				}
				if ((s SUBSEP w) in last && t - last[s, w] < fo) {
					print "shard " s ": " w " again " (t - last[s, w]) " ms after its last line"
					bad = 1
				}
				if (min == "" || gap < min)
					min = gap
				n++
			}
			cur[s] = w; end[s] = t; last[s, w] = t
		}
		END { print n + 0 " handovers, smallest gap " (min == "" ? "-" : min) " ms"; exit bad }'
}

@test "three readers on 12 shards own 4 each within two failover times; every record exactly once" {
	local t0 took
	t0=$(now_ms)
	reader A
	reader B
	reader C
	wait_for -t 6 is_table "4 4 4"
	took=$(($(now_ms) - t0))
	echo "leases 4/4/4 after $took ms"
	[ "$took" -le $((2 * FAILOVER_MS)) ]
	# a stolen lease is read once its former holder's validity must
	# have run out: up to one failover time more
	wait_for -t 6 is_reading "4 4 4" A B C
	took=$(($(now_ms) - t0))
	echo "reading 4/4/4 after $took ms"
	[ "$took" -le $((3 * FAILOVER_MS + 1000)) ]
	put 0 6000
	wait_for -t 30 has_distinct 6000
	stop A
	stop B
	stop C
	all_there 0 6000
	# exactly once: nobody failed, nothing moved after the records came
	run -0 bash -c "cat '$T'/*.out | wc -l"
	assert_output 6000
	# each reader printed only its own 4 shards
	[ "$(history | cut -f2,3 | sort -u | cut -f1 | uniq -c |
		awk '{ print $1 }' | paste -sd' ')" = '4 4 4' ]
	# a clean stop checkpoints and releases: every lease free, at a
	# sequence number
	run -0 leases
	[ "${#lines[@]}" -eq 12 ]
	run -0 awk -F'\t' '$2 != "-" || $3 !~ /^[0-9]+$/' <(leases)
	assert_output ''
}

@test "kill -9: the dead reader's shards go on within failover + taker interval, from its last checkpoint; nothing lost" {
	local killed took
	reader A
	reader B
	reader C
	wait_for -t 12 is_reading "4 4 4" A B C
	put 0 2000
	wait_for -t 30 has_distinct 2000
	put 2000 5000 0.1 &
	PIDS+=("$!")
	wait_for -t 30 has_distinct 2500
	kill -KILL "$PID_C"
	killed=$(now_ms)
	{ wait "$PID_C"; } 2>/dev/null || true
	# its leases as it left them: owner C, its last checkpoints
	leases | awk -F'\t' '$2 == "C" { print $1 "\t" $3 }' >"$T/c-ckpt"
	[ "$(wc -l <"$T/c-ckpt")" -eq 4 ]
	wait_for -t 10 is_reading "6 6" A B
	took=$(($(now_ms) - killed))
	echo "C's shards read again after $took ms"
	[ "$took" -le $((2 * FAILOVER_MS + 1000)) ]
	[ "$took" -ge $((FAILOVER_MS - 1000)) ]
	wait "${PIDS[-1]}"
	wait_for -t 30 has_distinct 5000
	stop A
	stop B
	all_there 0 5000
	# the only repeats: C's shards, after C's last checkpoint
	run -0 awk -F'\t' '
		NR == FNR { ck[$1] = $2; next }
		{ n[$5]++; shard[$5] = $3; seq[$5] = $4 }
		END {
			for (d in n) if (n[d] > 1) {
				rep++
				s = shard[d]; q = seq[d] ""   # as strings, not doubles
				if (!(s in ck)) { print "repeat " d " in " s ", not C'"'"'s"; continue }
				c = ck[s] ""
				if (c ~ /^[0-9]+$/ && (length(q) < length(c) || (length(q) == length(c) && q <= c)))
					print "repeat " d " at " q " is not after C'"'"'s checkpoint " c
			}
			print rep + 0 " repeated"
		}' "$T/c-ckpt" <(history)
	echo "$output"
	assert_line --index $((${#lines[@]} - 1)) --regexp '^[0-9]+ repeated$'
	[ "${#lines[@]}" -eq 1 ]
}

@test "a fourth reader joins: 3/3/3/3, never two readers printing a shard at once; a clean stop hands over with no repeats" {
	local t0 stopped
	reader A
	reader B
	reader C
	wait_for -t 12 is_reading "4 4 4" A B C
	put 0 6000 0.1 &
	PIDS+=("$!")
	wait_for -t 30 has_distinct 500
	t0=$(now_ms)
	reader D
	wait_for -t 20 is_table "3 3 3 3"
	wait_for -t 10 is_reading "3 3 3 3" A B C D
	echo "rebalanced after $(($(now_ms) - t0)) ms"
	# D leaves cleanly while records still come: its last positions are
	# checkpointed, its leases free at once
	stop D
	stopped=$(now_ms)
	wait_for -t 6 is_reading "4 4 4" A B C
	echo "D's shards read again after $(($(now_ms) - stopped)) ms"
	run -0 grep -c 'lease of shard .* gained (free' "$T/A.err" "$T/B.err" "$T/C.err"
	wait "${PIDS[-1]}"
	wait_for -t 30 has_distinct 6000
	stop A
	stop B
	stop C
	all_there 0 6000
	run -0 exclusive
	echo "$output"
	# nothing D printed came again after it stopped
	run -0 awk -F'\t' -v t="$stopped" '
		$2 == "D" { d[$5] = 1; next }
		($5 in d) && $1 >= t { print "again after D stopped: " $0 }' <(history)
	assert_output ''
}

@test "-e reads what the leases hold up to now and exits; a second run resumes from the lease checkpoints" {
	put 0 1000
	run -0 --separate-stderr kin-read -s "$STREAM" -J -o trim-horizon \
		--lease-table "$TABLE" --worker-id solo -e
	[ "${#lines[@]}" -eq 1000 ]
	run -0 leases
	[ "${#lines[@]}" -eq 12 ]
	refute_output --partial solo
	put 1000 1500
	run -0 --separate-stderr kin-read -s "$STREAM" -f '%d\n' \
		--lease-table "$TABLE" --worker-id solo -e
	printf '%s\n' "${lines[@]}" | sort >"$T/got"
	seq -f 'p%06g' 1000 1499 >"$T/want"
	cmp "$T/got" "$T/want"
	# -L: every lease, its holder, counter and checkpoint; with -s how
	# far behind the tip
	run -0 kin-read -L --lease-table "$TABLE" -s "$STREAM"
	[ "${#lines[@]}" -eq 12 ]
	assert_line --regexp '^shardId-000000000000  owner -  counter [0-9]+  checkpoint [0-9]+  sub 0  switches 0  parents -  behind 0ms$'
}

@test "-e after a kill -9 waits for the dead reader's leases to expire and reads them" {
	local t0
	reader A
	wait_for -t 10 is_reading 12 A
	put 0 500
	wait_for -t 20 has_distinct 500
	wait_for -t 10 checkpointed 12
	kill -KILL "$PID_A"
	{ wait "$PID_A"; } 2>/dev/null || true
	put 500 800
	t0=$(now_ms)
	run -0 --separate-stderr timeout 60 kin-read -s "$STREAM" -f '%d\n' \
		--lease-table "$TABLE" --worker-id B --failover-time 3s -e
	echo "B read ${#lines[@]} records (300 new) and ended after $(($(now_ms) - t0)) ms"
	printf '%s\n' "${lines[@]}" | sort -u >"$T/got"
	seq -f 'p%06g' 500 799 >"$T/want"
	# everything after A's checkpoints, perhaps a few before
	[ "$(comm -13 "$T/got" "$T/want" | wc -l)" -eq 0 ]
	[ "$(comm -23 "$T/got" "$T/want" | grep -vc '^p000[0-4]')" -eq 0 ]
	run -0 awk -F'\t' '$2 != "-"' <(leases)
	assert_output ''
}

# put_keyed FROM TO: records kK-NNNNNN with partition key kK (K = N mod 8)
# for N in FROM..TO-1, 50 every 0.1 s, through kin-write -J.
put_keyed() {
	local i
	for ((i = $1; i < $2; i += 50)); do
		awk -v a="$i" -v b="$2" 'BEGIN { for (n = a; n < a + 50 && n < b; n++)
			printf "{\"key\":\"k%d\",\"data\":\"k%d-%06d\"}\n", n % 8, n % 8, n }'
		sleep 0.1
	done | kin-write -s "$STREAM" -J --linger 20ms
}

@test "split and merge while two readers run: every record, each key in order across the handovers" {
	STREAM=reshard
	kinctl create "$STREAM" 2 >/dev/null
	reader A
	reader B
	wait_for -t 12 is_reading "1 1" A B
	put_keyed 0 3000 &
	PIDS+=("$!")
	wait_for -t 30 has_distinct 500
	# 0 splits into 2 and 3; then 3 and 1 merge into 4
	kinctl split "$STREAM" shardId-000000000000 42535295865117307932921825928971026432 >/dev/null
	wait_for -t 30 has_distinct 1500
	kinctl merge "$STREAM" shardId-000000000003 shardId-000000000001 >/dev/null
	wait "${PIDS[-1]}"
	wait_for -t 40 has_distinct 3000
	# the children are read: the live shards 2 and 4, one reader each
	wait_for -t 40 is_reading "1 1" A B
	stop A
	stop B
	history | cut -f5 | sort -u >"$T/got"
	awk 'BEGIN { for (n = 0; n < 3000; n++) printf "k%d-%06d\n", n % 8, n }' | sort >"$T/want"
	cmp "$T/got" "$T/want"
	# per key, records first came out in the order they were put
	run -0 awk -F'\t' '{
		split($5, p, "-"); k = p[1]; n = p[2] + 0
		if (seen[$5]++) next
		if ((k in last) && n < last[k]) { print "key " k ": " $5 " after " last[k]; bad++ }
		last[k] = n
	} END { exit bad > 0 }' <(history)
	# the parents are finished in the table, the children hold positions
	run -0 leases
	assert_line --regexp '^shardId-000000000000	-	SHARD_END$'
	assert_line --regexp '^shardId-000000000001	-	SHARD_END$'
	assert_line --regexp '^shardId-000000000003	-	SHARD_END$'
	assert_line --regexp '^shardId-000000000004	-	[0-9]+$'
}

# pipe NAME: kin-read --lease-table | kin-write in barrier mode (through
# a fifo, so each has its pid: PID_NAME and WPID_NAME), the pipeline's
# checkpoint in NAME.ck, into the stream OUT.
pipe() {
	local name=$1
	shift
	mkfifo "$T/$name.fifo"
	kin-write -s "$OUT" --random-key --checkpoint "$T/$name.ck" \
		<"$T/$name.fifo" 2>"$T/$name.w.err" 3>&- &
	PIDS+=("$!")
	eval "WPID_$name=$!"
	kin-read -s "$STREAM" -o trim-horizon --lease-table "$TABLE" \
		--worker-id "$name" --failover-time 3s --discovery-interval 2s \
		--checkpoint "$T/$name.ck" --barrier-interval 200ms -v "$@" \
		>"$T/$name.fifo" 2>"$T/$name.err" 3>&- &
	PIDS+=("$!")
	eval "PID_$name=$!"
}
# out_has N: the output stream holds N distinct records or more.
out_has() {
	[ "$(kin-read -s "$OUT" -o trim-horizon -e | sort -u | wc -l)" -ge "$1" ]
}
@test "pipelines with barriers: the leases get the committed barriers' positions; kill -9 one, nothing is lost" {
	local st
	OUT="out-$BATS_TEST_NUMBER"
	kinctl create "$OUT" 1 >/dev/null
	pipe A
	pipe B
	wait_for -t 30 is_table '6 6'
	put 0 1200 0.05
	wait_for -t 60 out_has 1200
	# every position in a lease is one that a kin-write committed: the
	# checkpoint file of the pipeline that holds it has it at or past it
	wait_for -t 20 checkpointed 12
	leases >"$T/leases"
	run -0 awk -F'\t' '$2 != "A" && $2 != "B" { bad++ } END { print bad + 0 }' "$T/leases"
	assert_output 0
	# kill -9 B, both stages: A takes its shards from B's last committed
	# barriers; what came after them is read again, nothing is lost
	kill -9 "$PID_B" "$WPID_B"
	put 1200 2000 0.05
	wait_for -t 60 is_table 12
	wait_for -t 60 out_has 2000
	kin-read -s "$OUT" -o trim-horizon -e | sort -u >"$T/got"
	seq -f 'p%06g' 0 1999 >"$T/want"
	cmp "$T/got" "$T/want"
	# SIGTERM: no end line (kin-write keeps its last barrier and says so
	# with 75), the last committed positions in the leases, which are
	# given up
	kill -TERM "$PID_A"
	st=0
	wait "$WPID_A" || st=$?
	[ "$st" = 75 ]
	run -0 awk -F'\t' '$2 != "-" { held++ } END { print held + 0 }' <(leases)
	assert_output 0
	# and each lease's checkpoint is A's last committed barrier's position
	jq -r '.shards[] | select(.seq != null) | [.id, .seq] | @tsv' "$T/A.ck" | sort >"$T/ck.pos"
	leases | cut -f1,3 | sort >"$T/lease.pos"
	[ "$(wc -l <"$T/ck.pos")" = 12 ]
	cmp "$T/ck.pos" "$T/lease.pos"
	grep -q "lease table '$TABLE': worker 'A' gained" "$T/A.err"
}

@test "unit: the writer's gate stops a batch at a record boundary once the lease runs out" {
	local dir=$KIN_ROOT/build/plain/kin-read
	[ "${KIN_TEST_BUILD:-plain}" != san ] || dir=$KIN_ROOT/build/san/kin-read
	run -0 "$dir/test_gate"
	assert_output --regexp ', 0 failed$'
}

@test "usage: --lease-table decides the shards; --worker-id and --failover-time need it" {
	run -64 --separate-stderr kin-read -s "$STREAM" --lease-table t1x --shard shardId-000000000000
	assert_stderr --partial 'no --shard, --shard-index, nor --checkpoint but with --barrier-interval'
	run -64 --separate-stderr kin-read -s "$STREAM" --lease-table t1x --checkpoint "$T/ck"
	run -64 --separate-stderr kin-read -s "$STREAM" --worker-id w
	assert_stderr_line 'kin-read: --worker-id and --failover-time need --lease-table'
	run -64 --separate-stderr kin-read -s "$STREAM" --lease-table t1x --failover-time 10ms
	assert_stderr --partial "bad --failover-time '10ms'"
	run -64 --separate-stderr kin-read -s "$STREAM" --lease-table ab
	assert_stderr --partial "bad --lease-table 'ab'"
}

# examples PATTERN: the lines of the literal blocks in the man page's
# EXAMPLES that hold PATTERN (kin-read.bats runs the .Dl lines; these need
# DynamoDB or enhanced fan-out).
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$KIN_ROOT/man/kin-read.1" |
		awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0 } on' |
		sed 's/\\e/\\/g' | grep -e "$1"
}

@test "the man page's --lease-table EXAMPLES run" {
	local ex n=0
	STREAM=trades
	kinctl create trades 2 >/dev/null
	put 0 100
	cd "$T"
	examples --lease-table >lines.txt
	[ "$(wc -l <lines.txt)" -eq 2 ]
	while IFS= read -r ex; do
		run -0 timeout 60 bash -c "$ex" </dev/null
		n=$((n + 1))
	done <lines.txt
	[ "$n" -eq 2 ]
	[ "$(wc -l <part1.ndjson)" -eq 100 ]
	# the last example listed the two leases, free, at sequence numbers
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 1 --regexp '^shardId-000000000001  owner -  counter [0-9]+  checkpoint [0-9]+  sub 0  switches 0  parents -  behind 0ms$'
}

@test "kin-read's man page: lint clean, its SYNOPSIS is --help, every option described" {
	local man="$KIN_ROOT/man/kin-read.1" want got o
	run -0 mandoc -Tlint -Wwarning "$man"
	assert_output ''
	want=$(mandoc -Tutf8 "$man" 2>/dev/null | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	got=$(kin-read -h | sed 's/^usage: //; s/^ *//' | tr -s ' \n' ' ' | sed 's/ $//')
	assert_equal "$got" "$want"
	for o in $(kin-read -h | grep -oE -- '--[a-z-]+' | sort -u); do
		grep -qE -- "^\.It .*Fl -${o#--}( |$)" "$man" || { echo "not described: $o"; return 1; }
	done
}
