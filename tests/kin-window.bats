#!/usr/bin/env bats
# kin-window: Flink's window rules on hand-worked inputs (byte for byte),
# the original job's output line, aggregates, lateness, sessions, bad input,
# control lines and state, signals, processing time, the fuzz target, and
# every EXAMPLES line of man/kin-window.1.

load helpers/common

MAN="$KIN_ROOT/man/kin-window.1"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

# Only the end-to-end test starts the local Kinesis.
teardown_file() { kinesis_stop; }

# The hand-worked input.  Seconds after 09:30:00 (a multiple of 30 s since
# the epoch, so windows of 60 s sliding by 30 s end at :00 and :30):
#  r1 5.25 AMZN 12.5   r2 10 GOOG 0.0005   r3 20.000001 AMZN 99.87
#  r4 29.999999 GOOG 0.001   r5 30 AMZN 3   r6 44.123456 ORCL 1e7
#  r7 61 GOOG 0.0001   r8 75 AMZN 7   r9 119.999999 ORCL 9999999.99
#  r10 150 BABA 12345678.9
# Watermark = highest time so far (no --max-delay), in ms (r9 is 119.999).
#  r5 -> wm 30.000 fires end 30: AMZN {r1,r3} GOOG {r2,r4}
#  r7 -> wm 61 fires end 60: AMZN {r1,r3,r5} GOOG {r2,r4} ORCL {r6}
#  r9 -> wm 119.999 fires end 90: AMZN {r5,r8} GOOG {r7} ORCL {r6}
#        and end 120 (end - 1 = 119.999): AMZN {r8} GOOG {r7} ORCL {r9}
#  r10 -> wm 150 fires end 150: ORCL {r9}
#  end of input fires end 180 and 210: BABA {r10}
# Flink's max(2) keeps the window's first record (arrival order) and
# replaces only the price; Java prints the double.
trades() {
	cat <<'EOF'
{"EVENT_TIME": "2026-11-25T09:30:05.250000", "TICKER": "AMZN", "PRICE": 12.5}
{"EVENT_TIME": "2026-11-25T09:30:10", "TICKER": "GOOG", "PRICE": 0.0005}
{"EVENT_TIME": "2026-11-25T09:30:20.000001", "TICKER": "AMZN", "PRICE": 99.87}
{"EVENT_TIME": "2026-11-25T09:30:29.999999", "TICKER": "GOOG", "PRICE": 0.001}
{"EVENT_TIME": "2026-11-25T09:30:30", "TICKER": "AMZN", "PRICE": 3}
{"EVENT_TIME": "2026-11-25T09:30:44.123456", "TICKER": "ORCL", "PRICE": 10000000.0}
{"EVENT_TIME": "2026-11-25T09:31:01", "TICKER": "GOOG", "PRICE": 0.0001}
{"EVENT_TIME": "2026-11-25T09:31:15", "TICKER": "AMZN", "PRICE": 7}
{"EVENT_TIME": "2026-11-25T09:31:59.999999", "TICKER": "ORCL", "PRICE": 9999999.99}
{"EVENT_TIME": "2026-11-25T09:32:30", "TICKER": "BABA", "PRICE": 12345678.9}
EOF
}

flink_lines() {
	cat <<'EOF'
2026-11-25T09:30:05.250000 ==> AMZN : Stock Value: 99.87
2026-11-25T09:30:10 ==> GOOG : Stock Value: 0.001
2026-11-25T09:30:05.250000 ==> AMZN : Stock Value: 99.87
2026-11-25T09:30:10 ==> GOOG : Stock Value: 0.001
2026-11-25T09:30:44.123456 ==> ORCL : Stock Value: 1.0E7
2026-11-25T09:30:30 ==> AMZN : Stock Value: 7.0
2026-11-25T09:31:01 ==> GOOG : Stock Value: 1.0E-4
2026-11-25T09:30:44.123456 ==> ORCL : Stock Value: 1.0E7
2026-11-25T09:31:15 ==> AMZN : Stock Value: 7.0
2026-11-25T09:31:01 ==> GOOG : Stock Value: 1.0E-4
2026-11-25T09:31:59.999999 ==> ORCL : Stock Value: 9999999.99
2026-11-25T09:31:59.999999 ==> ORCL : Stock Value: 9999999.99
2026-11-25T09:32:30 ==> BABA : Stock Value: 1.23456789E7
2026-11-25T09:32:30 ==> BABA : Stock Value: 1.23456789E7
EOF
}

FLINK_TPL='{first_EVENT_TIME} ==> {TICKER} : Stock Value: {max_PRICE:java}\n'

@test "the original job's lines, byte for byte, on a hand-worked input" {
	trades >t.ndjson
	flink_lines >want
	kin-window -t EVENT_TIME --size 60s --slide 30s -a first:EVENT_TIME \
		-a max:PRICE -f "$FLINK_TPL" t.ndjson >got 2>err
	[ ! -s err ]
	cmp want got
	# From standard input too, and the man page's command is this one.
	kin-window -t EVENT_TIME --size 60s --slide 30s -a first:EVENT_TIME \
		-a max:PRICE -f "$FLINK_TPL" <t.ndjson >got2
	cmp want got2
	mandoc -Tutf8 "$MAN" | col -b | tr -s ' \t\n' ' ' |
		grep -qF -- "-a first:EVENT_TIME -a max:PRICE -f '{first_EVENT_TIME} ==> {TICKER} : Stock Value: {max_PRICE:java}\\n' trades.ndjson"
}

@test "{x:java} prints doubles as Java's Double.toString" {
	# value in the input, then what Java (JDK 19+) prints for it
	while read -r v want; do
		printf '{"T":0,"K":"k","P":%s}\n' "$v" >v.ndjson
		run -0 --separate-stderr kin-window -t T -k K --size 1s -a max:P -f '{max_P:java}' v.ndjson
		[ "$output" = "$want" ] || { echo "$v: got $output, want $want"; return 1; }
	done <<'EOF'
0 0.0
-0.0 -0.0
1 1.0
100 100.0
0.001 0.001
0.0009999 9.999E-4
1.5e-5 1.5E-5
9999999 9999999.0
1e7 1.0E7
12345678.9 1.23456789E7
1e23 1.0E23
4.9e-324 4.9E-324
1.7976931348623157e308 1.7976931348623157E308
9007199254740992 9.007199254740992E15
0.30000000000000004 0.30000000000000004
-12.5 -12.5
2e-3 0.002
EOF
}

@test "-J keeps the job's trailing newline inside each record" {
	trades >t.ndjson
	run -0 --separate-stderr kin-window -J -t EVENT_TIME --size 60s --slide 30s \
		-a first:EVENT_TIME -a max:PRICE -f "$FLINK_TPL" t.ndjson
	assert_line --index 0 '{"key":"AMZN","data":"2026-11-25T09:30:05.250000 ==> AMZN : Stock Value: 99.87\n"}'
	assert_line --index 13 '{"key":"BABA","data":"2026-11-25T09:32:30 ==> BABA : Stock Value: 1.23456789E7\n"}'
	[ "${#lines[@]}" -eq 14 ]
	run -0 --separate-stderr kin-window -J -t EVENT_TIME --size 60s -a max:PRICE t.ndjson
	assert_line --index 0 '{"key":"AMZN","data":{"key":"AMZN","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":3,"max_PRICE":99.87}}'
}

