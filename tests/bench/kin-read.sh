#!/usr/bin/env bash
# Bench for kin-read (issue 5), all measured in this one run against one
# kinesalite (infra/local/kinesis-local, a state dir of its own):
#   1. read N records (default 200 000) from a 4-shard stream, each client
#      writing the data one record a line to a file:
#        kin-read -s S -o trim-horizon -e
#        the AWS CLI: get-shard-iterator + get-records --limit 10000 over
#          every shard, data decoded with jq, the way users script it
#        Node @aws-sdk/client-kinesis (pinned in infra/local): the 4 shards
#          concurrently, GetRecords Limit 10000, until a page is empty and
#          MillisBehindLatest is 0
#      records/s (wall clock) and client CPU (user+sys of the client and its
#      children, getrusage in microseconds) per 100 000 records, medians of
#      RUNS runs,
#      then the ratios.  Targets: kin-read at >= 90% of the best other's
#      rate (the estimate of what kinesalite serves), and >= 10x less CPU
#      per record than the best other.
#   2. latency at a steady 100 records/s for LAT_SECONDS: one Node process
#      puts one record every 10 ms (PutRecords, 16 keys over 4 shards) and
#      reads kin-read's stdout; latency = time the line arrived minus time
#      the PutRecords acknowledgement arrived, same clock.  Median and p99;
#      target p99 < 300 ms.
# Exits 1 if a target is missed.
#   tests/bench/kin-read.sh [N]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd -P)
unset PYTHONUNBUFFERED

KR=${KR:-$root/kin-read/kin-read}
N=${1:-200000}
RUNS=${RUNS:-5}
LAT_SECONDS=${LAT_SECONDS:-30}
AWSCLI=${AWSCLI:-/usr/bin/aws}
[ -x "$KR" ] || { echo "kin-read.sh: $KR not built (run make)" >&2; exit 1; }
for t in node jq "$AWSCLI" /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "kin-read.sh: $t not found" >&2; exit 1; }
done
# shellcheck source=tests/bench/server.bash
. "$root/tests/bench/server.bash"
bench_server kinesis-local
EP=$AWS_ENDPOINT_URL_KINESIS

# ---- the Node programs ----
cat >"$tmp/common.js" <<'EOF'
'use strict';
const path = require('path');
const nm = path.join(process.env.KIN_ROOT, 'infra/local/node_modules');
const K = require(path.join(nm, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(nm, '@smithy/node-http-handler'));
// HTTP/1.1 with keep-alive: kinesalite speaks no HTTP/2
const http = require('http');
K.client = () => new K.KinesisClient({
  requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) }),
  endpoint: process.env.AWS_ENDPOINT_URL_KINESIS, region: process.env.AWS_REGION });
