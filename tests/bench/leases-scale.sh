#!/usr/bin/env bash
# Bench for the shard leases (issue 10): records a second read from a
# 16-shard stream by 1, 2 and 4 `kin-read --lease-table` workers started
# together (each a separate process with its own worker id, sharing one
# DynamoDB table on dynalite), beside one kin-read without leases (the
# same reader, no DynamoDB: the ceiling the local server sets).  Each
# worker reads with -e from the start of the stream; the time is from the
# start to the last worker's exit, lease taking included.  RUNS runs of
# each (default 3), medians, with --failover-time $FAILOVER (default 3s, so
# the hand-over takes seconds, not tens); every run checks that the
# records read add up to the records put, each at least once.  The workers start together on
# a table with no owner yet: the first to look takes every lease, the
# others steal one at a time per taker interval (the KCL's way), so the
# time includes that hand-over (and the repeats it causes, "lines" over
# the records put); the larger N, the less it weighs.
#   tests/bench/leases-scale.sh            (N=160000 records, RUNS=3)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd -P)

KR=${KR:-$root/kin-read/kin-read}
KW=${KW:-$root/kin-write/kin-write}
KC=${KC:-$root/build/plain/helpers/kinctl}
TG=${TG:-$root/trade-gen/trade-gen}
ST=${ST:-$root/build/plain/helpers/stamp}
FAILOVER=${FAILOVER:-3s}
N=${N:-160000}
RUNS=${RUNS:-3}
for b in "$KR" "$KW" "$KC" "$TG" "$ST"; do
	[ -x "$b" ] || { echo "leases-scale.sh: build first (make): $b" >&2; exit 1; }
done
# shellcheck source=tests/bench/dynamo.bash
. "$root/tests/bench/dynamo.bash"
"$KC" create s16 16 >/dev/null || exit 1
"$TG" --simulated --seed 5 -n "$N" --fields SEQ >"$tmp/trades" || exit 1
"$KW" -s s16 --random-key --rate-limit 0 "$tmp/trades" || exit 1
echo "$N records in a 16-shard stream; $RUNS runs each, medians"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one_run W RUN: W workers (0: one reader without leases); prints
# "records/s steady/s balanced_ms lines shares".  Every line goes through
# `stamp` (wall-clock ms), stderr too (-v: each lease gained or lost), so
# the steady rate is taken from the last lease change to the moment the
# first worker ran dry: the records all workers printed in between.
one_run() {
	local w=$1 run=$2 t0 t1 i lines shares='' table="scale-$1-$2"
	local -a mine=() args
	t0=$(now_ms)
	for ((i = (w == 0 ? 0 : 1); i <= w; i++)); do
		args=(-s s16 -o trim-horizon -e --limit 10000)
		[ "$w" = 0 ] || args+=(--lease-table "$table" --worker-id "w$i" \
			--failover-time "$FAILOVER" -v)
		"$KR" "${args[@]}" > >("$ST" >"$tmp/out-$i") 2> >("$ST" >"$tmp/err-$i") &
		mine+=("$!")
	done
	pids=("${mine[@]}")
	for i in "${mine[@]}"; do
		wait "$i" || { echo "leases-scale.sh: a worker failed:" >&2; cat "$tmp"/err-* >&2; return 1; }
	done
	t1=$(now_ms)
	pids=()
	sleep 0.2   # the stamps' last lines
	lines=0
	for ((i = (w == 0 ? 0 : 1); i <= w; i++)); do
		shares+="$(wc -l <"$tmp/out-$i") "
		lines=$((lines + $(wc -l <"$tmp/out-$i")))
	done
	if [ "$(cut -f2- "$tmp"/out-* | jq -r '[.TICKER, .SEQ] | @tsv' | sort -u | wc -l)" != "$N" ]; then
		echo "leases-scale.sh: $w workers, run $run: not every record read" >&2
		return 1
	fi
	# last lease change; first worker dry; the lines between
	local tb tend steady
	tb=$(cat "$tmp"/err-* | awk -F'\t' -v t0="$t0" '/lease of shard .* (gained|lost \((expired|stolen|taken))/ && $1 > m { m = $1 } END { print (m ? m : t0) }')
	tend=$(for f in "$tmp"/out-*; do tail -n1 "$f" | cut -f1; done | sort -n | head -1)
	steady=$(cat "$tmp"/out-* | awk -F'\t' -v a="$tb" -v b="$tend" '
		$1 >= a && $1 <= b { n++ }
		END { if (b - a < 500) print "-"; else printf "%d", n * 1000 / (b - a) }')
	rm -f "$tmp"/out-* "$tmp"/err-*
	awk -v n="$N" -v ms=$((t1 - t0)) -v l="$lines" -v s="$shares" \
		-v st="$steady" -v tb=$((tb - t0)) \
		'BEGIN { printf "%d %s %d %d %s\n", n * 1000 / ms, st, tb, l, s }'
}

fail=0
printf '%-20s %10s %10s %12s %8s %s\n' readers "records/s" "steady/s" "balanced at" lines \
	"lines per worker (last run)"
base=''
for w in 0 1 2 4; do
	rates=() steadies=() bals=()
	last=''
	for ((r = 1; r <= RUNS; r++)); do
		out=$(one_run "$w" "$r") || { fail=1; continue; }
		read -r rate steady bal lines shares <<<"$out"
		rates+=("$rate")
		[ "$steady" = - ] || steadies+=("$steady")
		bals+=("$bal")
		last="$lines $shares"
	done
	[ ${#rates[@]} -gt 0 ] || continue
	med=$(printf '%s\n' "${rates[@]}" | median)
	smed=-
	[ ${#steadies[@]} -eq 0 ] || smed=$(printf '%s\n' "${steadies[@]}" | median)
	bmed=$(printf '%s\n' "${bals[@]}" | median)
	[ "$w" = 0 ] && base=$med
	label="$w workers, leases"
	[ "$w" = 0 ] && { label="1 reader, no leases"; bmed=0; }
	read -r lines shares <<<"$last"
	printf '%-20s %10s %10s %10sms %8s %s\n' "$label" "$med" "$smed" "$bmed" "$lines" "$shares"
done
echo "records/s: $N records over the time from start to the last exit (x of no leases:"
echo "the cost of leases and of their hand-over); steady/s: after the last lease change,"
echo "until the first worker ran dry (a dash when that was under 0.5 s)"
[ -n "$base" ] || fail=1
exit "$fail"