@test "the original job end to end on the local Kinesis: kin-read | kin-window | kin-write" {
	command -v kin-write >/dev/null && command -v kin-read >/dev/null ||
		skip "kin-read or kin-write is not built"
	kinesis_start
	for s in ingest processed; do
		aws_local kinesis create-stream --stream-name "$s" --shard-count 1
		aws_local kinesis wait stream-exists --stream-name "$s"
	done
	trades >t.ndjson
	kin-write -s ingest t.ndjson
	kin-read -e -o trim-horizon -s ingest |
		kin-window -J -t EVENT_TIME --size 60s --slide 30s -a first:EVENT_TIME \
			-a max:PRICE -f "$FLINK_TPL" |
		kin-write -J -s processed
	# Each Kinesis record is one line of the job, its "\n" included.
	kin-read -J -e -o trim-horizon -s processed | grep -v $'^\036' >back
	jq -j .data back >got
	flink_lines >want
	cmp want got
	[ "$(wc -l <back)" -eq 14 ]
	jq -e 'select(.key != (.data | split(" ")[2]))' back >/dev/null && return 1
	true
}

@test "default JSON output: window bounds, count, aggregate, order by end then key" {
	trades >t.ndjson
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 60s --slide 30s -a max:PRICE t.ndjson
	[ "${#lines[@]}" -eq 14 ]
	assert_line --index 0 '{"key":"AMZN","start":"2026-11-25T09:29:30.000Z","end":"2026-11-25T09:30:30.000Z","count":2,"max_PRICE":99.87}'
	assert_line --index 1 '{"key":"GOOG","start":"2026-11-25T09:29:30.000Z","end":"2026-11-25T09:30:30.000Z","count":2,"max_PRICE":0.001}'
	assert_line --index 4 '{"key":"ORCL","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":1,"max_PRICE":10000000}'
	assert_line --index 10 '{"key":"ORCL","start":"2026-11-25T09:31:00.000Z","end":"2026-11-25T09:32:00.000Z","count":1,"max_PRICE":9999999.99}'
	# --rename and --tz
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 60s --tz +02:00 \
		--rename key=ticker --rename start=from --rename end=to --rename count=n t.ndjson
	assert_line --index 0 '{"ticker":"AMZN","from":"2026-11-25T09:30:00.000+02:00","to":"2026-11-25T09:31:00.000+02:00","n":3}'
}

@test "--tz reads zone-less times in that zone, with daylight saving" {
	printf '%s\n' '{"T":"2026-07-01T12:00:10","K":"a","P":1}' >s.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 1m --tz Europe/Berlin -f '{start:ms} {start}' s.ndjson
	assert_output "$(( $(date -u -d 2026-07-01T10:00:00Z +%s) * 1000 )) 2026-07-01T12:00:00.000+02:00"
	run -0 --separate-stderr kin-window -t T -k K --size 1m -f '{start}' s.ndjson
	assert_output '2026-07-01T12:00:00.000Z'
	# RFC 3339 offsets and epoch numbers
	printf '%s\n' '{"T":"2026-07-01T12:00:10+01:30","K":"a"}' '{"T":1782907210.5,"K":"b"}' >z.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 1m -f '{key} {start}' z.ndjson
	assert_line --index 0 'a 2026-07-01T10:30:00.000Z'
	assert_line --index 1 'b 2026-07-01T12:00:00.000Z'
	printf '%s\n' '{"T":1782907210500,"K":"b"}' >ms.ndjson
	run -0 --separate-stderr kin-window -t T -k K --time-format epoch_ms --size 1m -f '{start}' ms.ndjson
	assert_output '2026-07-01T12:00:00.000Z'
	# epoch seconds past the range (x1000 would overflow): a bad time
	printf '%s\n' '{"T":9407199254740992,"K":"b"}' >big.ndjson
	run -1 --separate-stderr kin-window -t T -k K --time-format epoch --size 1m big.ndjson
	assert_output ''
	assert_stderr --partial "big.ndjson:1: bad time 'T'"
}

@test "aggregates on a known window" {
	printf '%s\n' \
		'{"T":"2026-01-01T00:00:03Z","K":"x","P":4,"Q":10,"S":"c"}' \
		'{"T":"2026-01-01T00:00:01Z","K":"x","P":2,"Q":30,"S":"a"}' \
		'{"T":"2026-01-01T00:00:05Z","K":"x","P":9,"Q":0,"S":"e"}' \
		'{"T":"2026-01-01T00:00:02Z","K":"x","P":9,"Q":20,"S":"b"}' \
		'{"T":"2026-01-01T00:00:04Z","K":"x","P":1,"Q":40,"S":"d"}' >a.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 10s --max-delay 5s \
		-a sum:P -a min:P -a max:P -a avg:P -a first:S -a last:S -a count:P=n \
		-a vwap:P*Q -a stddev:P -a max_by:P -a min_by:P --ohlc P a.ndjson
	assert_output '{"key":"x","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:00:10.000Z","count":5,"sum_P":25,"min_P":1,"max_P":9,"avg_P":5,"first_S":"c","last_S":"d","n":5,"vwap_P":3.2,"stddev_P":3.8078865529319543,"max_by_P":{"T":"2026-01-01T00:00:05Z","K":"x","P":9,"Q":0,"S":"e"},"min_by_P":{"T":"2026-01-01T00:00:04Z","K":"x","P":1,"Q":40,"S":"d"},"open":2,"high":9,"low":1,"close":9}'
}

