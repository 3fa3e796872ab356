#!/usr/bin/env bats
# trade-gen: byte-compatibility with the Python original (checked against
# python3 itself), every option, pacing, signals, closed pipes, write errors,
# and every EXAMPLES line of man/trade-gen.1.

load helpers/common

MAN="$KIN_ROOT/man/trade-gen.1"

setup_file() {
	# A model of trade-gen --simulated in Python: the same PRNG, schedule
	# and draws, but every byte formatted by json.dumps, round() and
	# datetime.isoformat() as the original generator formats it.
	cat >"$BATS_FILE_TMPDIR/ref.py" <<'EOF'
import datetime, json, struct, sys

M = (1 << 64) - 1

def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M

def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)

class Rng:  # xoshiro256** seeded by splitmix64
    def __init__(self, seed):
        self.s, x = [], seed
        for _ in range(4):
            x, z = splitmix(x)
            self.s.append(z)
    def next(self):
        s = self.s
        r = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t; s[3] = rotl(s[3], 45)
        return r
    def random(self):
        return (self.next() >> 11) * 2.0 ** -53
    def below(self, n):  # Lemire
        m = self.next() * n
        if m & M < n:
            floor = ((1 << 64) - n) % n
            while m & M < floor:
                m = self.next() * n
        return m >> 64

def f32(x):
    return struct.unpack('f', struct.pack('f', x))[0]

a = dict(arg.split('=', 1) for arg in sys.argv[1:])
seed, start = int(a['seed']), int(a['start'])
rate, batch, count = float(a['rate']), int(a['batch']), int(a['count'])
keys = int(a.get('keys', 0))
tickers = ['T%0*d' % (max(6, len(str(keys))), i + 1) for i in range(keys)] \
    if keys else a.get('tickers', 'AMZN,GOOG,AZRE,ORCL,BABA').split(',')
