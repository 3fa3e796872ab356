#!/usr/bin/env bash
# Bench for kin-write (issue 4): trade lines into a 4-shard stream of a
# local kinesalite, in the same run: kin-write (plain and --aggregate), the
# original generator's way (boto3 put_record per record, if Debian's
# python3-boto3 is there), `aws kinesis put-records` in 500-record batches,
# and a Node @aws-sdk/client-kinesis PutRecords loop.  Every run writes a
# fresh stream, which is then read back and counted (user records, KPL
# aggregates de-aggregated).  Reports records/s and client CPU seconds per
# 100 000 records (medians), the ratios, and exits 1 if a target is missed:
#   kin-write's rate >= 90% of the best other (the estimate of what
#   kinesalite can absorb), its CPU per record >= 10x lower than the best
#   other's, and --aggregate >= 200 000 user records/s end to end.
#   tests/bench/kin-write.sh [N]      (N records per run, default 200000)
# kinesalite has no write limits, so kin-write runs with --rate-limit 0
# (its per-shard limits would hold 4 shards to 4000 records/s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
unset PYTHONUNBUFFERED
ROOT=$PWD

N=${1:-200000}
RUNS=${RUNS:-3}
CLI_BATCHES=${CLI_BATCHES:-20}   # the AWS CLI starts Python each call
BOTO_N=${BOTO_N:-3000}           # one HTTP call per record
KW=${KW:-$ROOT/kin-write/kin-write}
TG=$ROOT/trade-gen/trade-gen
KINCTL=$ROOT/build/plain/helpers/kinctl
NM=$ROOT/infra/local/node_modules
for b in "$KW" "$TG" "$KINCTL"; do
	[ -x "$b" ] || { echo "kin-write.sh: $b not built (run make)" >&2; exit 1; }
done
tmp=$(mktemp -d) || exit 1
LOCAL=$ROOT/infra/local/kinesis-local
# Each run gets a new kinesalite: it slows down as it fills, and the order
# of the runs must not decide the comparison.
server_start() {
	local out
	out=$("$LOCAL" --state-dir "$tmp/kinesis" start) || return 1
	eval "$out"
	export AWS_ENDPOINT_URL_KINESIS AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION AWS_DEFAULT_REGION
}
server_stop() {
	"$LOCAL" --state-dir "$tmp/kinesis" stop 2>/dev/null
	rm -rf "$tmp/kinesis"
}
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	server_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=''
export NODE_NO_WARNINGS=1 AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING=1
unset AWS_PROFILE

"$TG" --seed 1 --simulated --start 2026-11-25T09:30:00Z -n "$N" >"$tmp/trades" || exit 1

# ---- the other clients ----

cat >"$tmp/put.js" <<'EOF'
// put.js STREAM FILE: the lines of FILE, 500 a PutRecords call, one call
// after the other, random partition keys.
'use strict';
const path = require('path'), fs = require('fs'), crypto = require('crypto');
const nm = process.env.NM;
const { KinesisClient, PutRecordsCommand } = require(path.join(nm, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(nm, '@smithy/node-http-handler'));
const [stream, file] = process.argv.slice(2);
// HTTP/1.1 with keep-alive (the client's default HTTP/2 handler is for
// SubscribeToShard, which kinesalite does not speak)
const c = new KinesisClient({ requestHandler: new NodeHttpHandler(),
  endpoint: process.env.AWS_ENDPOINT_URL_KINESIS, region: process.env.AWS_REGION });
(async () => {
  const lines = fs.readFileSync(file).toString().split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i += 500) {
    const recs = lines.slice(i, i + 500).map((l) => ({ Data: Buffer.from(l),
      PartitionKey: crypto.randomBytes(8).toString('hex') }));
    const r = await c.send(new PutRecordsCommand({ StreamName: stream, Records: recs }));
    if (r.FailedRecordCount) throw new Error(r.FailedRecordCount + ' records failed');
  }
})().catch((e) => { console.error('put.js: ' + e); process.exit(1); });
EOF