@test "p50/p90/p99 stay within 1% of the exact quantile, across panes" {
	python3 - <<'EOF' >q.ndjson
import random
random.seed(5)
for i in range(20000):
    print('{"T": %d, "K": "k", "P": %r}' % (1700000000 + i * 3 // 100, random.lognormvariate(3, 1.5)))
EOF
	run -0 --separate-stderr kin-window -t T -k K --size 10m --slide 1m \
		-a p50:P -a p90:P -a p99:P -f '{start:ms} {p50_P} {p90_P} {p99_P}' q.ndjson
	printf '%s\n' "$output" >got
	python3 - <<'EOF'
import json, math
recs = [json.loads(l) for l in open('q.ndjson')]
bad = 0
for line in open('got'):
    s, *qs = line.split()
    s = int(s) // 1000
    vals = sorted(r['P'] for r in recs if s <= r['T'] < s + 600)
    for q, got in zip((0.5, 0.9, 0.99), map(float, qs)):
        exact = vals[math.floor(q * (len(vals) - 1))]
        if abs(got - exact) > 0.01 * exact:
            bad += 1
            print('off:', s, q, got, exact)
assert bad == 0
EOF
}

@test "Flink's max keeps the first record; max_by takes the first of equal maxima" {
	printf '%s\n' \
		'{"T":"2026-01-01T00:00:01Z","K":"x","P":5,"ID":1}' \
		'{"T":"2026-01-01T00:00:02Z","K":"x","P":8,"ID":2}' \
		'{"T":"2026-01-01T00:00:03Z","K":"x","P":8,"ID":3}' >m.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 10s -a first:ID -a max:P -a max_by:P \
		-f '{first_ID} {max_P:java} {max_by_P}' m.ndjson
	assert_output '1 8.0 {"T":"2026-01-01T00:00:02Z","K":"x","P":8,"ID":2}'
}

@test "tumbling windows, and a slide that does not divide the size" {
	printf '%s\n' '{"T":0,"K":"a"}' '{"T":25,"K":"a"}' '{"T":41,"K":"a"}' >t.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 20s -f '{start:ms}-{end:ms} {count}' t.ndjson
	assert_output "$(printf '0-20000 1\n20000-40000 1\n40000-60000 1')"
	# size 30 s, slide 20 s: windows start at multiples of 20 s.
	run -0 --separate-stderr kin-window -t T -k K --size 30s --slide 20s -f '{start:ms}-{end:ms} {count}' t.ndjson
	assert_output "$(printf -- '-20000-10000 1\n0-30000 2\n20000-50000 2\n40000-70000 1')"
	run -64 --separate-stderr kin-window -t T --size 10s --slide 20s t.ndjson
	assert_stderr --partial 'at most --size'
}

@test "late records: --late FILE, and --allowed-lateness re-fires the window" {
	printf '%s\n' \
		'{"T":"2021-03-04T10:00:05Z","K":"A","P":1}' \
		'{"T":"2021-03-04T10:01:05Z","K":"A","P":2}' \
		'{"T":"2021-03-04T10:00:20Z","K":"A","P":3}' \
		'{"T":"2021-03-04T10:02:05Z","K":"A","P":4}' \
		'{"T":"2021-03-04T10:00:21Z","K":"A","P":5}' >l.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 60s --slide 30s -a sum:P \
		-f '{start} {count} {sum_P}' --late late.out l.ndjson
	assert_output "$(printf '%s\n' '2021-03-04T09:59:30.000Z 1 1' '2021-03-04T10:00:00.000Z 1 1' \
		'2021-03-04T10:00:30.000Z 1 2' '2021-03-04T10:01:00.000Z 1 2' \
		'2021-03-04T10:01:30.000Z 1 4' '2021-03-04T10:02:00.000Z 1 4')"
	assert_stderr 'kin-window: 2 late records written to late.out'
	assert_equal "$(cat late.out)" "$(sed -n '3p;5p' l.ndjson)"
	rm late.out
	run -0 --separate-stderr kin-window -t T -k K --size 60s --slide 30s -a sum:P \
		-f '{start} {count} {sum_P}' --allowed-lateness 30s --late late.out \
		--metrics m.emf --metrics-interval 1h l.ndjson
	assert_output "$(printf '%s\n' '2021-03-04T09:59:30.000Z 1 1' '2021-03-04T10:00:00.000Z 1 1' \
		'2021-03-04T10:00:00.000Z 2 4' \
		'2021-03-04T10:00:30.000Z 1 2' '2021-03-04T10:01:00.000Z 1 2' \
		'2021-03-04T10:01:30.000Z 1 4' '2021-03-04T10:02:00.000Z 1 4')"
	assert_equal "$(cat late.out)" "$(sed -n '5p' l.ndjson)"
	# record 3 came too late for its first window, in time for its second
	assert_stderr --partial 'kin-window: 1 records came after some of their windows had fired and are not in those'
	jq -e '.late_records == 1 and .partly_late_records == 1' m.emf
}

@test "--max-delay holds windows open for out-of-order records" {
	printf '%s\n' '{"T":1,"K":"a"}' '{"T":12,"K":"a"}' '{"T":9,"K":"a"}' '{"T":30,"K":"a"}' >o.ndjson
	run -0 --separate-stderr kin-window -t T -k K --size 10s --max-delay 3s -f '{start:ms} {count}' o.ndjson
	assert_output "$(printf '0 2\n10000 1\n30000 1')"
	run -0 --separate-stderr kin-window -t T -k K --size 10s -f '{start:ms} {count}' o.ndjson
	assert_output "$(printf '0 1\n10000 1\n30000 1')"
	assert_stderr --partial '1 late records dropped'
}

@test "session windows merge per key, fire by end then key" {
	printf '%s\n' \
		'{"T":"2021-03-04T10:00:00Z","K":"A","P":1}' \
		'{"T":"2021-03-04T10:00:05Z","K":"B","P":2}' \
		'{"T":"2021-03-04T10:00:08Z","K":"A","P":3}' \
		'{"T":"2021-03-04T10:00:30Z","K":"A","P":4}' \
		'{"T":"2021-03-04T10:00:12Z","K":"A","P":5}' \
		'{"T":"2021-03-04T10:00:20Z","K":"A","P":6}' \
		'{"T":"2021-03-04T10:01:00Z","K":"B","P":7}' >s.ndjson
	run -0 --separate-stderr kin-window -t T -k K --gap 10s --max-delay 15s -a sum:P \
		-a first:P -a last:P -f '{key} {start} {end} {count} {sum_P} {first_P} {last_P}' s.ndjson
	assert_output "$(printf '%s\n' \
		'B 2021-03-04T10:00:05.000Z 2021-03-04T10:00:15.000Z 1 2 2 2' \
		'A 2021-03-04T10:00:00.000Z 2021-03-04T10:00:40.000Z 5 19 1 6' \
		'B 2021-03-04T10:01:00.000Z 2021-03-04T10:01:10.000Z 1 7 7 7')"
}

# A model of Flink's rules written record by record, with no panes: every
# window of every record kept apart (WindowOperator + EventTimeTrigger),
# compared with kin-window on random out-of-order input.
@test "sliding windows agree with a per-record model of Flink on random disorder and lateness" {
	cat >model.py <<'PYEOF'
import json, random, sys
def model(recs, size, slide, delay, late):
    wm = None
    state = {}      # (start, key) -> [count, sum, max, first]
    fired = set()
    out, lates = [], []
    partly = [0]    # records left out of some of their windows only
    def emit(s, k):
        c, sm, mx, f = state[(s, k)]
        out.append("%d %s %d %d %d %d" % (s + size, k, c, sm, mx, f))
    for t, k, p in recs:
        starts = []
        s = (t // slide) * slide
        while s > t - size:
            starts.append(s)
            s -= slide
        starts.reverse()
        ok = skipped = False
        for s in starts:
            E = s + size
            if wm is not None and E - 1 + late <= wm:
                skipped = True
                continue
            ok = True
            st = state.setdefault((s, k), [0, 0, None, p])
            st[0] += 1; st[1] += p; st[2] = p if st[2] is None else max(st[2], p)
            if wm is not None and E - 1 <= wm:
                emit(s, k); fired.add((s, k))
        if not ok:
            lates.append((t, k, p))
            continue
        partly[0] += skipped
        nw = t - delay
        if wm is None or nw > wm:
            wm = nw
            due = sorted((s + size, k, s) for (s, k) in state if (s, k) not in fired and s + size - 1 <= wm)
            for E, k2, s in due:
                emit(s, k2); fired.add((s, k2))
            for (s, k2) in [x for x in state if x[0] + size - 1 + late <= wm]:
                del state[(s, k2)]; fired.discard((s, k2))
    due = sorted((s + size, k, s) for (s, k) in state if (s, k) not in fired)
    for E, k, s in due:
        emit(s, k)
    return out, lates, partly[0]

if __name__ == "__main__":
    seed, n, size, slide, delay, late, disorder = map(int, sys.argv[1:8])
    rnd = random.Random(seed)
    recs = []
    t0 = 1000000
    for i in range(n):
        t = t0 + i * 7 + rnd.randint(-disorder, disorder)   # ms
        recs.append((t, rnd.choice("abc"), rnd.randint(-50, 50)))
    with open("in.ndjson", "w") as f:
        for t, k, p in recs:
            f.write(json.dumps({"T": t, "K": k, "P": p}) + "\n")
    out, lates, partly = model(recs, size, slide, delay, late)
    with open("want.partly", "w") as f:
        f.write("%d\n" % partly)
    with open("want", "w") as f:
        f.write("".join(l + "\n" for l in out))
    with open("want.late", "w") as f:
        for t, k, p in lates:
            f.write(json.dumps({"T": t, "K": k, "P": p}) + "\n")
PYEOF
	# seed records size slide max-delay lateness disorder (ms)
	sum=0
	while read -r seed n size slide delay late dis; do
		python3 model.py "$seed" "$n" "$size" "$slide" "$delay" "$late" "$dis"
		rm -f got.late
		kin-window -t T -k K --time-format epoch_ms --size "${size}ms" --slide "${slide}ms" \
			--max-delay "${delay}ms" --allowed-lateness "${late}ms" -a count -a sum:P -a max:P \
			-a first:P --late got.late -f '{end:ms} {K} {count} {sum_P} {max_P} {first_P}' in.ndjson >got 2>err
		touch got.late
		cmp want got || { echo "windows differ: $seed $size $slide $delay $late"; diff want got | head; return 1; }
		cmp want.late got.late || { echo "late records differ: $seed"; return 1; }
		# records left out of the windows that had fired, counted
		p=$(sed -n 's/^kin-window: \([0-9]*\) records came after some of their windows had fired.*/\1/p' err)
		[ "${p:-0}" = "$(cat want.partly)" ] || { echo "partly late: $seed: ${p:-0}, want $(cat want.partly)"; return 1; }
		sum=$((sum + ${p:-0}))
	done <<'EOF'
1 3000 100 50 0 0 30
2 3000 100 50 40 0 60
3 3000 100 50 20 80 90
4 3000 90 60 10 30 60
5 3000 100 100 0 50 40
6 3000 70 7 25 25 100
7 4000 60 20 0 100 150
8 4000 1000 10 5 5 300
EOF
	[ "$sum" -gt 0 ]    # the count was put to the test
}

@test "session windows agree with a per-record model of Flink's merging" {
	cat >smodel.py <<'PYEOF'
import json, random, sys
def model(recs, gap, delay, late):
    wm = None
    sess = {}   # key -> list of [start, end, count, sum, first, fired]
    out, lates = [], []
    partly = [0]    # records left out of some of their windows only
    def emit(k, w):
        out.append("%d %d %s %d %d %d" % (w[0], w[1], k, w[2], w[3], w[4]))
    for t, k, p in recs:
        ns, ne = t, t + gap
        L = sess.setdefault(k, [])
        over = [w for w in L if w[0] <= ne and w[1] >= ns]
        ms = min([ns] + [w[0] for w in over]); me = max([ne] + [w[1] for w in over])
        if wm is not None and me - 1 + late <= wm:
            lates.append((t, k, p)); continue
        if over:
            first = min(over, key=lambda w: w[6])
            m = [ms, me, sum(w[2] for w in over), sum(w[3] for w in over), first[4], 0, first[6]]
            for w in over: L.remove(w)
        else:
            m = [ns, ne, 0, 0, p, 0, seq[0]]
        m[2] += 1; m[3] += p
        seq[0] += 1
        L.append(m)
        if wm is not None and me - 1 <= wm:
            emit(k, m); m[5] = 1
        nw = t - delay
        if wm is None or nw > wm:
            wm = nw
            due = sorted((w[1], k2, w[0]) for k2, LL in sess.items() for w in LL if not w[5] and w[1] - 1 <= wm)
            for e, k2, s in due:
                w = [w for w in sess[k2] if w[0] == s][0]
                emit(k2, w); w[5] = 1
            for k2, LL in sess.items():
                sess[k2] = [w for w in LL if not (w[1] - 1 + late <= wm)]
    due = sorted((w[1], k2, w[0]) for k2, LL in sess.items() for w in LL if not w[5])
    for e, k2, s in due:
        w = [w for w in sess[k2] if w[0] == s][0]
        emit(k2, w)
    return out, lates
seq = [0]
if __name__ == "__main__":
    seed, n, gap, delay, late, disorder = map(int, sys.argv[1:7])
    rnd = random.Random(seed)
    recs = []
    t = 1000000
    for i in range(n):
        t += rnd.choice([1, 2, 3, 5, 40, 90])
        recs.append((t + rnd.randint(-disorder, disorder), rnd.choice("abc"), rnd.randint(-50, 50)))
    with open("in.ndjson", "w") as f:
        for tt, k, p in recs:
            f.write(json.dumps({"T": tt, "K": k, "P": p}) + "\n")
    out, lates = model(recs, gap, delay, late)
    open("want", "w").write("".join(l + "\n" for l in out))
    with open("want.late", "w") as f:
        for tt, k, p in lates:
            f.write(json.dumps({"T": tt, "K": k, "P": p}) + "\n")
PYEOF
	# seed records gap max-delay lateness disorder (ms)
	while read -r seed n gap delay late dis; do
		python3 smodel.py "$seed" "$n" "$gap" "$delay" "$late" "$dis"
		rm -f got.late
		kin-window -q -t T -k K --time-format epoch_ms --gap "${gap}ms" --max-delay "${delay}ms" \
			--allowed-lateness "${late}ms" -a count -a sum:P -a first:P --late got.late \
			-f '{start:ms} {end:ms} {K} {count} {sum_P} {first_P}' in.ndjson >got
		touch got.late
		cmp want got || { echo "sessions differ: $seed $gap $delay $late"; diff want got | head; return 1; }
		cmp want.late got.late || { echo "late records differ: $seed"; return 1; }
	done <<'EOF'
1 3000 30 0 0 0
2 3000 30 20 0 30
3 3000 25 10 40 60
4 3000 100 5 5 80
5 3000 10 0 100 100
6 4000 50 30 30 120
EOF
}

@test "keys: several fields, none, escapes and numbers" {
	printf '%s\n' '{"A":"x","B":1,"T":0}' '{"A":"\u0078","B":1,"T":1}' '{"A":"x","B":2,"T":2}' >k.ndjson
	run -0 --separate-stderr kin-window -t T -k A,B --size 1m k.ndjson
	assert_line --index 0 '{"key":["x",1],"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:01:00.000Z","count":2}'
	assert_line --index 1 '{"key":["x",2],"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:01:00.000Z","count":1}'
	run -0 --separate-stderr kin-window -t T -k none --size 1m k.ndjson
	assert_output '{"start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:01:00.000Z","count":3}'
}

# A large replay, byte for byte: seeded trade-gen files (1 000 000 trades
# of 5 tickers; 500 000 of 50 000 keys; and 200 000 trades with other
# shapes, escapes, bad lines, late times, extra fields, CRLF, control lines
# mixed in) through the fast paths (many lines per call, cached times and
# keys) and the slow ones.  The checksums were taken with kin-window as it
# was before the fast paths (commit 0fdc0c7): any change of output, late
# or error file, or message shows here.  a-input pins trade-gen's output
# for the seed: if that changed, the other pins must be taken again from a
# build of that commit.
replay() {
	local kw="kin-window -t EVENT_TIME"

	trade-gen --simulated --seed 7 --start 2024-03-01T00:00:00 -n 1000000 >a
	trade-gen --simulated --seed 8 --start 2024-03-01T00:00:00 -r 100000 \
	    --keys 50000 -n 500000 >b
	# Mixed shapes and faults, every few hundred lines, on part of a.
	head -n 200000 a | awk '
	NR % 97 == 0 { gsub(/": /, "\":"); gsub(/, "/, ",\""); }
	NR % 101 == 0 { sub(/"TICKER": "/, "\"TICKER\": \"\\u0058"); }
	NR % 103 == 0 { sub(/"PRICE": /, "\"PRICE\": \""); sub(/}$/, "\"}"); }
	NR % 107 == 0 { sub(/}$/, "e-1}"); }
	NR % 109 == 0 { print "not json"; }
	NR % 113 == 0 { print ""; }
	NR % 127 == 0 { sub(/}$/, ", \"X\": [1, {\"y\": null}]}"); }
	NR % 131 == 0 { sub(/"2024-03-0/, "\"2024-02-2"); }
	NR % 137 == 0 { sub(/}$/, "}\r"); }
	NR % 139 == 0 { sub(/"PRICE": [0-9.]*/, "\"PRICE\": true"); }
	NR % 149 == 0 { sub(/, "PRICE"/, ", \"PRICE\": 1, \"PRICE\""); }
	NR % 151 == 0 { sub(/"EVENT_TIME": "[^"]*"/, "\"EVENT_TIME\": 1709251200.5"); }
	NR % 5003 == 0 { printf "\036{\"type\":\"note\",\"n\":%d}\n", NR; }
	{ print }' >c
	rm -f late errors
	echo "a-input $(sha256sum <a | cut -c1-64)"
	$kw --size 60s --slide 30s -a max:PRICE a >o1
	echo "a-max $(sha256sum <o1 | cut -c1-64)"
	# shellcheck disable=SC2002  # a pipe, not a file on stdin (mapped)
	cat a | $kw --size 60s --slide 30s -a max:PRICE >o1p
	echo "a-max-pipe $(sha256sum <o1p | cut -c1-64)"
	$kw --ohlc PRICE --size 1s a >o2
	echo "a-ohlc $(sha256sum <o2 | cut -c1-64)"
	$kw --size 10s --slide 4s -a count -a first:PRICE -a last:PRICE \
	    -a avg:PRICE -a stddev:PRICE -a p90:PRICE -a max_by:PRICE \
	    -f '{start} {key} {count} {first_PRICE} {last_PRICE} {avg_PRICE} {stddev_PRICE} {p90_PRICE} {max_by_PRICE}' \
	    a >o3
	echo "a-aggs $(sha256sum <o3 | cut -c1-64)"
	head -n 200000 a | $kw --gap 1500ms -a max:PRICE -a count \
	    >o4
	echo "a-sessions $(sha256sum <o4 | cut -c1-64)"
	$kw --size 60s --slide 30s -a max:PRICE -a count b >o5
	echo "b-max $(sha256sum <o5 | cut -c1-64)"
	$kw --size 10s --slide 5s -a max:PRICE -a sum:PRICE -a count \
	    --max-delay 1s --allowed-lateness 2s --late late \
	    --errors errors c >o6 2>e6 || [ $? -eq 1 ]   # bad lines: 1
	echo "c-mixed $(sha256sum <o6 | cut -c1-64)"
	echo "c-late $(sha256sum <late | cut -c1-64)"
	echo "c-errors $(sha256sum <errors | cut -c1-64)"
	echo "c-stderr $(sha256sum <e6 | cut -c1-64)"
	$kw -k TICKER,PRICE --size 1s -a count c >o7 2>/dev/null || [ $? -eq 1 ]
	echo "c-twokeys $(sha256sum <o7 | cut -c1-64)"
}