fields = [f for f in a.get('fields', '').split(',') if f]
walk, utc, csv = a.get('model') == 'walk', a.get('utc') == '1', a.get('format') == 'csv'
disorder, late = int(a.get('disorder', 0)), float(a.get('late', 0))
late_by = int(a.get('late_by', 60000000))
rng = Rng(seed)
tick = batch * 1e6 / rate
price, base, sigma, seq = {}, {}, {}, {}
for i in range(count):
    us = start + int((i // batch) * tick)
    t = us
    if disorder:
        t -= rng.below(disorder + 1)
    if late > 0 and rng.random() < late and i > 0:
        t = us - disorder - late_by - (1 + rng.below(late_by))
    sec, usec = divmod(t, 1000000)
    if utc:
        ev = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc) \
            .replace(microsecond=usec, tzinfo=None).isoformat() + 'Z'
    else:
        ev = datetime.datetime.fromtimestamp(sec).replace(microsecond=usec).isoformat()
    name = tickers[rng.below(len(tickers))]
    if walk:
        if name not in price:
            h = 0xcbf29ce484222325
            for c in name.encode():
                h = ((h ^ c) * 0x100000001b3) & M
            h, z1 = splitmix(h)
            h, z2 = splitmix(h)
            u1, u2 = (z1 >> 11) * 2.0 ** -53, (z2 >> 11) * 2.0 ** -53
            base[name] = price[name] = 5 + 495 * u1 * u1
            sigma[name] = f32(0.0005 + 0.0025 * u2)
        x = rng.next()
        z = (((x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) +
              (x >> 48)) * 2.0 ** -16 - 2.0) * 1.7320508075688772
        p = price[name] * (1.0 + sigma[name] * z)
        p += 2e-5 * (base[name] - p)
        p = price[name] = min(max(p, 0.01), 1e9)
    else:
        p = rng.random() * 100
    data = {'EVENT_TIME': ev, 'TICKER': name, 'PRICE': round(p, 2)}
    for f in fields:
        if f == 'QTY':
            k = rng.below(100)
            data['QTY'] = 1 + rng.below(100) if k < 70 else \
                100 * (1 + rng.below(10)) if k < 95 else 1000 * (1 + rng.below(10))
        else:
            seq[name] = seq.get(name, 0) + 1
            data['SEQ'] = seq[name]
    if csv:
        sys.stdout.write(','.join(str(v) for v in data.values()) + '\n')
    else:
        sys.stdout.write(json.dumps(data) + '\n')
EOF
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown_file() { kinesis_stop; }

# ref ARG...: the Python model's output (see setup_file).
ref() { python3 "$BATS_FILE_TMPDIR/ref.py" "$@"; }

# epoch_us RFC3339: microseconds since the epoch.
epoch_us() { python3 -c 'import datetime,sys; d=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")); print(int(d.timestamp())*1000000+d.microsecond)' "$1"; }

# ---- byte compatibility with the Python original -------------------------

@test "default lines are what json.dumps writes for the same values" {
	run -0 --separate-stderr trade-gen -n 5
	assert_equal "${#lines[@]}" 5
	printf '%s\n' "$output" >got
	# Python reads the values back and writes them as the original does.
	run -0 python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert list(d) == ["EVENT_TIME", "TICKER", "PRICE"], d
    assert d["TICKER"] in ("AMZN", "GOOG", "AZRE", "ORCL", "BABA"), d
    assert 0 <= d["PRICE"] <= 100 and round(d["PRICE"], 2) == d["PRICE"], d
    sys.stdout.write(json.dumps(d) + "\n")' got
	assert_equal "$output" "$(cat got)"
	assert_line --index 0 --regexp '^\{"EVENT_TIME": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?", "TICKER": "[A-Z]{4}", "PRICE": [0-9]{1,3}\.[0-9]{1,2}\}$'
}

@test "--seed output equals the Python model byte for byte (local time across a DST change)" {
	export TZ=Europe/Berlin
	start=$(epoch_us 2026-03-29T00:30:00Z)
	trade-gen --seed 42 --simulated --start 2026-03-29T00:30:00Z -n 200000 >got
	ref seed=42 start="$start" rate=5 batch=5 count=200000 >want
	cmp got want
	# The rare shapes Python prints are there too: a whole number, one
	# decimal, 100.0 and no fraction on whole seconds.
	grep -q '"PRICE": 100.0}' got
	grep -qE '"PRICE": [0-9]+\.0}' got
	grep -qE '"PRICE": [0-9]+\.[1-9]}' got
	grep -qE '"EVENT_TIME": "2026-03-29T03:[0-9:]{5}", ' got
	grep -qE '"EVENT_TIME": "2026-03-29T01:59:59", ' got
}

@test "walk, fields, fractional rate and the autumn DST change equal the Python model" {
	export TZ=America/New_York
	start=$(epoch_us 2026-11-01T05:30:00.5Z)
	trade-gen --seed 7 --simulated --start 2026-11-01T05:30:00.5Z -r 3.7 -n 50000 \
		--price-model walk --fields SEQ,QTY -t AMZN,GOOG,X >got
	ref seed=7 start="$start" rate=3.7 batch=1 count=50000 model=walk \
		fields=SEQ,QTY tickers=AMZN,GOOG,X >want
	cmp got want
}

@test "keys, batches, UTC, disorder, lateness and CSV equal the Python model" {
	start=$(epoch_us 2026-01-01T00:00:00Z)
	trade-gen --seed 9 --simulated --start 2026-01-01T00:00:00Z -r 1000 -b 7 -n 50000 \
		--keys 1234 --utc --disorder 2s --late 0.1 --late-by 5s --fields QTY -f csv >got
	ref seed=9 start="$start" rate=1000 batch=7 count=50000 keys=1234 utc=1 \
		disorder=2000000 late=0.1 late_by=5000000 fields=QTY format=csv >want
	cmp got want
}

@test "prices are Python's repr(round(x, 2)) for ties, near-ties and large values" {
	# fmt-check (trade-gen/local.mk) prints x in hex and what trade-gen
	# would print for it; python3 computes its own answer for each x.
	bin="$KIN_ROOT/build/${KIN_TEST_BUILD:-plain}/trade-gen/fmt-check"
	[ -x "$bin" ] || { echo "$bin missing: run make"; return 1; }
	"$bin" >cases
	run -0 python3 -c '
import sys
bad = n = 0
for line in open(sys.argv[1]):
    h, got = line.split()
    n += 1
    want = repr(round(float.fromhex(h), 2))
    if got != want:
        bad += 1
        print("x=%s: trade-gen %s, python %s" % (h, got, want))
print(n, "cases,", bad, "wrong")
sys.exit(bad > 0)' cases
	assert_output --regexp '^[0-9]{6,} cases, 0 wrong$'
}

@test "isoformat leaves out zero microseconds and keeps the others" {
	run -0 --separate-stderr trade-gen --utc --simulated --start 2026-11-25T09:30:00Z -r 2 -n 4 --seed 1
	assert_line --index 0 --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:00Z", '
	assert_line --index 1 --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:00.500000Z", '
	assert_line --index 2 --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:01Z", '
	run -0 --separate-stderr trade-gen --tz UTC --simulated --start 2026-11-25T09:30:00.000001Z -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:00.000001", '
}

# ---- options ---------------------------------------------------------------

@test "--seed: the same seed gives the same bytes, another seed others" {
	trade-gen --seed 5 --simulated --start 2026-01-01T00:00:00Z -n 1000 >a
	trade-gen --seed 5 --simulated --start 2026-01-01T00:00:00Z -n 1000 >b
	trade-gen --seed 6 --simulated --start 2026-01-01T00:00:00Z -n 1000 >c
	cmp a b
	run -1 cmp -s a c
}

@test "without -n or -d it stops after 100001 rounds of 5" {
	trade-gen --simulated >got
	[ "$(wc -l <got)" -eq 500005 ]
}

@test "-n 0 means no limit; -n and -d, whichever comes first" {
	run -0 --separate-stderr bash -c 'set -o pipefail; trade-gen --simulated -n 0 | head -n 600000 >got'
	[ "$(wc -l <got)" -eq 600000 ]
	run -0 --separate-stderr trade-gen --simulated -r 10 -d 1m -n 100
	assert_equal "${#lines[@]}" 100
	run -0 --separate-stderr trade-gen --simulated -r 10 -d 1m -n 1000
	assert_equal "${#lines[@]}" 600
}

@test "-d with --simulated is a span of event time" {
	run -0 --separate-stderr trade-gen --utc --simulated --start 2026-11-25T00:00:00Z -r 10 -d 1m
	assert_equal "${#lines[@]}" 600
	assert_line --index 599 --regexp '"EVENT_TIME": "2026-11-25T00:00:59.900000Z"'
}

@test "-r paces smoothly against the clock and never runs ahead of it" {
	t0=$(date +%s%N)
	run -0 --separate-stderr trade-gen --utc -r 400 -d 1s
	t1=$(date +%s%N)
	assert_equal "${#lines[@]}" 400
	# The last record is due at 399/400 s: it cannot come sooner.
	[ $(((t1 - t0) / 1000000)) -ge 997 ]
	# Smooth: the records spread over the second, not in one burst.
	n=$(printf '%s\n' "$output" | cut -d'"' -f4 | sort -u | wc -l)
	[ "$n" -ge 100 ]
	first=$(printf '%s\n' "${lines[0]}" | cut -d'"' -f4)
	last=$(printf '%s\n' "${lines[399]}" | cut -d'"' -f4)
	run -0 python3 -c 'import datetime as d,sys; f=lambda s: d.datetime.fromisoformat(s.replace("Z","+00:00")); print(f(sys.argv[2])-f(sys.argv[1]) >= d.timedelta(seconds=0.99))' "$first" "$last"
	assert_output True
}

@test "-b sends bursts: every record of a burst has the same time" {
	t0=$(date +%s%N)
	run -0 --separate-stderr trade-gen --utc -r 200 -b 100 -n 300
	t1=$(date +%s%N)
	assert_equal "${#lines[@]}" 300
	[ $(((t1 - t0) / 1000000)) -ge 999 ]
	run -0 bash -c "cut -d'\"' -f4 <<<\"\$1\" | uniq -c | awk '{print \$1}' | sort -u" _ "$output"
	assert_output 100
}

@test "-t and --tickers-file choose the tickers; bad ones are refused" {
	run -0 --separate-stderr trade-gen -t ONE,TWO --simulated -n 200 --seed 3
	refute_output --regexp '"TICKER": "(AMZN|GOOG|AZRE|ORCL|BABA)"'
	assert_output --partial '"TICKER": "ONE"'
	assert_output --partial '"TICKER": "TWO"'
	printf '# list\nAAA\n\nBBB\r\n' >t.txt
	run -0 --separate-stderr trade-gen --tickers-file t.txt --simulated -n 100 --seed 3 -f csv
	run -0 bash -c "cut -d, -f2 <<<\"\$1\" | sort -u | tr '\n' ' '" _ "$output"
	assert_output 'AAA BBB '
	run -64 --separate-stderr trade-gen -t 'A"B'
	assert_stderr --partial "trade-gen: invalid --tickers: ticker 'A\"B' has a character"
	run -64 --separate-stderr trade-gen -t A,,B
	assert_stderr 'trade-gen: invalid --tickers: empty ticker'
	run -64 --separate-stderr trade-gen -t A,B,A
	assert_stderr "trade-gen: invalid --tickers: ticker 'A' is listed twice"
	run -64 --separate-stderr trade-gen -t ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456
	assert_stderr --partial 'is longer than 31 bytes'
	run -78 --separate-stderr trade-gen --tickers-file nosuch
	assert_stderr "trade-gen: cannot open tickers file 'nosuch': No such file or directory"
	printf 'OK\nNOT OK\n' >bad.txt
	run -78 --separate-stderr trade-gen --tickers-file bad.txt
	assert_stderr --partial "trade-gen: bad.txt: line 2: ticker 'NOT OK'"
	run -64 --separate-stderr trade-gen -t A --tickers-file t.txt
	assert_stderr 'trade-gen: --tickers and --tickers-file exclude each other'
}

@test "--keys draws synthetic keys T000001..." {
	run -0 --separate-stderr trade-gen --keys 3 --simulated -n 300 --seed 1 -f csv
	run -0 bash -c "cut -d, -f2 <<<\"\$1\" | sort -u | tr '\n' ' '" _ "$output"
	assert_output 'T000001 T000002 T000003 '
	run -0 --separate-stderr trade-gen --keys 10000000 --simulated -n 1 --seed 1 -f csv
	assert_output --regexp ',T[0-9]{8},'
	run -64 --separate-stderr trade-gen --keys 10000001
	run -64 --separate-stderr trade-gen --keys 5 -t A
	assert_stderr 'trade-gen: --keys excludes --tickers and --tickers-file'
}

@test "--fields SEQ numbers each ticker's records 1, 2, 3... and QTY is a trade size" {
	trade-gen --keys 50 --fields SEQ,QTY --simulated -n 20000 --seed 4 -f csv >got
	# shellcheck disable=SC2016 # awk's own $fields
	run -0 awk -F, '$4 != ++n[$2] { print "gap at " NR ": " $0; bad=1 }
		$5 < 1 || $5 > 10000 { print "qty " $0; bad=1 } END { exit bad }' got
	run -0 --separate-stderr trade-gen --fields QTY --simulated -n 1 --seed 4
	assert_output --regexp '^\{"EVENT_TIME": "[^"]*", "TICKER": "[A-Z]+", "PRICE": [0-9.]+, "QTY": [0-9]+\}$'
	run -64 --separate-stderr trade-gen --fields QTY,PRICE
	assert_stderr "trade-gen: invalid --fields 'QTY,PRICE': unknown field 'PRICE' (QTY, SEQ)"
	run -64 --separate-stderr trade-gen --fields SEQ,SEQ
}

@test "--price-model walk moves each ticker a little at a time" {
	trade-gen --price-model walk --simulated -n 20000 --seed 8 -f csv >got
	# shellcheck disable=SC2016
	run -0 awk -F, 'p[$2] && ($3 / p[$2] > 1.05 || $3 / p[$2] < 0.95) { print "jump " NR ": " $0; bad=1 }
		$3 <= 0 { bad=1 } { p[$2] = $3 } END { exit bad }' got
	# Uniform prices jump about; walk ones do not, and some are above 100.
	# shellcheck disable=SC2016
	run -0 awk -F, '$3 > 100 { n++ } END { print (n > 0) }' got
	assert_output 1
	run -64 --separate-stderr trade-gen --price-model brownian
	assert_stderr "trade-gen: invalid --price-model 'brownian': unknown price model 'brownian' (uniform, walk)"
}

@test "--utc writes RFC 3339 with Z; --tz the zone's wall time" {
	run -0 --separate-stderr trade-gen --utc --simulated --start 2026-11-25T09:30:00.25Z -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:00.250000Z", '
	run -0 --separate-stderr trade-gen --tz America/New_York --simulated --start 2026-11-25T14:30:00Z -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T09:30:00", '
	run -0 --separate-stderr trade-gen --tz +05:30 --simulated --start 2026-11-25T00:00:00Z -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T05:30:00", '
}

@test "a zone-less --start is read in the output zone" {
	run -0 --separate-stderr trade-gen --tz Asia/Tokyo --simulated --start 2026-11-25T09:00:00 -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T09:00:00", '
	TZ=Asia/Tokyo run -0 --separate-stderr trade-gen --utc --simulated --start 2026-11-25T09:00:00 -n 1 --seed 1
	assert_output --regexp '^\{"EVENT_TIME": "2026-11-25T09:00:00Z", '
	run -64 --separate-stderr trade-gen --tz Mars/Olympus_Mons -n 1
	assert_stderr --partial "trade-gen: invalid --tz 'Mars/Olympus_Mons': "
	run -64 --separate-stderr trade-gen --start yesterday -n 1
	assert_stderr --partial "trade-gen: invalid --start 'yesterday': "
}

@test "--start without --simulated shifts the clock to that time" {
	run -0 --separate-stderr trade-gen --utc --start 2001-02-03T04:05:06Z -n 5
	assert_line --index 4 --regexp '^\{"EVENT_TIME": "2001-02-03T04:05:06(\.[0-9]{6})?Z", '
}

@test "--disorder and --late: bounded disorder, and late records late by more than --late-by" {
	trade-gen --utc --simulated --start 2026-11-25T00:00:00Z -r 100 -n 30000 --seed 2 \
		--disorder 2s --late 0.02 --late-by 30s -f csv >got
	run -0 python3 -c '
import datetime, sys
def us(s):
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return int(d.timestamp()) * 1000000 + d.microsecond
start = us("2026-11-25T00:00:00Z")
late = disordered = 0
newest = None
for i, line in enumerate(open(sys.argv[1])):
    t = us(line.split(",")[0])
    nominal = start + i * 10000
    assert t <= nominal, line
    if t < nominal - 2000000:
        late += 1
        assert newest - t > 30000000, line
    else:
        if newest is not None and t < newest:
            disordered += 1
        newest = t if newest is None else max(newest, t)
print(late, disordered)' got
	read -r late disordered <<<"$output"
	[ "$late" -gt 300 ] && [ "$late" -lt 900 ]
	[ "$disordered" -gt 10000 ]
	run -64 --separate-stderr trade-gen --late 1.5
	assert_stderr "trade-gen: invalid --late '1.5': fraction '1.5' is not between 0 and 1"
	run -64 --separate-stderr trade-gen --late-by 0s
}

@test "--format csv and --header" {
	run -0 --separate-stderr trade-gen -f csv --header --fields QTY,SEQ --utc --simulated \
		--start 2026-11-25T00:00:00Z -n 2 --seed 1
	assert_line --index 0 'EVENT_TIME,TICKER,PRICE,QTY,SEQ'
	assert_line --index 1 --regexp '^2026-11-25T00:00:00Z,[A-Z]{4},[0-9]+\.[0-9]{1,2},[0-9]+,1$'
	assert_equal "${#lines[@]}" 3
	run -64 --separate-stderr trade-gen --header
	assert_stderr 'trade-gen: --header needs --format csv'
	run -64 --separate-stderr trade-gen -f xml
}

@test "--config: the file sets options, the command line overrides them" {
	printf '# trade-gen\nrate = 1000\nsimulated=true\ncount=7\nutc=yes\nstart=2026-11-25T00:00:00Z\nseed=3\n' >c.conf
	run -0 --separate-stderr trade-gen --config c.conf
	assert_equal "${#lines[@]}" 7
	assert_line --index 6 --regexp '^\{"EVENT_TIME": "2026-11-25T00:00:00.006000Z", '
	run -0 --separate-stderr trade-gen --config c.conf -n 2
	assert_equal "${#lines[@]}" 2
	printf 'colour=blue\n' >bad.conf
	run -78 --separate-stderr trade-gen --config bad.conf
	assert_stderr "trade-gen: bad.conf:1: unknown key 'colour'"
	printf 'rate=fast\n' >bad.conf
	run -78 --separate-stderr trade-gen --config bad.conf
	assert_stderr --partial 'trade-gen: bad.conf:1: rate: '
	run -78 --separate-stderr trade-gen --config nosuch.conf
	assert_stderr "trade-gen: cannot open config file 'nosuch.conf': No such file or directory"
}

@test "-v reports the seed and a summary on stderr, never on stdout" {
	run -0 --separate-stderr trade-gen -v --simulated -n 10
	assert_equal "${#lines[@]}" 10
	assert_stderr_line --index 0 --regexp '^trade-gen: seed [0-9]+$'
	assert_stderr_line --regexp '^trade-gen: 10 records in [0-9.]+ s, [0-9]+ records/s$'
	seed=${stderr_lines[0]##* }
	trade-gen --simulated --start 2026-01-01T00:00:00Z -n 100 --seed "$seed" >a
	trade-gen --simulated --start 2026-01-01T00:00:00Z -n 100 --seed "$seed" >b
	cmp a b
	run -0 --separate-stderr trade-gen -q --simulated -n 1
	assert_stderr ''
}

@test "usage errors exit 64 with one line naming the problem" {
	run -64 --separate-stderr trade-gen --no-such-option
	assert_stderr_line --index 1 --regexp '^usage: trade-gen '
	run -64 --separate-stderr trade-gen -r 0
	assert_stderr "trade-gen: invalid --rate '0': rate '0' is not between 0.001 and 1000000000 records/s"
	run -64 --separate-stderr trade-gen -n -1
	run -64 --separate-stderr trade-gen -n 10x
	run -64 --separate-stderr trade-gen -d 0
	run -64 --separate-stderr trade-gen -b 0
	run -64 --separate-stderr trade-gen --utc --tz UTC
	assert_stderr 'trade-gen: --utc and --tz exclude each other'
	run -64 --separate-stderr trade-gen extra
	assert_stderr_line --index 0 "trade-gen: unexpected argument 'extra'"
	run -64 --separate-stderr trade-gen -s mystream
}

@test "an event time past year 9999 stops the run with status 65" {
	run -65 --separate-stderr trade-gen --utc --simulated --start 9999-12-31T23:59:59Z -r 1 -n 3
	assert_equal "${#lines[@]}" 1
	assert_stderr 'trade-gen: event time out of range (years 1 to 9999)'
}

# ---- output integrity ------------------------------------------------------

@test "a closed pipe ends it quietly with status 0" {
	run -0 --separate-stderr bash -c 'set -o pipefail; trade-gen --simulated -n 0 2>err | head -n 1 >/dev/null'
	[ ! -s err ]
	run -0 --separate-stderr bash -c 'set -o pipefail; trade-gen -r 1000 -n 0 2>err | head -n 3 >/dev/null'
	[ ! -s err ]
}

@test "a write error is reported with status 74" {
	run -74 --separate-stderr bash -c 'trade-gen --simulated -n 5 >/dev/full'
	assert_stderr 'trade-gen: cannot write to stdout: No space left on device'
	run -74 --separate-stderr bash -c 'trade-gen --simulated -n 5 >&-'
	assert_stderr 'trade-gen: cannot write to stdout: Bad file descriptor'
}

# whole_lines FILE: non-empty, ends in a newline, every line a record.
whole_lines() {
	[ -s "$1" ] || return 1
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || return 1
	! grep -vqE '^\{"EVENT_TIME": "[^"]+", "TICKER": "[A-Z]+", "PRICE": [0-9]+\.[0-9]{1,2}\}$' "$1"
}

@test "SIGTERM and SIGINT end a paced run after a whole line, status 0" {
	for sig in TERM INT; do
		trade-gen -r 2000 -n 0 >out 2>err &
		pid=$!
		wait_for test -s out
		kill -"$sig" "$pid"
		st=0
		wait "$pid" || st=$?
		assert_equal "$st" 0
		whole_lines out
		[ ! -s err ]
	done
}

@test "SIGTERM during a blocked write still ends on a whole line" {
	mkfifo pipe
	trade-gen --simulated -n 0 >pipe 2>err &
	pid=$!
	exec 5<pipe
	# Read a little so the writer is mid-stream, then let it block.
	head -c 100000 <&5 >/dev/null
	wait_for grep -q '^State:.*S' "/proc/$pid/status"
	kill -TERM "$pid"
	cat <&5 >out
	exec 5<&-
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 0
	[ ! -s err ]
	[ "$(tail -c 1 out | od -An -c | tr -d ' ')" = '\n' ]
}

@test "--metrics: EMF lines whose records_out and bytes_out sum to the output" {
	for mode in --simulated "-r 200000 -b 1000"; do
		rm -f m.emf
		run -0 --separate-stderr bash -c "trade-gen $mode -n 300000 --seed 3 \
			--metrics m.emf --metrics-interval 1ms | wc -lc"
		read -r lines bytes <<<"$output"
		assert_equal "$lines" 300000
		assert_equal "$stderr" ""
		[ "$(wc -l <m.emf)" -ge 1 ]
		# every line is one JSON object with the EMF directive
		run -0 jq -e -c 'select(._aws.CloudWatchMetrics[0].Namespace == "kin"
			and .program == "trade-gen"
			and ._aws.CloudWatchMetrics[0].Metrics[0].Name == "records_out"
			and ._aws.CloudWatchMetrics[0].Metrics[1].Unit == "Bytes"
			and (.records_out | type) == "number")' m.emf
		assert_equal "$(wc -l <<<"$output")" "$(wc -l <m.emf)"
		run -0 jq -s 'map(.records_out) | add' m.emf
		assert_equal "$output" 300000
		run -0 jq -s 'map(.bytes_out) | add' m.emf
		assert_equal "$output" "$bytes"
	done
	# "-" is standard error; the default interval writes one line at exit
	run -0 --separate-stderr trade-gen --simulated -n 10 --metrics -
	assert_equal "$(jq -c .records_out <<<"$stderr")" 10
	# a file that cannot be opened is a configuration error
	run -78 --separate-stderr trade-gen -n 1 --metrics /nonexistent/m.emf
	[[ $stderr == *"cannot open metrics file"* ]]
	run -64 --separate-stderr trade-gen -n 1 --metrics-interval 0s
}

# ---- the manual ------------------------------------------------------------

@test "--help mirrors the man page SYNOPSIS; -V prints the version" {
	run -0 --separate-stderr trade-gen -h
	got=$(tr -s ' \n' '  ' <<<"${output#usage: }" | sed 's/ $//')
	want=$(mandoc -Tascii -O width=200 "$MAN" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/{/^[A-Z]/d;p}' | tr -s ' \n\t' '   ' |
		sed 's/^ //; s/ $//')
	assert_equal "$got" "$want"
	run -0 --separate-stderr trade-gen -V
	assert_output --regexp '^trade-gen [0-9]+\.[0-9]+\.[0-9]+$'
}

# examples: the .Dl lines of EXAMPLES, as a user would type them.
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$MAN" | sed 's/\\e/\\/g; s/\\-/-/g'
}