cat >"$tmp/count.js" <<'EOF'
// count.js STREAM: user records in every shard; a KPL aggregate (magic and
// a matching MD5) counts for the records in it.
'use strict';
const path = require('path'), crypto = require('crypto');
const nm = process.env.NM;
const k = require(path.join(nm, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(nm, '@smithy/node-http-handler'));
const c = new k.KinesisClient({ requestHandler: new NodeHttpHandler(),
  endpoint: process.env.AWS_ENDPOINT_URL_KINESIS, region: process.env.AWS_REGION });
function varint(b, i) {
  let v = 0, m = 1;
  for (;;) { const x = b[i++]; v += (x & 0x7f) * m; m *= 128; if (!(x & 0x80)) return [v, i]; }
}
function users(b) {
  if (b.length < 20 || b[0] !== 0xf3 || b[1] !== 0x89 || b[2] !== 0x9a || b[3] !== 0xc2) return 1;
  const pb = b.subarray(4, b.length - 16);
  if (!crypto.createHash('md5').update(pb).digest().equals(b.subarray(b.length - 16))) return 1;
  let i = 0, n = 0;
  while (i < pb.length) {
    let tag; [tag, i] = varint(pb, i);
    if ((tag & 7) === 0) { [, i] = varint(pb, i); continue; }
    let len; [len, i] = varint(pb, i); i += len;
    if (tag >> 3 === 3) n++;
  }
  return n;
}
(async () => {
  const stream = process.argv[2];
  const shards = (await c.send(new k.ListShardsCommand({ StreamName: stream }))).Shards;
  let total = 0;
  for (const s of shards) {
    let it = (await c.send(new k.GetShardIteratorCommand({ StreamName: stream,
      ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (it) {
      const r = await c.send(new k.GetRecordsCommand({ ShardIterator: it, Limit: 200 }));
      for (const rec of r.Records) total += users(Buffer.from(rec.Data));
      if (!r.Records.length) break;
      it = r.NextShardIterator;
    }
  }
  console.log(total);
})().catch((e) => { console.error('count.js: ' + e); process.exit(1); });
EOF

cat >"$tmp/boto.py" <<'EOF'
# The original generator's way: one put_record per record, constant key.
import os, sys
import boto3
stream, path = sys.argv[1], sys.argv[2]
kinesis = boto3.client('kinesis', endpoint_url=os.environ['AWS_ENDPOINT_URL_KINESIS'])
for line in open(path):
    kinesis.put_record(StreamName=stream, Data=line.rstrip('\n'),
                       PartitionKey="partitionkey")
EOF

# The AWS CLI's batches, made before the clock starts.
cli_n=$((CLI_BATCHES * 500))
[ "$cli_n" -le "$N" ] || cli_n=$N
head -n "$cli_n" "$tmp/trades" >"$tmp/cli.lines"
/usr/bin/python3 - "$tmp/cli.lines" "$tmp" <<'EOF'
import json, os, sys
lines = open(sys.argv[1]).read().splitlines()
for b in range(0, len(lines), 500):
    recs = [{"Data": l, "PartitionKey": os.urandom(8).hex()} for l in lines[b:b + 500]]
    with open("%s/cli.%05d.json" % (sys.argv[2], b // 500), "w") as f:
        json.dump(recs, f)
EOF
cat >"$tmp/cli.sh" <<'EOF'
for f in "$1"/cli.*.json; do
	/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_KINESIS" kinesis put-records \
		--stream-name "$2" --records "file://$f" \
		--cli-binary-format raw-in-base64-out --no-cli-pager >/dev/null || exit 1
done
EOF

boto=0
if /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
	boto=1
	head -n "$BOTO_N" "$tmp/trades" >"$tmp/boto.lines"
fi

# ---- measuring ----

seqno=0
# measure NAME RECORDS CMD...: one run into a fresh 4-shard stream (the word
# STREAM in CMD stands for it); prints "records/s cpu_s_per_100k" once the
# stream is read back and holds RECORDS user records.
measure() {
	local name=$1 n=$2 t0 t1 cpu got s a args=()
	shift 2
	seqno=$((seqno + 1))
	s="bench-$name-$seqno"
	for a in "$@"; do args+=("${a//STREAM/$s}"); done
	server_stop
	server_start || return 1
	"$KINCTL" create "$s" 4 >/dev/null || return 1
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$tmp/time" "${args[@]}" ||
		{ echo "failed: ${args[*]}" >&2; return 1; }
	t1=$(date +%s%N)
	got=$(NM=$NM node "$tmp/count.js" "$s") || return 1
	if [ "$got" != "$n" ]; then
		echo "$name: the stream holds $got records, not $n" >&2
		return 1
	fi
	cpu=$(awk '{ print $1 + $2 }' "$tmp/time")
	awk -v n="$n" -v ns=$((t1 - t0)) -v cpu="$cpu" \
		'BEGIN { printf "%d %.4f\n", n / (ns / 1e9), cpu * 100000 / n }'
}

# median NAME RUNS RECORDS CMD...: medians of records/s and of CPU
median() {
	local name=$1 runs=$2 n=$3 i out rates=() cpus=()
	shift 3
	for ((i = 0; i < runs; i++)); do
		out=$(measure "$name" "$n" "$@") || return 1
		rates+=("${out% *}")
		cpus+=("${out#* }")
	done
	echo "$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")" \
		"$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")"
}

echo "kin-write: $N trade lines into a 4-shard kinesalite stream, medians of $RUNS runs"
kw=$(median kw "$RUNS" "$N" "$KW" -s STREAM --rate-limit 0 "$tmp/trades") || exit 1
kwa=$(median kwa "$RUNS" "$N" "$KW" -s STREAM --rate-limit 0 --aggregate "$tmp/trades") || exit 1
node=$(median node "$RUNS" "$N" env NM="$NM" node "$tmp/put.js" STREAM "$tmp/trades") || exit 1
cli=$(median cli 1 "$cli_n" bash "$tmp/cli.sh" "$tmp" STREAM) || exit 1
if [ "$boto" = 1 ]; then
	boto_r=$(median boto 1 "$BOTO_N" /usr/bin/python3 "$tmp/boto.py" STREAM "$tmp/boto.lines") || exit 1
fi

row() {
	awk -v w="$1" -v n="$2" -v r="${3% *}" -v c="${3#* }" \
		'BEGIN { printf "  %-44s %8d %10d %12.3f\n", w, n, r, c }'
}
printf '  %-44s %8s %10s %12s\n' client records records/s 'CPU s/100k'
row "kin-write" "$N" "$kw"
row "kin-write --aggregate (user records)" "$N" "$kwa"
row "node @aws-sdk PutRecords loop (500/call)" "$N" "$node"
row "aws kinesis put-records (500/call)" "$cli_n" "$cli"
if [ "$boto" = 1 ]; then
	row "boto3 put_record per record" "$BOTO_N" "$boto_r"
else
	echo "  boto3 put_record per record: skipped (Debian's python3-boto3 is not installed)"
fi

others="$node
$cli"
[ "$boto" = 1 ] && others="$others
$boto_r"
best_rate=$(awk '{ if ($1 > m) m = $1 } END { print m }' <<<"$others")
best_cpu=$(awk 'NR == 1 || $2 < m { m = $2 } END { print m }' <<<"$others")
rc=0
check() {  # check WHAT VALUE OP TARGET
	if awk -v v="$2" -v t="$4" "BEGIN { exit !(v $3 t) }"; then
		printf '  %-60s %s\n' "$1" "ok"
	else
		printf '  %-60s %s\n' "$1" "MISSED"
		rc=1
	fi
}
echo "ratios (the best other client: $best_rate records/s, $best_cpu CPU s/100k):"
rate_ratio=$(awk -v a="${kw% *}" -v b="$best_rate" 'BEGIN { printf "%.2f", a / b }')
cpu_ratio=$(awk -v a="${kw#* }" -v b="$best_cpu" 'BEGIN { printf "%.1f", b / a }')
check "kin-write rate / best other rate = $rate_ratio (target >= 0.90)" "$rate_ratio" '>=' 0.90
check "best other CPU per record / kin-write's = $cpu_ratio (target >= 10)" "$cpu_ratio" '>=' 10
check "kin-write --aggregate: ${kwa% *} user records/s (target >= 200000)" "${kwa% *}" '>=' 200000
exit "$rc"