@test "a large replay gives the same bytes as before the fast paths" {
	replay >pins
	run -0 cat pins
	assert_output - <<'EOF'
a-input 17bd0218e33c316fdee06207b3c714e84a7dc61c79ab0e94108e958548a32715
a-max 03f5a4f82976836629222ff835a449c21f9528c49db871f279c45f504c965540
a-max-pipe 03f5a4f82976836629222ff835a449c21f9528c49db871f279c45f504c965540
a-ohlc 34f4a353ec7ea38bbf06071ab25f9feb8301a6f165276d8f73f21b6a754df077
a-aggs de0116896c28563c38ab74a61ac7525491e8db7dfb402544d9dae778f113b152
a-sessions 67b80367e1657cf68cf5520027755fed0c0dd70ca981a8492517005a4f7416b2
b-max 83f3cfc3b6bef1e8427459f6c5107c41aae14084d8b39c4da41f1c2d5cf72a5a
c-mixed 2ad534badb6cf5ba901ddd9ece36c876468c7e628d7c0c10cab7020d13f0046b
c-late e0d3004eff9b683e07a755d19d6d9cd83bfed76d29e8d80f19bf37cc67533ddc
c-errors 3c78387ee187d0f4a8e55b16503e486d203c2f7538d47858a7409e4cbee22966
c-stderr 032c91904c881f1bb1ac34c75e9d3775536b0e65905b9ab64a0c9e5518614a9f
c-twokeys 3352671edbfbb0be8674080863c5fe19856019eb33435fd2cd63a8283cf262ad
EOF
}