module.exports = K;
EOF
cat >"$tmp/load.js" <<'EOF'
// load.js STREAM N: N records {"SEQ":i,"K":"k<i%64>",...}, 500 a call,
// 4 calls in flight.
'use strict';
const K = require('./common.js');
const c = K.client();
const [stream, n] = [process.argv[2], +process.argv[3]];
let next = 0;
async function worker() {
  while (next < n) {
    const from = next; next = Math.min(n, next + 500);
    const recs = [];
    for (let i = from; i < next; i++)
      recs.push({ PartitionKey: 'k' + (i % 64), Data: Buffer.from(JSON.stringify(
        { SEQ: i, K: 'k' + (i % 64), TICKER: 'AMZN', PRICE: 1.5 + i % 100 })) });
    for (let left = recs; left.length;) {
      const r = await c.send(new K.PutRecordsCommand({ StreamName: stream, Records: left }));
      left = left.filter((_, j) => r.Records[j].ErrorCode);
    }
  }
}
Promise.all([worker(), worker(), worker(), worker()]).catch((e) => { console.error(e); process.exit(1); });
EOF
cat >"$tmp/read.js" <<'EOF'
// read.js STREAM: every shard from TRIM_HORIZON to the tip, concurrently;
// each record's data and a newline to stdout.
'use strict';
const K = require('./common.js');
const c = K.client();
const stream = process.argv[2];
async function shard(id) {
  let it = (await c.send(new K.GetShardIteratorCommand({ StreamName: stream,
    ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  while (it) {
    const r = await c.send(new K.GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
    if (r.Records.length) {
      const parts = [];
      for (const x of r.Records) parts.push(Buffer.from(x.Data), Buffer.from('\n'));
      await new Promise((ok) => process.stdout.write(Buffer.concat(parts), ok));
    } else if (r.MillisBehindLatest === 0) break;
    it = r.NextShardIterator;
  }
}
(async () => {
  const s = await c.send(new K.ListShardsCommand({ StreamName: stream }));
  await Promise.all(s.Shards.map((x) => shard(x.ShardId)));
})().catch((e) => { console.error(e); process.exit(1); });
EOF
cat >"$tmp/latency.js" <<'EOF'
// latency.js STREAM SECONDS KIN-READ ARGS...: put one record every 10 ms and
// time each one from its PutRecords acknowledgement to its line on
// kin-read's stdout.  Prints "n median p99 max" in ms.
'use strict';
const K = require('./common.js');
const { spawn } = require('child_process');
const readline = require('readline');
const { performance } = require('perf_hooks');
const c = K.client();
const [stream, seconds, bin, ...args] = process.argv.slice(2);
const total = Math.round(+seconds * 100);
const acked = new Map(), seen = new Map();
const kr = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
readline.createInterface({ input: kr.stdout }).on('line', (l) => {
  seen.set(JSON.parse(l).ID, performance.now());
  if (seen.size === total) finish();
});
let done = false;
function finish() {
  if (done) return; done = true;
  kr.on('exit', () => process.exit(0));
  kr.kill('SIGTERM');
  const lat = [];
  for (const [id, t] of acked) if (seen.has(id)) lat.push(seen.get(id) - t);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log([lat.length, q(0.5).toFixed(1), q(0.99).toFixed(1), lat[lat.length - 1].toFixed(1)].join(' '));
}
setTimeout(() => {   // let kin-read open its iterators first
  const t0 = performance.now();
  let i = 0;
  function tick() {
    while (i < total && performance.now() >= t0 + i * 10) {
      const id = i++;
      c.send(new K.PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'k' + (id % 16),
        Data: Buffer.from(JSON.stringify({ ID: id })) }] }))
        .then(() => acked.set(id, performance.now()), (e) => { console.error(e); process.exit(1); });
    }
    if (i < total) setTimeout(tick, Math.max(0, t0 + i * 10 - performance.now()));
  }
  tick();
}, 2000);
setTimeout(() => { console.error('latency.js: not every record arrived'); finish(); process.exit(1); },
  (+seconds + 60) * 1000);
EOF
cat >"$tmp/cli-read.sh" <<'EOF'
#!/bin/bash
# The AWS CLI loop a user writes: every shard, TRIM_HORIZON to the tip.
stream=$1
aws() { "$AWSCLI" --endpoint-url "$EP" --no-cli-pager "$@"; }
for shard in $(aws kinesis list-shards --stream-name "$stream" --query 'Shards[].ShardId' --output text); do
	it=$(aws kinesis get-shard-iterator --stream-name "$stream" --shard-id "$shard" \
		--shard-iterator-type TRIM_HORIZON --query ShardIterator --output text)
	while [ -n "$it" ] && [ "$it" != None ]; do
		aws kinesis get-records --shard-iterator "$it" --limit 10000 --output json >"$TMPF"
		jq -r '.Records[].Data | @base64d' "$TMPF"
		if [ "$(jq '.Records | length' "$TMPF")" = 0 ] &&
			[ "$(jq .MillisBehindLatest "$TMPF")" = 0 ]; then
			break
		fi
		it=$(jq -r '.NextShardIterator // empty' "$TMPF")
	done
done
EOF
export AWSCLI EP TMPF=$tmp/page.json

# rusage FILE CMD...: run CMD; write "wall user sys" in seconds with
# microseconds to FILE (the CPU of CMD and every child it waited for).
cat >"$tmp/rusage" <<'EOF'
#!/usr/bin/python3
import resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.6f %.6f %.6f\n" % (wall, ru.ru_utime, ru.ru_stime))
sys.exit(rc)
EOF
chmod +x "$tmp/rusage"

# ---- 1. throughput ----
"$root/build/plain/helpers/kinctl" create bench 4 >/dev/null || exit 1
echo "loading $N records into a 4-shard stream"
node "$tmp/load.js" bench "$N" || exit 1

# measure NAME CMD...: run CMD with stdout to $tmp/out; append
# "records wall cpu" to $tmp/NAME.
measure() {
	local name=$1 lines
	shift
	"$tmp/rusage" "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || {
		echo "kin-read.sh: $name failed:" >&2; cat "$tmp/err" >&2; return 1; }
	lines=$(wc -l <"$tmp/out")
	if [ "$lines" != "$N" ]; then
		echo "kin-read.sh: $name printed $lines lines, not $N" >&2
		return 1
	fi
	awk -v n="$lines" '{ print n, $1, $2 + $3 }' "$tmp/time" >>"$tmp/$name"
	awk -v c="$name" '{ printf "  %-9s %8.2f s wall %8.3f s CPU\n", c, $1, $2 + $3 }' "$tmp/time"
}

