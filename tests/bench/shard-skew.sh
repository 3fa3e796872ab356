#!/usr/bin/env bash
# How far apart in event time kin-read's shards drift when stdout is the
# bottleneck.  One kinesalite (infra/local/kinesis-local, 127.0.0.1, a
# state dir of its own) with the data of tests/pipeline.bats: 200 000
# trade-gen lines, 200 a second of event time, put with --random-key and
# 4 KiB KPL aggregates into a 2-shard stream.  Then RUNS times each:
#   slow:  kin-read -s pin -o trim-horizon -e --limit 10 -c N into a
#          consumer that takes RATE lines a second (stdout backpressure)
#   fast:  the same into a consumer that takes all it gets (no
#          backpressure; kin-read is then paced by its 5 calls a second)
# kin-read prints '%S<tab>%d' so each line names its shard.  For each run:
#   spread   max - min EVENT_TIME over each WIN lines, as a downstream
#            kin-window would see it between barriers: peak and final
#   gap      the two shards' latest EVENT_TIME apart, every WIN lines:
#            peak and final
#   share    how many more lines the leading shard printed than the other
#            (kin-read's own fairness; 0% when it gives the shards equal
#            turns, whatever the data), at the end
#   lead_peak  the most lines one shard was ahead of the other on the way
#   turns    how often a shard printed two pages in a row
#   rate     lines a second
# and the medians over the runs.  The data's own imbalance (lines per
# shard: --random-key spreads a pool of keys over the shards by hash) is
# printed too: at equal records a second, the shard with fewer records
# per second of event time runs ahead of the other in event time.
#   tests/bench/shard-skew.sh [RUNS]
# KR='path/to/kin-read other/kin-read' compares builds (runs alternate
# between them, on the same data); RATE (2000), N (60000), WIN (1000);
# MODES='slow' skips the fast runs; LOAD=k runs k busy loops beside the slow runs, as a loaded machine (the
# pipeline's kin-window, kin-write and kinesalite) would: a worker woken
# for the writer then starts late, and on a plain mutex another could
# take the writer before it.
# Reports only: always exits 0 unless something could not run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd -P)
unset PYTHONUNBUFFERED

read -r -a KRS <<<"${KR:-$root/kin-read/kin-read}"
RUNS=${1:-${RUNS:-3}}
RATE=${RATE:-2000}
N=${N:-60000}
WIN=${WIN:-1000}
LOAD=${LOAD:-0}
MODES=${MODES:-slow fast}
PY=/usr/bin/python3
for t in "${KRS[@]}" "$root/kin-write/kin-write" "$root/trade-gen/trade-gen" \
    "$root/build/plain/helpers/kinctl" "$PY"; do
	[ -x "$t" ] || { echo "shard-skew.sh: $t not found (run make)" >&2; exit 1; }
done
# shellcheck source=tests/bench/server.bash
. "$root/tests/bench/server.bash"
bench_server kinesis-local

# The data of tests/pipeline.bats setup_file.
"$root/trade-gen/trade-gen" --simulated --seed 42 -n 200000 -r 200 \
	--fields SEQ --start 2026-11-25T09:30:00 --utc >"$tmp/trades.ndjson" || exit 1
"$root/build/plain/helpers/kinctl" create pin 2 >/dev/null || exit 1
"$root/kin-write/kin-write" -s pin --random-key --aggregate \
	--aggregate-max-size 4K --rate-limit 0 "$tmp/trades.ndjson" || exit 1
split=$("${KRS[0]}" -s pin -o trim-horizon -e -f '%S\n' | sort | uniq -c |
	awk '{printf "%s %s  ", $2, $1}')
echo "data: lines per shard: $split"

