#!/usr/bin/env bash
# Bench for trade-gen (issue 3): records/s of `trade-gen --simulated` into
# /dev/null and through a pipe into wc -l, measured in the same run as
# (a) the original generator's per-record Python logic (genData + json.dumps,
# no network, no sleep) and (b) `yes LINE | head -n N` with lines of the same
# length, the ceiling for a pipe.  Medians of several runs; prints the
# ratios the issue sets targets for and exits 1 if one is missed.
#   tests/bench/trade-gen.sh [N]     (N records per trade-gen run, 10000000)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
unset PYTHONUNBUFFERED  # set here by the environment; halves Python's speed

TG=${TG:-./trade-gen/trade-gen}
N=${1:-10000000}        # trade-gen and yes
PY_N=${PY_N:-300000}    # Python is ~100x slower: fewer records, same rate
RUNS=${RUNS:-5}
PY_RUNS=${PY_RUNS:-3}
[ -x "$TG" ] || { echo "trade-gen.sh: $TG not built (run make)" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/orig.py" <<'PY'
# The original generator's loop, minus Kinesis and sleep.
import datetime, json, random, sys
stocks = ['AMZN', 'GOOG', 'AZRE', 'ORCL', 'BABA']
def genData(cloudPlatform):
    data = {}
    now = datetime.datetime.now()
    str_now = now.isoformat()
    data['EVENT_TIME'] = str_now
    data['TICKER'] = random.choice(stocks)
    price = random.random() * 100
    data['PRICE'] = round(price, 2)
    return data
for _ in range(int(sys.argv[1]) // len(stocks)):
    for cloudPlatform in stocks:
        print(json.dumps(genData(cloudPlatform)))
PY

# Lines of the same length as trade-gen's (their mean, newline included).
"$TG" --simulated -n 100000 --seed 1 >"$tmp/sample" || exit 1
len=$(( $(wc -c <"$tmp/sample") / 100000 ))
line=$(head -c $((len - 1)) /dev/zero | tr '\0' 'x')

# rate RECORDS CMD: records/s of one run of the pipeline CMD, which must
# print RECORDS when it ends in wc -l.
rate() {
	local n=$1 cmd=$2 t0 t1 out
	t0=$(date +%s%N)
	out=$(bash -o pipefail -c "$cmd") || { echo "failed: $cmd" >&2; return 1; }
	t1=$(date +%s%N)
	if [ -n "$out" ] && [ "$out" != "$n" ]; then
		echo "wrong count from: $cmd: $out" >&2
		return 1
	fi
	echo $(( n * 1000000000 / (t1 - t0) ))
}

# median RUNS RECORDS CMD
median() {
	local runs=$1 n=$2 cmd=$3 i r all=()
	for ((i = 0; i < runs; i++)); do
		r=$(rate "$n" "$cmd") || return 1
		all+=("$r")
	done
	printf '%s\n' "${all[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

tg_null=$(median "$RUNS" "$N" "$TG --simulated -n $N --seed 1 >/dev/null") || exit 1
tg_pipe=$(median "$RUNS" "$N" "$TG --simulated -n $N --seed 1 | wc -l") || exit 1
py_pipe=$(median "$PY_RUNS" "$PY_N" "python3 $tmp/orig.py $PY_N | wc -l") || exit 1
# yes dies of SIGPIPE when head has its lines: that is its normal end.
yes_pipe=$(median "$RUNS" "$N" "{ yes $line || :; } | head -n $N >/dev/null") || exit 1

row() { awk -v w="$1" -v r="$2" -v l="$len" 'BEGIN { printf "  %-46s %10d  %7.1f MB/s\n", w, r, r * l / 1e6 }'; }
echo "trade-gen: records/s, median of $RUNS runs ($PY_RUNS for Python), lines of $len bytes"
row "trade-gen --simulated -n $N > /dev/null" "$tg_null"
row "trade-gen --simulated -n $N | wc -l" "$tg_pipe"
row "python3 genData+json.dumps -n $PY_N | wc -l" "$py_pipe"
row "yes LINE | head -n $N > /dev/null" "$yes_pipe"

fail=0
# check LABEL VALUE OP TARGET UNIT
check() {
	local line
	line=$(awk -v w="$1" -v v="$2" -v op="$3" -v t="$4" -v u="$5" 'BEGIN {
		ok = (op == ">=") ? v >= t : v <= t
		printf "  %-30s %8.2f%-1s  (target %s %s%s)  %s\n", w, v, u, op, t, u, ok ? "ok" : "MISSED"
	}')
	echo "$line"
	[[ $line == *MISSED ]] && fail=1
	return 0
}
echo "ratios:"
check "M records/s through a pipe" "$(awk -v a="$tg_pipe" 'BEGIN { print a / 1e6 }')" '>=' 5 ""
check "pipe vs Python" "$(awk -v a="$tg_pipe" -v b="$py_pipe" 'BEGIN { print a / b }')" '>=' 30 x
check "yes line rate vs pipe" "$(awk -v a="$yes_pipe" -v b="$tg_pipe" 'BEGIN { print a / b }')" '<=' 2 x
exit "$fail"