# Two threads (KIN_WINDOW_THREADS=1), and two and one by turns every
# megabyte or so (=flip), give the pinned bytes too.
@test "the large replay on two threads, and switching, gives the same bytes" {
	replay >pins
	for m in 1 flip; do
		KIN_WINDOW_THREADS=$m replay >pins.$m
		run -0 diff pins pins.$m
	done
}

# Barriers (state saved), a restore, ends, bad and late lines: every file
# written is the same on one thread, two, and switching.
@test "two threads: control lines, state, late and bad lines as on one" {
	trade-gen --simulated --seed 9 --start 2024-03-01T00:00:00 -n 240000 |
	awk '
	NR % 109 == 0 { print "not json"; }
	NR % 113 == 0 { print ""; }
	NR % 127 == 0 { sub(/"PRICE": /, "\"PRICE\": \""); sub(/}$/, "\"}"); }
	NR % 131 == 0 { sub(/"2024-03-0/, "\"2024-02-2"); }
	NR % 5003 == 0 { printf "\036{\"kin\":\"note\",\"n\":%d}\n", NR; }
	NR % 20011 == 0 { printf "\036{\"kin\":\"barrier\",\"id\":%d}\n", NR; }
	NR == 150001 { printf "\036{\"kin\":\"restore\",\"id\":140077}\n"; }
	NR == 200001 { printf "\036{\"kin\":\"end\"}\n"; }
	{ print }
	END { printf "\036{\"kin\":\"end\"}\n"; }' >in
	for m in 0 1 flip; do
		mkdir "d$m"
		st=0
		(cd "d$m" && KIN_WINDOW_THREADS=$m kin-window -t EVENT_TIME \
		    --size 10s --slide 5s -a max:PRICE -a count -a last:PRICE \
		    --max-delay 1s --allowed-lateness 2s --late late \
		    --errors errors --state st ../in >out 2>err) || st=$?
		echo "$st" >"d$m/status"
	done
	[ "$(cat d0/status)" = 1 ]   # bad lines were skipped
	[ -s d0/out ] && [ -s d0/late ] && [ -s d0/errors ] && [ -s d0/st ]
	run -0 diff -r d0 d1
	run -0 diff -r d0 dflip
}