# The consumer: reads stdin 4 KiB at a time, at most RATE lines a second
# (0: as fast as it can), then prints one line of figures.
cat >"$tmp/sink.py" <<'EOF'
import os, re, sys, time
rate, win = float(sys.argv[1]), int(sys.argv[2])
pat = re.compile(rb'"EVENT_TIME": ?"\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d(?:\.\d+)?)')
shards, log, buf, n = {}, [], b'', 0
t0 = time.monotonic()
while True:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    lines = (buf + chunk).split(b'\n')
    buf = lines.pop()
    for line in lines:
        shard, _, data = line.partition(b'\t')
        m = pat.search(data)
        if m is None:
            continue
        ev = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        log.append((shards.setdefault(shard, len(shards)), ev))
    n = len(log)
    if rate > 0:
        ahead = n / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
wall = time.monotonic() - t0
if len(shards) < 2:
    print('fewer than 2 shards in the output'); sys.exit(1)
# up to the first shard's last line: after it only the others are left
end = min(max(i for i, (k, _) in enumerate(log) if k == j) for j in range(len(shards)))
latest, count, gaps, spreads, lead = {}, [0] * len(shards), [], [], 0
lo, hi = float('inf'), float('-inf')
for i, (k, ev) in enumerate(log[:end + 1]):
    latest[k] = ev
    count[k] += 1
    lead = max(lead, max(count) - min(count))
    lo, hi = min(lo, ev), max(hi, ev)
    if (i + 1) % win == 0:
        spreads.append(hi - lo)
        lo, hi = float('inf'), float('-inf')
        if len(latest) == len(shards):
            gaps.append(max(latest.values()) - min(latest.values()))
# two pages of one shard in a row: a run of that shard's lines of more
# than one page (a page here is --limit 10 aggregates, ~350 lines)
runs, prev, cur = [], None, 0
for k, _ in log[:end + 1]:
    if k == prev:
        cur += 1
    else:
        if prev is not None:
            runs.append(cur)
        prev, cur = k, 1
page = sorted(runs)[len(runs) // 2] if runs else 1
doubles = sum(1 for r in runs if r > 1.5 * page)
share = 100.0 * (max(count) - min(count)) / min(count)
print('spread_peak %.1f spread_final %.1f gap_peak %.1f gap_final %.1f '
      'share %.2f lead_peak %d doubles %d runs %d rate %.0f' % (
          max(spreads), spreads[-1], max(gaps or [0]), (gaps or [0])[-1],
          share, lead, doubles, len(runs), len(log) / wall))
EOF

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# one KIN-READ RATE LOAD: a run, its figures on stdout
one() {
	local i pids=() st
	for ((i = 0; i < $3; i++)); do
		sh -c 'while :; do :; done' &
		pids+=("$!")
	done
	"$1" -s pin -o trim-horizon -e --limit 10 -c "$N" -f '%S\t%d\n' |
		"$PY" "$tmp/sink.py" "$2" "$WIN"
	st=$?
	for i in "${pids[@]}"; do
		kill "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	return "$st"
}

echo "N=$N lines a run, spread and gap every WIN=$WIN lines, seconds of event time"
for mode in $MODES; do
	rate=$RATE load=$LOAD
	[ "$mode" = fast ] && rate=0 load=0
	for i in $(seq "$RUNS"); do
		for k in "${!KRS[@]}"; do
			line=$(one "${KRS[$k]}" "$rate" "$load") ||
				{ echo "shard-skew.sh: $mode run $i failed: $line" >&2; exit 1; }
			echo "$mode $i ${KRS[$k]}: $line"
			echo "$line" >>"$tmp/$mode.$k"
		done
	done
	for k in "${!KRS[@]}"; do
		printf '%s median of %s, %s (consumer %s lines/s, %s busy loops):\n ' \
			"$mode" "$RUNS" "${KRS[$k]}" \
			"$([ "$rate" = 0 ] && echo unlimited || echo "$rate")" "$load"
		for f in spread_peak spread_final gap_peak gap_final share lead_peak doubles runs rate; do
			printf ' %s %s' "$f" "$(awk -v f="$f" '{for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}' "$tmp/$mode.$k" | median)"
		done
		echo
	done
done
exit 0