@test "every option is described and used in an EXAMPLES line" {
	ex=$(examples)
	opts=$(trade-gen -h | grep -oE -- '--[a-z-]+|\[-[a-zA-Z]+\]|\[-[a-zA-Z] ' | tr -d '[] ')
	for o in $opts; do
		if [[ $o == --* ]]; then
			grep -qE -- "^\.It .*Fl -${o#--}( |$)" "$MAN" || { echo "not described: $o"; return 1; }
			grep -qE -- "(^| )$o( |$)" <<<"$ex" || { echo "no example: $o"; return 1; }
			continue
		fi
		for ((i = 1; i < ${#o}; i++)); do
			grep -qE -- "^\.It Fl ${o:i:1}( |$)" "$MAN" || { echo "not described: -${o:i:1}"; return 1; }
			grep -qE -- "(^| )-${o:i:1}( |$)" <<<"$ex" || { echo "no example: -${o:i:1}"; return 1; }
		done
	done
}

@test "every EXAMPLES line runs" {
	ran=0
	while IFS= read -r line; do
		[[ $line == *kin-write* ]] && continue
		run bash -c "$line" </dev/null
		[ "$status" -eq 0 ] || { echo "example failed ($status): $line"; echo "$output"; return 1; }
		ran=$((ran + 1))
	done < <(examples)
	[ "$ran" -ge 15 ]
	# What they made is what they say.
	[ "$(wc -l <day.ndjson)" -ge 1000000 ]
	[ "$(wc -l <load.ndjson)" -eq 2000000 ]
	[ "$(wc -l <bursts.ndjson)" -eq 300 ]
	[ "$(wc -l <late.ndjson)" -eq 60000 ]
}

@test "the EXAMPLES lines with kin-write feed the local Kinesis" {
	command -v kin-write >/dev/null || skip "kin-write is not built yet"
	kinesis_start
	aws_local kinesis create-stream --stream-name stocktrading-ingest-stream --shard-count 1
	aws_local kinesis wait stream-exists --stream-name stocktrading-ingest-stream
	while IFS= read -r line; do
		[[ $line == *kin-write* ]] || continue
		run bash -c "set -o pipefail; $line" </dev/null
		[ "$status" -eq 0 ] || { echo "example failed ($status): $line"; echo "$output"; return 1; }
	done < <(examples)
	shard=$(aws_local kinesis list-shards --stream-name stocktrading-ingest-stream \
		--query 'Shards[0].ShardId' --output text)
	it=$(aws_local kinesis get-shard-iterator --stream-name stocktrading-ingest-stream \
		--shard-id "$shard" --shard-iterator-type TRIM_HORIZON --query ShardIterator --output text)
	run -0 aws_local kinesis get-records --shard-iterator "$it" --query 'length(Records)'
	assert_output 10
}