@test "bad input: counted, reported once per kind with its line, --errors, the run goes on" {
	{
		echo '{"EVENT_TIME":"2026-01-01T00:00:00","TICKER":"A","PRICE":1}'
		echo '[1,2]'
		echo '{"EVENT_TIME":"2026-01-01T00:00:01","PRICE":1}'
		echo '{"EVENT_TIME":"2026-01-01T00:00:01","TICKER":"A","PRICE":"x"}'
		echo '{"EVENT_TIME":"yesterday","TICKER":"A","PRICE":1}'
		echo '{"EVENT_TIME":"2026-01-01T00:00:01","TICKER":"A"}'
		echo '{"EVENT_TIME":"2026-01-01T00:00:01","TICKER":"A","PRICE":1'
		echo '[3]'
		echo ''
		echo '{"EVENT_TIME":"2026-01-01T00:00:02","TICKER":"A","PRICE":"2.5"}'
	} >b.ndjson
	# exit 1: all input read, but records were set aside (DESIGN.md 2)
	run -1 --separate-stderr kin-window -t EVENT_TIME --size 1m -a sum:PRICE --errors bad.out b.ndjson
	assert_output '{"key":"A","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:01:00.000Z","count":2,"sum_PRICE":3.5}'
	assert_stderr_line --index 0 "kin-window: b.ndjson:2: not a JSON object (reported once; later ones are counted)"
	assert_stderr_line --index 1 "kin-window: b.ndjson:3: missing key field 'TICKER' (reported once; later ones are counted)"
	assert_stderr_line --index 2 "kin-window: b.ndjson:4: not a number 'PRICE' (reported once; later ones are counted)"
	assert_stderr_line --index 3 "kin-window: b.ndjson:5: bad time 'EVENT_TIME' (reported once; later ones are counted)"
	assert_stderr_line --index 4 "kin-window: b.ndjson:6: missing field 'PRICE' (reported once; later ones are counted)"
	assert_stderr_line --index 5 "kin-window: b.ndjson:7: invalid JSON (reported once; later ones are counted)"
	assert_stderr_line --index 6 --partial "kin-window: 7 records skipped: 2 not a JSON object (first at b.ndjson:2), 1 invalid JSON (first at b.ndjson:7),"
	assert_equal "$(cat bad.out)" "$(sed -n '2,8p' b.ndjson)"
	# -v reports every one
	run -1 --separate-stderr kin-window -v -t EVENT_TIME --size 1m -a sum:PRICE b.ndjson
	assert_stderr_line --index 6 "kin-window: b.ndjson:8: not a JSON object"
}

@test "hostile lines never crash it: long, deep, NUL, invalid UTF-8" {
	python3 - <<'EOF' >h.ndjson
import sys
w = sys.stdout.buffer.write
w(b'{"TICKER":"' + b'A' * (2 << 20) + b'","PRICE":1}\n')
w(b'{"TICKER":"A","X":' + b'[' * 100000 + b']' * 100000 + b',"PRICE":1}\n')
w(b'{"TICKER":"A\x00B","PRICE":1}\n')
w(b'{"TICKER":"\xff\xfe","PRICE":2}\n')
w(b'{"TICKER":"A","X":[{"a":"}"}],"PRICE":3}\n')
w(b'\x00\x00\x00\n')
w(b'{"TICKER":"A","PRICE":4}')
EOF
	run -1 --separate-stderr kin-window -k TICKER -a sum:PRICE --size 1h h.ndjson
	assert_line --partial '"key":"A","start"'
	assert_line --partial '"key":"\ufffd\ufffd"'
	assert_line --partial '"key":"A\u0000B"'
	assert_stderr --partial 'line too long'
	assert_stderr --partial 'nested too deeply'
	run -1 --separate-stderr kin-window -a sum:PRICE --size 1h <h.ndjson
}

# A line over the ceiling is skipped even when it has the shape of the one
# before (the fast path), from a file (mapped, one thread or two) as from
# a pipe; the short lines around it count.
@test "a long line of the last shape is too long, from a file as from a pipe" {
	python3 - <<'EOF' >l.ndjson
import sys
w = sys.stdout.buffer.write
for i, x in enumerate([10, 2 << 20, 10]):
    w(b'{"EVENT_TIME": "2026-01-01T00:00:0%d", "TICKER": "A", "PRICE": %d, '
      b'"X": "%s"}\n' % (i, i + 1, b'y' * x))
EOF
	want='{"key":"A","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:01:00.000Z","count":2,"sum_PRICE":4}'
	for m in 0 1; do
		KIN_WINDOW_THREADS=$m run -1 --separate-stderr kin-window \
		    -t EVENT_TIME --size 1m -a sum:PRICE l.ndjson
		assert_output "$want"
		assert_stderr_line --index 0 --partial "l.ndjson:2: line too long"
	done
	run -1 --separate-stderr kin-window -t EVENT_TIME --size 1m \
	    -a sum:PRICE <l.ndjson
	assert_output "$want"
	assert_stderr_line --index 0 --partial "stdin:2: line too long"
}

@test "control lines pass through in order; barrier state; EOF without end exits 75" {
	trades >t.ndjson
	{ head -3 t.ndjson; printf '\036{"kin":"barrier","id":"b-1"}\n'; printf '\036{"kin":"other","x":1}\n'; } >part1
	{ tail -n +4 t.ndjson; printf '\036{"kin":"end"}\n'; } >part2
	args=(-t EVENT_TIME --size 60s --slide 30s -a first:EVENT_TIME -a max:PRICE -a p50:PRICE -a max_by:PRICE)
	run -75 --separate-stderr kin-window "${args[@]}" --state st part1
	assert_line --index 0 $'\036{"kin":"barrier","id":"b-1"}'
	assert_line --index 1 $'\036{"kin":"other","x":1}'
	assert_stderr --partial "without an 'end' control line"
	[ "$(stat -c %a st)" = 600 ]
	head -1 st | grep -q '"barrier":"b-1"'
	# Restart: the same results as one run over everything.
	run -0 --separate-stderr kin-window "${args[@]}" --state st part2
	printf '%s\n' "$output" >resumed
	kin-window "${args[@]}" t.ndjson >full
	assert_equal "$(grep -v $'^\036' resumed)" "$(cat full)"
	assert_equal "$(tail -1 resumed)" $'\036{"kin":"end"}'
	# Results before a control line come out before it.
	cat part1 part2 | kin-window "${args[@]}" >both
	assert_equal "$(grep -n $'^\036' both | cut -d: -f1 | tr '\n' ' ')" "1 2 $(wc -l <both) "
	# State written with other options is refused.
	run -78 --separate-stderr kin-window -t EVENT_TIME --size 10s --state st part2
	assert_stderr --partial 'other window options'
}

@test "a restart from a barrier's state gives the same results, for every aggregate and sessions" {
	python3 - <<'EOF' >in.ndjson
import json, random
r = random.Random(9)
t = 1000000
for i in range(3000):
    t += r.choice([1, 2, 3, 5, 40, 90])
    print(json.dumps({"T": t + r.randint(-60, 60), "K": r.choice("abc"), "P": r.randint(-50, 50) / 4, "Q": r.randint(1, 9)}))
EOF
	head -1500 in.ndjson >a.nd
	printf '\036{"kin":"barrier","id":1}\n' >>a.nd
	tail -n +1501 in.ndjson >b.nd
	printf '\036{"kin":"end"}\n' >>b.nd
	aggs=(-a count -a sum:P -a min:P -a max:P -a avg:P -a first:P -a last:P -a open:P -a close:P
		-a vwap:P*Q -a stddev:P -a p50:P -a p99:P -a max_by:P -a min_by:P)
	for win in "--gap 25ms" "--size 70ms --slide 7ms" "--size 100ms"; do
		# shellcheck disable=SC2206 # $win is two or four words
		args=(-q -t T -k K --time-format epoch_ms $win --max-delay 10ms --allowed-lateness 40ms "${aggs[@]}")
		rm -f st
		run -75 --separate-stderr kin-window "${args[@]}" --state st a.nd
		kin-window "${args[@]}" --state st b.nd >o2
		kin-window "${args[@]}" in.ndjson >full
		assert_equal "$(printf '%s\n' "$output" | grep -v $'^\036'; grep -v $'^\036' o2)" "$(cat full)"
	done
}

