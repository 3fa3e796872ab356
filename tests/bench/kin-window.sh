#!/usr/bin/env bash
# REC_*, WALL_* and KB_* are set by bench() through printf -v:
# shellcheck disable=SC2154
# Bench for kin-window (issue 6), all measured in this one run on a file of
# N lines of `trade-gen --simulated`:
#   kin-window -t EVENT_TIME --size 60s --slide 30s -a max:PRICE
# against (a) a Python 3 loop doing the same (json.loads, event-time panes),
# (b) jq and (c) mlr doing the closest group-by they can (max PRICE per
# TICKER over the whole input), and (d) `cat FILE | wc -l`, the ceiling.
# kin-window reads the file on two threads while that pays; the row
# kin_window_1thr is the same on one (KIN_WINDOW_THREADS=0).
# Then kin-window alone on 1 000 000 synthetic keys all live at once, and
# with --ohlc PRICE --size 1s.  Each row is the median of RUNS runs: records
# per second of wall-clock time, records per CPU second (user + system, all
# processes of the command: "on one core", and steady when other work
# shares the machine), peak RSS from /usr/bin/time.  The slow tools read
# the first SLOW_N lines of the same file.  The ratio to cat|wc -l (the
# issue's "time") is wall time: cat|wc -l and each kin-window row are run
# by turns, run by turn (cat, kin-window, kin-window one thread, kin-window
# on cat's pipe, cat, ...), so a change of the machine's pipe speed in
# the middle of the bench falls on both sides; it is the median of RUNS
# per-turn ratios, with the CPU-time ratios beside it.  The other ratios
# use CPU time.  Exits 1 if a target of the issue is missed.
#   tests/bench/kin-window.sh [N]        (default 10000000)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
unset PYTHONUNBUFFERED

KW=${KW:-./kin-window/kin-window}
TG=${TG:-./trade-gen/trade-gen}
N=${1:-10000000}
SLOW_N=${SLOW_N:-500000}
RUNS=${RUNS:-3}
for b in "$KW" "$TG"; do
	[ -x "$b" ] || { echo "kin-window.sh: $b not built (run make)" >&2; exit 1; }