# one client after the other, the first one changing from run to run: the
# server's speed drifts, and no client should always get the same turn
one() {
	case $1 in
	kin-read) measure kin-read "$KR" -s bench -o trim-horizon -e ;;
	node) measure node node "$tmp/read.js" bench ;;
	cli) measure cli bash "$tmp/cli-read.sh" bench ;;
	esac
}
order=(kin-read node cli)
for r in $(seq 1 "$RUNS"); do
	echo "run $r of $RUNS"
	for k in 0 1 2; do
		one "${order[$(((r - 1 + k) % 3))]}" || exit 1
	done
done

# median of column C of file F
median() { sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
printf '\n%-10s %12s %14s %10s\n' client 'records/s' 'CPU s/100k' 'wall s'
for c in kin-read node cli; do
	wall=$(median "$tmp/$c" 2)
	cpu=$(median "$tmp/$c" 3)
	rate=$(awk -v n="$N" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
	per=$(awk -v n="$N" -v c="$cpu" 'BEGIN { printf "%.4f", c * 100000 / n }')
	printf '%-10s %12s %14s %10.2f\n' "$c" "$rate" "$per" "$wall"
	eval "rate_${c//-/_}=$rate cpu_${c//-/_}=$per"
done
# shellcheck disable=SC2154 # set by the eval above
{
	best_rate=$(( rate_node > rate_cli ? rate_node : rate_cli ))
	best_cpu=$(awk -v a="$cpu_node" -v b="$cpu_cli" 'BEGIN { print (a < b ? a : b) }')
	rate_ratio=$(awk -v k="$rate_kin_read" -v b="$best_rate" 'BEGIN { printf "%.2f", k / b }')
	cpu_ratio=$(awk -v k="$cpu_kin_read" -v b="$best_cpu" 'BEGIN { printf "%.1f", (k > 0 ? b / k : 999) }')
}
echo
echo "kin-read rate / best other's rate: $rate_ratio (target >= 0.90)"
echo "best other's CPU / kin-read's CPU per record: ${cpu_ratio}x (target >= 10x)"
fail=0
awk -v r="$rate_ratio" 'BEGIN { exit !(r >= 0.90) }' || { echo "MISSED: rate"; fail=1; }
awk -v r="$cpu_ratio" 'BEGIN { exit !(r >= 10) }' || { echo "MISSED: CPU"; fail=1; }

# ---- 2. latency at 100 records/s ----
"$root/build/plain/helpers/kinctl" create lat 4 >/dev/null || exit 1
echo
echo "latency, PutRecords acknowledged -> line on kin-read's stdout, 100 records/s for ${LAT_SECONDS}s:"
res=$(node "$tmp/latency.js" lat "$LAT_SECONDS" "$KR" -s lat -o trim-horizon) || exit 1
read -r ln med p99 max <<<"$res"
echo "records $ln  median ${med} ms  p99 ${p99} ms  max ${max} ms (target p99 < 300 ms)"
awk -v p="$p99" 'BEGIN { exit !(p < 300) }' || { echo "MISSED: latency"; fail=1; }
exit "$fail"