@test "restore loads the snapshot of that barrier" {
	trades >t.ndjson
	{ head -3 t.ndjson; printf '\036{"kin":"barrier","id":5}\n'; printf '\036{"kin":"end"}\n'; } >p1
	kin-window -t EVENT_TIME --size 1m -a max:PRICE --state st p1 >/dev/null
	# a restore means barrier mode: its input ends with an end
	{ printf '\036{"kin":"restore","id":5}\n'; tail -n +4 t.ndjson;
		printf '\036{"kin":"end"}\n'; } >p2
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 1m -a max:PRICE --state st p2
	assert_line --index 1 '{"key":"AMZN","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":3,"max_PRICE":99.87}'
	# a later barrier's snapshot moves the earlier one to st.prev, and a
	# restore can still go back to it
	{ head -3 t.ndjson; printf '\036{"kin":"barrier","id":5}\n'; sed -n 4p t.ndjson;
		printf '\036{"kin":"barrier","id":6}\n'; printf '\036{"kin":"end"}\n'; } >p3
	rm -f st st.prev
	kin-window -t EVENT_TIME --size 1m -a max:PRICE --state st p3 >/dev/null
	head -1 st | grep -q '"barrier":6'
	head -1 st.prev | grep -q '"barrier":5'
	[ "$(stat -c %a st.prev)" = 600 ]
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 1m -a max:PRICE --state st p2
	assert_line --index 1 '{"key":"AMZN","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":3,"max_PRICE":99.87}'
	# the restored snapshot was saved again as the newest
	head -1 st | grep -q '"barrier":5'
	head -1 st.prev | grep -q '"barrier":6'
	# a restore to a barrier neither snapshot has is an error
	printf '\036{"kin":"restore","id":9}\n' >p9
	run -65 --separate-stderr kin-window -t EVENT_TIME --size 1m -a max:PRICE --state st p9
	assert_stderr --partial "it belongs to barrier 5, not 9"
	# no snapshot at all is an error too, not a silent empty start
	run -65 --separate-stderr kin-window -t EVENT_TIME --size 1m -a max:PRICE --state none p9
	assert_stderr --partial "restore 9: no state file 'none'"
}

@test "a restore without an id starts from no state; EOF after it without end fires nothing" {
	trades >t.ndjson
	{ head -3 t.ndjson; printf '\036{"kin":"barrier","id":5}\n'; } >p1
	run -75 --separate-stderr kin-window -t EVENT_TIME --size 1m -a count --state st p1
	head -1 st | grep -q '"barrier":5'
	# upstream had nothing committed: from nothing, whatever st holds
	# (loaded, st's two AMZN records would make it 4)
	{ printf '\036{"kin":"restore"}\n'; head -3 t.ndjson; printf '\036{"kin":"end"}\n'; } >p2
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 1m -a count --state st p2
	assert_line --index 1 '{"key":"AMZN","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":2}'
	# a restore is barrier mode: an EOF without end fires no window
	{ printf '\036{"kin":"restore"}\n'; head -3 t.ndjson; } >p3
	run -75 --separate-stderr kin-window -t EVENT_TIME --size 1m -a count --state st p3
	assert_output $'\036{"kin":"restore"}'
}

@test "SIGTERM saves the open windows, and the next start continues them" {
	trades >t.ndjson
	mkfifo in
	kin-window -t EVENT_TIME --size 1m -a sum:PRICE --state st <in >out 2>err &
	pid=$!
	exec 7>in
	head -2 t.ndjson >&7
	# A control line comes out once the lines before it are read.
	printf '\036{"kin":"ping"}\n' >&7
	wait_for grep -q ping out
	kill -TERM $pid
	wait $pid
	exec 7>&-
	[ "$(wc -l <out)" -eq 1 ]
	grep -c '"k":' st | grep -qx 2
	run -0 --separate-stderr kin-window -t EVENT_TIME --size 1m -a sum:PRICE --state st /dev/null
	assert_line --index 0 --partial '"key":"AMZN","start":"2026-11-25T09:30:00.000Z","end":"2026-11-25T09:31:00.000Z","count":1,"sum_PRICE":12.5'
}

@test "SIGTERM after a barrier keeps that barrier's snapshot" {
	trades >t.ndjson
	mkfifo in
	kin-window -t EVENT_TIME --size 1m -a sum:PRICE --state st <in >out 2>err &
	pid=$!
	exec 7>in
	head -1 t.ndjson >&7
	printf '\036{"kin":"barrier","id":3}\n' >&7
	sed -n 2p t.ndjson >&7
	printf '\036{"kin":"ping"}\n' >&7
	wait_for grep -q ping out
	kill -TERM $pid
	wait $pid
	exec 7>&-
	head -1 st | grep -q '"barrier":3'
	[ "$(grep -c '"k":' st)" -eq 1 ]
}

@test "processing time: a window fires when the clock passes its end, input still open" {
	mkfifo in
	kin-window --size 1s -a sum:P -k K <in >out 2>err &
	pid=$!
	exec 7>in
	echo '{"K":"a","P":1}' >&7
	echo '{"K":"a","P":2}' >&7
	wait_for -t 5 grep -q '"count":2,"sum_P":3' out
	exec 7>&-
	wait $pid
}

@test "processing time: the system clock stepping back an hour neither breaks nor repeats windows" {
	# kin-window/t/clockstep.c: CLOCK_REALTIME steps back once the file
	# 'step' exists; the monotonic clock goes on.
	shim="$KIN_ROOT/build/plain/kin-window/libclockstep.so"
	[ -f "$shim" ] || make -s -C "$KIN_ROOT" "${shim#"$KIN_ROOT"/}"
	export CLOCKSTEP_FILE=$PWD/step CLOCKSTEP_BACK_MS=3600000
	before=$(LD_PRELOAD=$shim date +%s)
	touch step
	after=$(LD_PRELOAD=$shim date +%s)
	[ $((before - after)) -ge 3590 ] || fail "the shim does not step the clock"
	rm step
	mkfifo in
	LD_PRELOAD=$shim kin-window --size 1s -a sum:P -k K <in >out 2>err &
	pid=$!
	exec 7>in
	echo '{"K":"a","P":1}' >&7
	wait_for -t 5 grep -q '"count":1,"sum_P":1}' out
	touch step
	echo '{"K":"a","P":2}' >&7
	echo '{"K":"a","P":4}' >&7
	wait_for -t 5 grep -q '"count":2,"sum_P":6}' out
	exec 7>&-
	wait $pid
	# Not late, not dropped: two windows, the second after the first.
	run -0 cat err
	assert_output ''
	run -0 jq -rs 'length, (.[0].end <= .[1].start)' out
	assert_output $'2\ntrue'
}

@test "--max-keys: records of new keys over the limit are rejected to --errors, counted, exit 65" {
	cat >in <<'EOF'
{"T":1,"K":"a","P":1}
{"T":2,"K":"b","P":2}
{"T":3,"K":"c","P":3}
{"T":4,"K":"a","P":4}
{"T":11,"K":"c","P":5}
{"T":12,"K":"d","P":6}
{"T":13,"K":"e","P":7}
EOF
	# At 11 a and b are still open (the watermark moves after the record);
	# then window [0, 10) fires, a and b close, d and e fit.
	run -65 --separate-stderr kin-window -t T -k K --size 10s -a max:P \
	    --max-keys 2 --errors errs in
	assert_output - <<'EOF'
{"key":"a","start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:10.000Z","count":2,"max_P":4}
{"key":"b","start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:10.000Z","count":1,"max_P":2}
{"key":"d","start":"1970-01-01T00:00:10.000Z","end":"1970-01-01T00:00:20.000Z","count":1,"max_P":6}
{"key":"e","start":"1970-01-01T00:00:10.000Z","end":"1970-01-01T00:00:20.000Z","count":1,"max_P":7}
EOF
	assert_equal "$stderr" "kin-window: in:3: too many keys (--max-keys 2) (reported once; later ones are counted)
kin-window: 2 records skipped: 2 too many keys (first at in:3); written to errs"
	run -0 cat errs
	assert_output $'{"T":3,"K":"c","P":3}\n{"T":11,"K":"c","P":5}'
	# Sessions too; and under the limit: exit 0.
	run -65 --separate-stderr kin-window -t T -k K --gap 5s -a max:P \
	    --max-keys 1 in
	assert_line --index 0 '{"key":"a","start":"1970-01-01T00:00:01.000Z","end":"1970-01-01T00:00:09.000Z","count":2,"max_P":4}'
	run -0 kin-window -t T -k K --size 10s -a max:P --max-keys 5 in
	run -64 --separate-stderr kin-window -t T --size 1s --max-keys 0 in
	assert_output ''
	assert_equal "${stderr%%:*}" "kin-window"
	[[ "$stderr" == *"bad --max-keys '0'"* ]]
}