done
tmp=${BENCH_TMP:-$(mktemp -d)} || exit 1
[ -n "${BENCH_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT

echo "generating $N trade lines (trade-gen --simulated --seed 1)"
"$TG" --simulated --seed 1 -n "$N" >"$tmp/trades" || exit 1
head -n "$SLOW_N" "$tmp/trades" >"$tmp/slow"
# 1 000 000 tickers, 200 000 records per simulated second: every key is
# live in the same windows.
"$TG" --simulated --seed 2 -r 200000 --keys 1000000 -n "$N" >"$tmp/keys" || exit 1

cat >"$tmp/loop.py" <<'PY'
# The job in plain Python: json.loads per line, event time, 30 s panes
# per ticker, windows of 60 s sliding by 30 s fired by the watermark.
import sys, json, datetime
SIZE, SLIDE = 60000, 30000
EPOCH = datetime.datetime(1970, 1, 1)
panes = {}            # pane index -> {ticker: max}
wm = None
fired = None          # end of the last fired window
out = sys.stdout.write
def fire_until(limit):
    global fired
    while panes:
        end = min(panes) * SLIDE + SLIDE   # first window end over it
        if fired is not None and end <= fired:
            end = fired + SLIDE
        if end - 1 > limit:
            break
        res = {}
        for p in (end // SLIDE - 2, end // SLIDE - 1):
            for k, v in panes.get(p, {}).items():
                res[k] = max(res.get(k, v), v)
        for k in sorted(res):
            out(json.dumps({"key": k, "end": end, "max_PRICE": res[k]}) + "\n")
        fired = end
        for p in [p for p in panes if p * SLIDE + SIZE <= end]:
            del panes[p]
for line in sys.stdin:
    r = json.loads(line)
    t = datetime.datetime.fromisoformat(r["EVENT_TIME"])
    ms = int((t - EPOCH).total_seconds() * 1000)
    p = panes.setdefault(ms // SLIDE, {})
    k, v = r["TICKER"], float(r["PRICE"])
    if k not in p or v > p[k]:
        p[k] = v
    if wm is None or ms > wm:
        wm = ms
        fire_until(wm)
fire_until(float("inf"))
PY

# run1 LINES CMD: "records/cpu-s records/s cpu_s peak_kb wall_ns" for one
# run of CMD (stdout to /dev/null), timed by /usr/bin/time.
run1() {
	local n=$1 cmd=$2 t0 t1 cpu kb
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$tmp/time" bash -c "$cmd" >/dev/null 2>"$tmp/err" ||
		{ echo "failed: $cmd" >&2; cat "$tmp/err" >&2; return 1; }
	t1=$(date +%s%N)
	read -r u s kb <"$tmp/time"
	cpu=$(echo "$u + $s" | bc)
	echo "$(echo "$n / ($cpu + 0.001)" | bc) $(( n * 1000000000 / (t1 - t0) )) $cpu $kb $(( t1 - t0 ))"
}

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# row NAME "run1 lines...": prints a row from the median by records per
# CPU second; sets REC_<NAME> (per CPU second), WALL_<NAME>, KB_<NAME>.
row() {
	local name=$1 rows=$2 row
	row=$(printf '%s\n' "$rows" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	read -r rec wall cpu kb _ <<<"$row"
	printf '%-16s %10s rec/cpu-s %10s rec/s wall %7s cpu-s %9s KB peak\n' \
		"$name" "$rec" "$wall" "$cpu" "$kb"
	printf -v "REC_$name" '%s' "$rec"
	printf -v "WALL_$name" '%s' "$wall"
	printf -v "KB_$name" '%s' "$kb"
}

# turns N CMD_0 NAME_1 CMD_1 ...: RUNS turns, each runs CMD_0 (the
# reference, cat|wc -l) then every CMD_i once, on N lines.  Prints the rows
# (REF as the reference's name is cat_wc) and sets RW_<NAME_i> and
# RC_<NAME_i>: the median over the turns of the wall (and CPU) time of
# CMD_i over that of the reference in the same turn.
turns() {
	local n=$1 ref=$2 i j k out names=() cmds=() rows=() rw=() rc=()
	shift 2
	while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
	for ((i = 0; i < RUNS; i++)); do
		out=$(run1 "$n" "$ref") || return 1
		rows[0]+="$out"$'\n'
		read -r _ _ c0 _ w0 <<<"$out"
		for ((j = 0; j < ${#cmds[@]}; j++)); do
			k=$((j + 1))
			out=$(run1 "$n" "${cmds[j]}") || return 1
			rows[k]+="$out"$'\n'
			read -r _ _ c _ w <<<"$out"
			rw[k]+="$(echo "scale=4; $w / $w0" | bc)"$'\n'
			rc[k]+="$(echo "scale=4; $c / ($c0 + 0.001)" | bc)"$'\n'
		done
	done
	row cat_wc "${rows[0]%$'\n'}"
	for ((j = 0; j < ${#cmds[@]}; j++)); do
		k=$((j + 1))
		row "${names[j]}" "${rows[k]%$'\n'}"
		printf -v "RW_${names[j]}" '%.2f' "$(printf '%s' "${rw[k]}" | median)"
		printf -v "RC_${names[j]}" '%.2f' "$(printf '%s' "${rc[k]}" | median)"
	done
}

# bench NAME LINES CMD: median of RUNS runs by records per CPU second;
# prints a row and sets REC_<NAME> (per CPU second), KB_<NAME>.
bench() {
	local name=$1 n=$2 cmd=$3 i lines=
	for ((i = 0; i < RUNS; i++)); do
		lines+=$(run1 "$n" "$cmd") || return 1
		lines+=$'\n'
	done
	row "$name" "${lines%$'\n'}"
}

echo "median of $RUNS runs; $N lines, slow tools on $SLOW_N"
f=$tmp/trades
job="-t EVENT_TIME --size 60s --slide 30s -a max:PRICE"
turns "$N" "cat $f | wc -l" \
	kin_window "$KW $job $f" \
	kin_window_1thr "KIN_WINDOW_THREADS=0 $KW $job $f" \
	kin_window_pipe "cat $f | $KW $job" || exit 1
bench python "$SLOW_N" "python3 $tmp/loop.py <$tmp/slow" || exit 1
bench jq "$SLOW_N" "jq -c -n 'reduce inputs as \$r ({}; .[\$r.TICKER] = ([.[\$r.TICKER] // -1e308, \$r.PRICE] | max))' $tmp/slow" || exit 1
if command -v mlr >/dev/null; then
	bench mlr "$SLOW_N" "mlr --ijson --ojson stats1 -a max -f PRICE -g TICKER $tmp/slow" || exit 1
else
	echo "mlr: not installed, skipped (Debian package 'miller')"
fi
bench keys_1M "$N" "$KW -t EVENT_TIME --size 60s --slide 30s -a max:PRICE $tmp/keys" || exit 1
bench ohlc_1s "$N" "$KW -t EVENT_TIME --ohlc PRICE --size 1s $f" || exit 1

# Memory per live key-pane on the 1M-key run: peak RSS over the peak
# number of panes that kin-window -v reports.
panes=$("$KW" -v -t EVENT_TIME --size 60s --slide 30s -a max:PRICE "$tmp/keys" 2>&1 >/dev/null |
	sed -n 's/.*peak \([0-9]*\) panes.*/\1/p')
echo
ratio() { echo "scale=2; $1 / $2" | bc; }
fail=0
r_py=$(ratio "$REC_kin_window" "$REC_python")
r_jq=$(ratio "$REC_kin_window" "$REC_jq")
echo "kin-window / Python loop:          ${r_py}x   (target >= 20)"
echo "kin-window / jq:                   ${r_jq}x"
[ -n "${REC_mlr:-}" ] && echo "kin-window / mlr:                  $(ratio "$REC_kin_window" "$REC_mlr")x"
echo "wall time of kin-window / cat|wc -l: ${RW_kin_window}   (target <= 2; ${RW_kin_window_1thr} on one thread; ${RW_kin_window_pipe} reading cat's pipe; medians of $RUNS turns)"
echo "CPU time of kin-window / cat|wc -l:  ${RC_kin_window}   (${RC_kin_window_1thr} on one thread; ${RC_kin_window_pipe} reading cat's pipe)"
echo "load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (the second thread pays only when a CPU is free)"
echo "kin-window records per CPU second: $REC_kin_window   (target >= 6000000)"
bpp=$(( KB_keys_1M * 1024 / (panes > 0 ? panes : 1) ))
echo "1M keys: peak $panes live key-panes, ${KB_keys_1M} KB peak RSS = $bpp bytes per key-pane (target < 200)"
[ "$REC_kin_window" -ge 6000000 ] || { echo "MISSED: records/s"; fail=1; }
[ "$(echo "$r_py >= 20" | bc)" = 1 ] || { echo "MISSED: 20x Python"; fail=1; }
[ "$(echo "$RW_kin_window <= 2" | bc)" = 1 ] || { echo "MISSED: within 2x of the cat | wc -l time"; fail=1; }
[ "$bpp" -lt 200 ] || { echo "MISSED: bytes per key-pane"; fail=1; }
exit "$fail"