@test "--max-keys bounds memory at a million keys" {
	trade-gen --simulated --seed 3 --start 2024-03-01T00:00:00 -r 100000 \
	    --keys 1000000 -n 400000 >in
	run -65 --separate-stderr kin-window -v -t EVENT_TIME --size 2s \
	    --slide 1s -a max:PRICE --max-keys 20000 in
	# 20 000 keys, each with at most 3 open 1 s panes.
	peak=$(printf '%s\n' "$stderr" | sed -n 's/.*peak \([0-9]*\) panes.*/\1/p')
	[ "$peak" -le 60000 ] || fail "peak $peak panes"
	[[ "$stderr" == *"too many keys (--max-keys 20000)"* ]]
}

@test "--idle-timeout closes windows of a quiet stream" {
	mkfifo in
	kin-window -t T -k K --size 1s --idle-timeout 200ms <in >out 2>err &
	pid=$!
	exec 7>in
	echo '{"T":100,"K":"a"}' >&7
	wait_for -t 5 grep -q '"count":1' out
	exec 7>&-
	wait $pid
}

@test "write failures are loud: output, state" {
	printf '%s\n' '{"T":1,"K":"a"}' >one.nd
	run -74 --separate-stderr bash -c 'kin-window -t T -k K --size 1s one.nd >/dev/full'
	assert_stderr 'kin-window: cannot write output: No space left on device'
	printf '%s\n' '{"T":1,"K":"a"}' $'\036{"kin":"barrier","id":1}' >two.nd
	run -74 --separate-stderr kin-window -t T -k K --size 1s --state "$BATS_TEST_TMPDIR/no/st" two.nd
	assert_stderr --partial "kin-window: cannot write state '$BATS_TEST_TMPDIR/no/st.tmp."
	# nothing is left behind when the write fails half way
	mkdir ro && chmod 500 ro
	if [ "$(id -u)" -ne 0 ]; then
		run -74 --separate-stderr kin-window -t T -k K --size 1s --state ro/st two.nd
		[ -z "$(ls ro)" ]
	fi
}

@test "--metrics writes EMF lines with the run's counts" {
	trades >t.ndjson
	printf 'not json\n' >>t.ndjson
	run -1 --separate-stderr kin-window -q -t EVENT_TIME --size 60s --slide 30s -a max:PRICE \
		--metrics m.emf --metrics-interval 1h t.ndjson
	[ "$(wc -l <m.emf)" -eq 1 ]
	jq -e '.program == "kin-window" and .records_in == 10 and .windows_fired == 14 and
		.records_out == 14 and .bad_records == 1 and ."bad_records.not_object" == 1 and
		.late_records == 0 and .partly_late_records == 0 and (._aws.CloudWatchMetrics[0].Namespace == "kin")' m.emf
	[ "$(stat -c %a m.emf)" = 600 ]
	# on a quiet pipe a line still comes each interval
	mkfifo in
	kin-window --size 1h -k K --metrics m2.emf --metrics-interval 200ms <in >out 2>err &
	pid=$!
	exec 7>in
	echo '{"K":"a"}' >&7
	wait_for test -s m2.emf
	exec 7>&-
	wait $pid
	jq -e -s 'map(.records_in) | add == 1' m2.emf
}

@test "usage errors exit 64" {
	run -64 --separate-stderr kin-window
	assert_stderr --partial 'give either --size'
	run -64 --separate-stderr kin-window --size 1m -a nope:X
	assert_stderr --partial "unknown function 'nope'"
	run -64 --separate-stderr kin-window --size 1m --gap 1s
	run -64 --separate-stderr kin-window --size 1m -f '{nope}'
	assert_stderr --partial "'{nope}' is not"
	run -64 --separate-stderr kin-window --size 1m --idle-timeout 1s
	run -64 --separate-stderr kin-window --size 1m --max-delay 1s
	run -64 --separate-stderr kin-window --slide 1m
	assert_stderr 'kin-window: --slide needs --size'
	run -64 --separate-stderr kin-window --size 1x
	run -0 --separate-stderr kin-window -V
	assert_output --regexp '^kin-window [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--config file, command line wins" {
	printf 'size=1s\ntime-field=T\nkey=K\n# comment\naws.region=eu-west-1\n' >c.conf
	# the original job's properties are taken (and not used)
	printf 'inputStreamName=a\noutputStreamName=b\nAggregationEnabled=false\nPartition=p\n' >>c.conf
	printf '%s\n' '{"T":1,"K":"a"}' '{"T":2.5,"K":"a"}' >c.ndjson
	run -0 --separate-stderr kin-window --config c.conf c.ndjson
	assert_line --index 0 --partial '"count":1'
	run -0 --separate-stderr kin-window --config c.conf --size 10s c.ndjson
	assert_output --partial '"count":2'
}

@test "the man page: lint clean, matches --help, every option described" {
	run -0 mandoc -Tlint -Wwarning "$MAN"
	assert_output ''
	want=$(mandoc -Tutf8 "$MAN" 2>/dev/null | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	got=$(kin-window -h | sed 's/^usage: //; s/^ *//' | tr -s ' \n' ' ' | sed 's/ $//')
	assert_equal "$got" "$want"
	for o in $(kin-window -h | grep -oE -- '--[a-z-]+' | sort -u); do
		grep -qE -- "^\.It .*Fl -${o#--}( |$)" "$MAN" || { echo "not described: $o"; return 1; }
	done
}

examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$MAN" | sed 's/\\&//g; s/\\e/\\/g; s/\\-/-/g'
}

@test "every EXAMPLES line runs" {
	trade-gen --simulated --seed 3 -n 2000 >trades.ndjson
	ran=0
	while IFS= read -r line; do
		# the stream pipeline runs, with event time, in the end-to-end test
		[[ $line == *kin-read* ]] && continue
		run bash -c "set -o pipefail; $line" </dev/null
		[ "$status" -eq 0 ] || { echo "example failed ($status): $line"; echo "$output"; return 1; }
		[ -n "$output" ] || { echo "no output: $line"; return 1; }
		ran=$((ran + 1))
	done < <(examples)
	[ "$ran" -ge 7 ]
}

@test "the record parser survives a bounded fuzz run under ASan/UBSan" {
	fz="$KIN_ROOT/build/fuzz/fuzz_scan"
	make -s -C "$KIN_ROOT" build/fuzz/fuzz_scan >/dev/null
	run -0 "$fz" -t 10 "$KIN_ROOT/tests/fuzz/corpus"
	assert_output --regexp '^fuzz_scan: [0-9]+ inputs, no failure$'
}
