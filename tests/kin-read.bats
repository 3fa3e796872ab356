#!/usr/bin/env bats
# kin-read against a real kinesalite: records put by the AWS CLI come out
# byte for byte and in per-shard order; -J and -f exactly; KPL aggregates
# (built here by an independent encoder) de-aggregate; resharding while
# reading loses and repeats nothing; checkpoints survive kill -9; -e,
# --until and -c end; bad cases exit as DESIGN.md section 2 says.

load helpers/common

setup_file() {
	kinesis_start
	export NODE_NO_WARNINGS=1 AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING=1
	export JS="$BATS_FILE_TMPDIR/js"
	mkdir -p "$JS"
	write_js
}
teardown_file() { kinesis_stop; }

setup() { BG=(); }
teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	return 0
}

# The Node helpers: a bulk writer on @aws-sdk/client-kinesis (pinned in
# infra/local) and a KPL encoder written from the format description.
write_js() {
	cat >"$JS/put.js" <<'EOF'
// put.js STREAM FROM COUNT [KEYS]: records {"SEQ":i,"K":"k<i%KEYS>"} for i
// in [FROM, FROM+COUNT), 500 a call in order, key k<i%KEYS>.
'use strict';
const path = require('path');
const nm = path.join(process.env.KIN_ROOT, 'infra/local/node_modules');
const { KinesisClient, PutRecordsCommand } = require(path.join(nm, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(nm, '@smithy/node-http-handler'));
const [stream, from, count] = [process.argv[2], +process.argv[3], +process.argv[4]];
const keys = +(process.argv[5] || 16);
const c = new KinesisClient({ requestHandler: new NodeHttpHandler(),
  endpoint: process.env.AWS_ENDPOINT_URL_KINESIS, region: process.env.AWS_REGION });
(async () => {
  for (let i = from; i < from + count; i += 500) {
    const recs = [];
    for (let j = i; j < Math.min(i + 500, from + count); j++)
      recs.push({ Data: Buffer.from(JSON.stringify({ SEQ: j, K: 'k' + (j % keys) })),
        PartitionKey: 'k' + (j % keys) });
    const r = await c.send(new PutRecordsCommand({ StreamName: stream, Records: recs }));
    if (r.FailedRecordCount) throw new Error(r.FailedRecordCount + ' records failed');
  }
})().catch((e) => { console.error('put.js: ' + e); process.exit(1); });
EOF
	cat >"$JS/kpl.js" <<'EOF'
// kpl.js CASE: KPL aggregated records for the AWS CLI (Data in base64),
// encoded from the format: magic F3 89 9A C2, protobuf AggregatedRecord
// {1: key table, 2: hash key table, 3: Record {1: key index, 2: hash index,
// 3: data, 4: tags}}, then the MD5 of the protobuf bytes.
'use strict';
const crypto = require('crypto');
function varint(n) {
  const b = [];
  while (n > 127) { b.push((n & 127) | 128); n = Math.floor(n / 128); }
  b.push(n);
  return Buffer.from(b);
}
function field(num, wire, body) {
  const tag = varint(num * 8 + wire);
  if (wire === 0) return Buffer.concat([tag, varint(body)]);
  return Buffer.concat([tag, varint(body.length), body]);
}
function aggregate(keys, recs, opt = {}) {
  const table = keys.map((k) => field(1, 2, Buffer.from(k)));
  const ehk = (opt.ehk || []).map((h) => field(2, 2, Buffer.from(h)));
  const body = recs.map(([ki, data, ei]) => {
    const parts = [field(1, 0, ki)];
    if (ei !== undefined) parts.push(field(2, 0, ei));
    parts.push(field(3, 2, data));
    if (opt.tags) parts.push(field(4, 2, Buffer.concat([field(1, 2, Buffer.from('t')), field(2, 2, Buffer.from('v'))])));
    return field(3, 2, Buffer.concat(parts));
  });
  const pb = opt.tablesLast ? Buffer.concat([...body, ...table, ...ehk])
    : Buffer.concat([...table, ...ehk, ...body]);
  const md5 = crypto.createHash('md5').update(pb).digest();
  if (opt.badMd5) md5[0] ^= 1;
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), pb, md5]);
}
function junk() {
  const pb = Buffer.from([0x1a, 0x05, 0x08]);  // a Record cut short
  const md5 = crypto.createHash('md5').update(pb).digest();
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), pb, md5]);
}
const cases = {
  good: () => [
    { Data: aggregate(['kA', 'kB'], [[0, Buffer.from('a1')], [1, Buffer.from('b1')],
      [0, Buffer.from('{"n":3}')]]), PartitionKey: 'kA' },
    { Data: aggregate(['kC'], [[0, Buffer.from('c1'), 0], [0, Buffer.alloc(0)],
      [0, Buffer.from('c3 with\ttab')]], { tablesLast: true, tags: true, ehk: ['1234'] }),
      PartitionKey: 'kC' },
    { Data: Buffer.from('plain'), PartitionKey: 'kP' },
  ],
  badmd5: () => [{ Data: aggregate(['kA'], [[0, Buffer.from('x')]], { badMd5: true }), PartitionKey: 'kA' }],
  junk: () => [{ Data: junk(), PartitionKey: 'kJ' }],
};
const out = cases[process.argv[2]]().map((r) => ({ Data: r.Data.toString('base64'), PartitionKey: r.PartitionKey }));
process.stdout.write(JSON.stringify(out) + '\n');
EOF
}

mkstream() { kinctl create "$1" "$2" >/dev/null; }

# put_cli STREAM FILE: PutRecords through the AWS CLI, raw data; the
# response (ShardId and SequenceNumber per record) goes to FILE.resp.
put_cli() {
	aws_local kinesis put-records --stream-name "$1" --records "file://$2" \
		--output json >"$2.resp"
	[ "$(jq .FailedRecordCount "$2.resp")" = 0 ]
}

# Same, with Data in base64 (binary records).
put_cli_b64() {
	"$AWS" --endpoint-url "$AWS_ENDPOINT_URL_KINESIS" --no-cli-pager \
		kinesis put-records --stream-name "$1" --records "file://$2" \
		--output json >"$2.resp"
	[ "$(jq .FailedRecordCount "$2.resp")" = 0 ]
}

lines_of() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines_of "$1")" -ge "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
lines_or_gone() { has_lines "$1" "$2" || gone "$3"; }
active() {
	[ "$(aws_local kinesis describe-stream-summary --stream-name "$1" \
		--query StreamDescriptionSummary.StreamStatus --output text)" = ACTIVE ]
}

# ---- kin-read's own unit tests (kin-read/test, built by make) ----

@test "unit: GetRecords fast path equals the library parser, KPL, output lines, shard order" {
	local dir=$KIN_ROOT/build/plain/kin-read t
	[ "${KIN_TEST_BUILD:-plain}" != san ] || dir=$KIN_ROOT/build/san/kin-read
	for t in page deagg out shards; do
		run -0 "$dir/test_$t"
		assert_output --regexp ', 0 failed$'
	done
}

# ---- usage and configuration ----

@test "usage errors exit 64 with a reason" {
	run -64 --separate-stderr kin-read
	assert_stderr_line 'kin-read: no stream: use -s/--stream'
	run -64 --separate-stderr kin-read -s x -o sideways
	assert_stderr_line --partial "kin-read: bad --from 'sideways'"
	run -64 --separate-stderr kin-read -s x -J -f '%d\n'
	assert_stderr_line 'kin-read: -J and -f cannot be used together'
	run -64 --separate-stderr kin-read -s x -o at-sequence:123
	assert_stderr_line --partial 'needs exactly one --shard'
	run -64 --separate-stderr kin-read -s x --shard-index 2/2
	assert_stderr_line --partial "bad --shard-index '2/2'"
	run -64 --separate-stderr kin-read -s x --limit 10001
	run -64 --separate-stderr kin-read -s x --until yesterday
	run -64 --separate-stderr kin-read -s x --bogus
	run -0 --separate-stderr kin-read -h
	assert_line --index 0 --partial 'usage: kin-read'
}

@test "a bad -f format exits 64 and names the problem" {
	mkstream fmtbad 1
	run -64 --separate-stderr kin-read -s fmtbad -e -f '%q\n'
	assert_stderr_line "kin-read: format '%q\\n': unknown field '%q'"
	run -64 --separate-stderr kin-read -s fmtbad -e -f 'x\xZZ'
	assert_stderr_line --partial "needs two hex digits"
}

@test "no region exits 78" {
	unset AWS_REGION AWS_DEFAULT_REGION
	run -78 --separate-stderr kin-read -s any -e
	assert_stderr --partial 'kin-read: '
	assert_stderr --partial 'region'
	assert_output ''
}

@test "an unknown stream exits 78" {
	run -78 --separate-stderr kin-read -s no-such-stream -e
	assert_stderr --partial "kin-read: cannot list shards of stream 'no-such-stream'"
	assert_stderr --partial 'ResourceNotFoundException'
	assert_output ''
}

@test "an unknown --shard exits 78" {
	mkstream shardbad 2
	run -78 --separate-stderr kin-read -s shardbad --shard shardId-000000000009 -e
	assert_stderr_line "kin-read: stream 'shardbad' has no shard 'shardId-000000000009'"
}

@test "--config takes the original job's inputStreamName and aws.region" {
	mkstream cfg1 1
	printf '%s\n' '[{"Data":"from-config","PartitionKey":"k"}]' >"$BATS_TEST_TMPDIR/r.json"
	put_cli cfg1 "$BATS_TEST_TMPDIR/r.json"
	printf 'inputStreamName = cfg1\naws.region=%s\nfrom=trim-horizon\nexit-at-end=true\n' \
		"$AWS_REGION" >"$BATS_TEST_TMPDIR/job.properties"
	unset AWS_REGION AWS_DEFAULT_REGION
	run -0 --separate-stderr timeout 60 kin-read --config "$BATS_TEST_TMPDIR/job.properties"
	assert_output 'from-config'
}

@test "checkpoint files: another stream's 78, not a checkpoint 65, unwritable 74" {
	mkstream ckbad 1
	printf '%s\n' '{"kin":"checkpoint","version":1,"stream":"other","shards":[]}' \
		>"$BATS_TEST_TMPDIR/other"
	run -78 --separate-stderr kin-read -s ckbad -e --checkpoint "$BATS_TEST_TMPDIR/other"
	assert_stderr "kin-read: checkpoint '$BATS_TEST_TMPDIR/other' is for stream 'other', not 'ckbad'"
	printf 'garbage\n' >"$BATS_TEST_TMPDIR/junk"
	run -65 --separate-stderr kin-read -s ckbad -e --checkpoint "$BATS_TEST_TMPDIR/junk"
	assert_stderr --partial "kin-read: checkpoint '$BATS_TEST_TMPDIR/junk': json:"
	printf '%s\n' '{"kin":"checkpoint","version":1,"stream":"ckbad","shards":[{"id":"shardId-000000000000","seq":"12x","sub":0}]}' \
		>"$BATS_TEST_TMPDIR/badseq"
	run -65 --separate-stderr kin-read -s ckbad -e --checkpoint "$BATS_TEST_TMPDIR/badseq"
	assert_stderr --partial "shard 'shardId-000000000000': bad \"seq\""
	# (the file's lock, ck.lock beside it, is the first thing it cannot make)
	run -74 --separate-stderr kin-read -s ckbad -e --checkpoint "$BATS_TEST_TMPDIR/no/such/dir/ck"
	assert_stderr --partial "kin-read: cannot open lock '$BATS_TEST_TMPDIR/no/such/dir/ck.lock'"
}

@test "a failing stdout is exit 74 with the reason" {
	mkstream full1 1
	node "$JS/put.js" full1 0 10 2
	run -74 --separate-stderr bash -c 'timeout 60 kin-read -s full1 -o trim-horizon -e >/dev/full'
	assert_stderr 'kin-read: cannot write to stdout: No space left on device'
}

# ---- reading ----

@test "an empty stream with -e ends at once" {
	mkstream empty4 4
	run -0 --separate-stderr timeout 20 kin-read -s empty4 -o trim-horizon -e
	assert_output ''
	assert_stderr ''
	run -0 --separate-stderr timeout 20 kin-read -s empty4 -e
	assert_output ''
}

@test "AWS CLI records come out byte for byte, in per-shard order, on 4 shards" {
	mkstream cli4 4
	# 400 records over 16 keys; data with blanks, quotes, tabs, UTF-8
	jq -nc '[range(400) | {PartitionKey: "k\(. % 16)",
		Data: "r\(.) \"q\"\tü € 🙂 \\\\ end"}]' >"$BATS_TEST_TMPDIR/a.json"
	put_cli cli4 "$BATS_TEST_TMPDIR/a.json"
	# what each record should be: shard, sequence number, data
	jq -r --slurpfile req "$BATS_TEST_TMPDIR/a.json" \
		'[.Records, $req[0]] | transpose[] | "\(.[0].ShardId) \(.[0].SequenceNumber) \(.[1].Data)"' \
		"$BATS_TEST_TMPDIR/a.json.resp" | LC_ALL=C sort -k1,1 -k2,2 >"$BATS_TEST_TMPDIR/want"
	[ "$(jq -r '.Records[].ShardId' "$BATS_TEST_TMPDIR/a.json.resp" | sort -u | wc -l)" = 4 ]

	run -0 --separate-stderr timeout 60 kin-read -s cli4 -o trim-horizon -e -f '%S %s %d\n'
	assert_stderr ''
	# a stable sort on the shard keeps each shard's lines in printed order
	printf '%s\n' "$output" | LC_ALL=C sort -s -k1,1 >"$BATS_TEST_TMPDIR/got"
	run diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	assert_success

	# the default output is the data alone, exactly
	run -0 --separate-stderr timeout 60 kin-read -s cli4 -o trim-horizon -e
	printf '%s\n' "$output" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got.raw"
	jq -r '.[].Data' "$BATS_TEST_TMPDIR/a.json" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/want.raw"
	cmp "$BATS_TEST_TMPDIR/want.raw" "$BATS_TEST_TMPDIR/got.raw"
}

@test "-J and -f print exactly what the AWS CLI reads back" {
	mkstream exact1 1
	# JSON values are embedded, text becomes a string, and data that a
	# value would change (blanks around it, a line break) stays a string
	jq -nc '[
		{PartitionKey: "k1", Data: "{\"a\":1,\"b\":[true,null]}"},
		{PartitionKey: "k2", Data: "plain text"},
		{PartitionKey: "k3", Data: "42"},
		{PartitionKey: "k4", Data: " {\"x\":1}"},
		{PartitionKey: "k5", Data: "tab\there \"q\" \\ é"},
		{PartitionKey: "k6", Data: "line1\nline2"},
		{PartitionKey: "k7", Data: "\u001e{\"kin\":\"barrier\"}"},
		{PartitionKey: "k8", Data: ""},
		{PartitionKey: "ключ", Data: "[1,\n2]"}
	]' >"$BATS_TEST_TMPDIR/j.json"
	put_cli exact1 "$BATS_TEST_TMPDIR/j.json"
	it=$(aws_local kinesis get-shard-iterator --stream-name exact1 \
		--shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
		--output text --query ShardIterator)
	aws_local kinesis get-records --shard-iterator "$it" --output json >"$BATS_TEST_TMPDIR/cli.json"
	# the CLI's view: sequence number, key, arrival time in ms
	jq -r '.Records[] | [.SequenceNumber, .PartitionKey,
		((.ApproximateArrivalTimestamp[0:19] + "Z" | fromdateiso8601) * 1000
		 + (.ApproximateArrivalTimestamp[20:23] | tonumber))] | @tsv' \
		"$BATS_TEST_TMPDIR/cli.json" >"$BATS_TEST_TMPDIR/meta"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/meta")" = 9 ]
	datas=(
		'{"a":1,"b":[true,null]}'
		'"plain text"'
		'42'
		'" {\"x\":1}"'
		'"tab\there \"q\" \\ é"'
		'"line1\nline2"'
		'"\u001e{\"kin\":\"barrier\"}"'
		'""'
		'"[1,\n2]"'
	)
	want=() fwant=()
	i=0
	while IFS=$'\t' read -r seq key ts; do
		want+=("{\"stream\":\"exact1\",\"shard\":\"shardId-000000000000\",\"seq\":\"$seq\",\"sub\":0,\"key\":\"$key\",\"ts\":$ts,\"data\":${datas[$i]}}")
		t=$(date -u -d "@$((ts / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf '%03d' $((ts % 1000)))Z
		fwant+=("$seq|0|$key|$ts|$t|shardId-000000000000|%")
		i=$((i + 1))
	done <"$BATS_TEST_TMPDIR/meta"

	run -0 --separate-stderr timeout 60 kin-read -s exact1 -o trim-horizon -e -J
	assert_stderr ''
	[ "${#lines[@]}" = 9 ]
	for i in "${!want[@]}"; do assert_line --index "$i" "${want[$i]}"; done

	# -f without %d: every record, one line each
	run -0 --separate-stderr timeout 60 kin-read -s exact1 -o trim-horizon -e \
		-f '%s|%n|%k|%T|%t|%S|%%\n'
	[ "${#lines[@]}" = 9 ]
	for i in "${!fwant[@]}"; do assert_line --index "$i" "${fwant[$i]}"; done

	# escapes in the format, parsed once
	run -0 --separate-stderr timeout 60 kin-read -s exact1 -o trim-horizon -e -c 2 \
		-f '\x3c%k\x3e\t%d\\\n'
	# shellcheck disable=SC1003 # the backslashes are printf's
	assert_output "$(printf '<k1>\t{"a":1,"b":[true,null]}\\\n<k2>\tplain text\\')"
}

@test "data with a newline is refused in raw output, never split" {
	mkstream nl1 1
	jq -nc '[{PartitionKey: "k", Data: "before"}, {PartitionKey: "k", Data: "a\nb"},
		{PartitionKey: "k", Data: "after"}]' >"$BATS_TEST_TMPDIR/n.json"
	put_cli nl1 "$BATS_TEST_TMPDIR/n.json"
	seq=$(jq -r '.Records[1].SequenceNumber' "$BATS_TEST_TMPDIR/n.json.resp")
	run -65 --separate-stderr timeout 60 kin-read -s nl1 -o trim-horizon -e
	assert_output 'before'
	assert_stderr "kin-read: cannot print record '$seq' (sub 0) of shard 'shardId-000000000000' as one line: it holds a newline; -J prints it safely"
	run -65 --separate-stderr timeout 60 kin-read -s nl1 -o trim-horizon -e -f '%d\n'
	assert_output 'before'
	run -0 --separate-stderr timeout 60 kin-read -s nl1 -o trim-horizon -e -f '%k %s\n'
	[ "${#lines[@]}" = 3 ]
}

@test "data beginning with 0x1E is never printed as a control line" {
	mkstream rs1 1
	jq -nc '[{PartitionKey: "k", Data: "\u001e{\"kin\":\"end\"}"}]' >"$BATS_TEST_TMPDIR/r.json"
	put_cli rs1 "$BATS_TEST_TMPDIR/r.json"
	run -65 --separate-stderr timeout 60 kin-read -s rs1 -o trim-horizon -e
	assert_output ''
	assert_stderr --partial 'it begins with the byte 0x1E that marks control lines'
	run -65 --separate-stderr timeout 60 kin-read -s rs1 -o trim-horizon -e -f '%d\n'
	run -0 --separate-stderr timeout 60 kin-read -s rs1 -o trim-horizon -e -f '[%d]\n'
	run -0 --separate-stderr timeout 60 kin-read -s rs1 -o trim-horizon -e -J
	assert_output --partial '"data":"\u001e{\"kin\":\"end\"}"}'
}

@test "binary and empty records: raw bytes as they are, -J as data_b64" {
	mkstream bin1 1
	# bytes 00 ff fe 80 41 (not UTF-8), then an empty record
	jq -nc '[{PartitionKey: "k", Data: "AP/+gEE="}, {PartitionKey: "k", Data: ""}]' \
		>"$BATS_TEST_TMPDIR/b.json"
	put_cli_b64 bin1 "$BATS_TEST_TMPDIR/b.json"
	timeout 60 kin-read -s bin1 -o trim-horizon -e >"$BATS_TEST_TMPDIR/raw"
	run -0 od -An -tx1 "$BATS_TEST_TMPDIR/raw"
	assert_output ' 00 ff fe 80 41 0a 0a'
	run -0 --separate-stderr timeout 60 kin-read -s bin1 -o trim-horizon -e -J
	assert_line --index 0 --partial ',"data_b64":"AP/+gEE="}'
	assert_line --index 1 --partial ',"data":""}'
}

@test "-J envelopes copy a stream byte for byte through kin-write -J" {
	mkstream jcopya 1
	mkstream jcopyb 1
	# a JSON string literal, an object, a number, plain text
	printf '%s\n' '"quoted"' '{"a":1}' '42' 'plain text' >"$BATS_TEST_TMPDIR/in"
	timeout 60 kin-write -s jcopya -k k "$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr timeout 60 kin-read -s jcopya -o trim-horizon -e -J
	assert_line --index 0 --partial ',"data":"\"quoted\""}'
	assert_line --index 1 --partial ',"data":{"a":1}}'
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/env"
	timeout 60 kin-write -J -s jcopyb "$BATS_TEST_TMPDIR/env"
	run -0 --separate-stderr timeout 60 kin-read -s jcopyb -o trim-horizon -e
	assert_output "$(cat "$BATS_TEST_TMPDIR/in")"
}

@test "KPL aggregates from an independent encoder de-aggregate exactly" {
	mkstream kpl1 1
	node "$JS/kpl.js" good >"$BATS_TEST_TMPDIR/good.json"
	put_cli_b64 kpl1 "$BATS_TEST_TMPDIR/good.json"
	s1=$(jq -r '.Records[0].SequenceNumber' "$BATS_TEST_TMPDIR/good.json.resp")
	s2=$(jq -r '.Records[1].SequenceNumber' "$BATS_TEST_TMPDIR/good.json.resp")
	s3=$(jq -r '.Records[2].SequenceNumber' "$BATS_TEST_TMPDIR/good.json.resp")
	run -0 --separate-stderr timeout 60 kin-read -s kpl1 -o trim-horizon -e
	assert_stderr ''
	assert_output "$(printf 'a1\nb1\n{"n":3}\nc1\n\nc3 with\ttab\nplain')"
	run -0 --separate-stderr timeout 60 kin-read -s kpl1 -o trim-horizon -e -f '%s %n %k %d\n'
	assert_output "$(printf '%s\n' "$s1 0 kA a1" "$s1 1 kB b1" "$s1 2 kA {\"n\":3}" \
		"$s2 0 kC c1" "$s2 1 kC " "$s2 2 kC c3 with	tab" "$s3 0 kP plain")"
}

@test "a record with the KPL magic but a wrong MD5 passes through raw" {
	mkstream kpl2 1
	node "$JS/kpl.js" badmd5 >"$BATS_TEST_TMPDIR/bad.json"
	put_cli_b64 kpl2 "$BATS_TEST_TMPDIR/bad.json"
	b64=$(jq -r '.[0].Data' "$BATS_TEST_TMPDIR/bad.json")
	run -0 --separate-stderr timeout 60 kin-read -s kpl2 -o trim-horizon -e -J
	assert_stderr ''
	[ "${#lines[@]}" = 1 ]
	assert_output --partial "\"sub\":0,\"key\":\"kA\","
	assert_output --partial ",\"data_b64\":\"$b64\"}"
	# a right MD5 over bytes that are no AggregatedRecord: raw, with a warning
	node "$JS/kpl.js" junk >"$BATS_TEST_TMPDIR/junk.json"
	put_cli_b64 kpl2 "$BATS_TEST_TMPDIR/junk.json"
	junk=$(jq -r '.[0].Data' "$BATS_TEST_TMPDIR/junk.json")
	run -0 --separate-stderr timeout 60 kin-read -s kpl2 -o trim-horizon -e -J
	assert_line --index 1 --partial ",\"data_b64\":\"$junk\"}"
	assert_stderr --partial 'looks like a KPL aggregate but does not parse as one'
}

@test "-c stops after N records, --shard and --shard-index pick shards" {
	mkstream pick4 4
	node "$JS/put.js" pick4 0 400 16
	run -0 --separate-stderr timeout 60 kin-read -s pick4 -o trim-horizon -e -c 7
	[ "${#lines[@]}" = 7 ]
	run -0 --separate-stderr timeout 60 kin-read -s pick4 -o trim-horizon -e \
		--shard shardId-000000000002 -f '%S\n'
	[ "${#lines[@]}" -gt 0 ]
	printf '%s\n' "${lines[@]}" | sort -u >"$BATS_TEST_TMPDIR/only"
	[ "$(cat "$BATS_TEST_TMPDIR/only")" = shardId-000000000002 ]
	for i in 0 1; do
		timeout 60 kin-read -s pick4 -o trim-horizon -e --shard-index "$i/2" \
			-f '%S %d\n' >"$BATS_TEST_TMPDIR/half$i"
	done
	run -0 cut -d' ' -f1 "$BATS_TEST_TMPDIR/half0"
	printf '%s\n' "${lines[@]}" | sort -u >"$BATS_TEST_TMPDIR/s0"
	printf '%s\n' shardId-000000000000 shardId-000000000002 | cmp - "$BATS_TEST_TMPDIR/s0"
	run -0 cut -d' ' -f1 "$BATS_TEST_TMPDIR/half1"
	printf '%s\n' "${lines[@]}" | sort -u >"$BATS_TEST_TMPDIR/s1"
	printf '%s\n' shardId-000000000001 shardId-000000000003 | cmp - "$BATS_TEST_TMPDIR/s1"
	# together exactly the 400 records, none twice
	cat "$BATS_TEST_TMPDIR/half0" "$BATS_TEST_TMPDIR/half1" | cut -d' ' -f2 |
		jq -r .SEQ | sort -n >"$BATS_TEST_TMPDIR/all"
	seq 0 399 | cmp - "$BATS_TEST_TMPDIR/all"
}

@test "-L lists streams, and with -s the shards, as text or -J" {
	mkstream list2 2
	run -0 --separate-stderr kin-read -L
	assert_line list2
	run -0 --separate-stderr kin-read -L -J
	assert_line '{"stream":"list2"}'
	run -0 --separate-stderr kin-read -L -s list2
	[ "${#lines[@]}" = 2 ]
	assert_line --index 0 --regexp '^shardId-000000000000  open    parents -  hash 0\.\.170141183460469231731687303715884105727  seq [0-9]+\.\.$'
	aws_local kinesis split-shard --stream-name list2 --shard-to-split shardId-000000000000 \
		--new-starting-hash-key 85070591730234615865843651857942052864
	wait_for active list2
	run -0 --separate-stderr kin-read -L -s list2
	[ "${#lines[@]}" = 4 ]
	assert_line --index 0 --regexp '^shardId-000000000000  closed  parents -  hash 0\.\.[0-9]+  seq [0-9]+\.\.[0-9]+$'
	assert_line --index 2 --regexp '^shardId-000000000002  open    parents shardId-000000000000  hash 0\.\.85070591730234615865843651857942052863  seq [0-9]+\.\.$'
	run -0 --separate-stderr kin-read -L -s list2 -J
	assert_line --index 3 --regexp '^\{"shard":"shardId-000000000003","parents":\["shardId-000000000000"\],"hash_start":"85070591730234615865843651857942052864","hash_end":"170141183460469231731687303715884105727","seq_start":"[0-9]+","seq_end":null,"open":true\}$'
	assert_line --index 0 --regexp '"seq_end":"[0-9]+","open":false\}$'
}

# ---- ending ----

@test "-e on a stream that is still being written ends" {
	mkstream busy2 2
	node "$JS/put.js" busy2 0 1000 8
	( for i in $(seq 1 200); do node "$JS/put.js" busy2 $((1000 + i * 100)) 100 8 || exit; done ) &
	BG+=("$!")
	run -0 --separate-stderr timeout 60 kin-read -s busy2 -o trim-horizon -e
	[ "${#lines[@]}" -ge 1000 ]
}

@test "--until ends at records put after TIME" {
	mkstream until1 2
	node "$JS/put.js" until1 0 300 8
	t=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	sleep 0.01   # arrival times are in ms: the next put is strictly later
	node "$JS/put.js" until1 300 300 8
	run -0 --separate-stderr timeout 60 kin-read -s until1 -o trim-horizon --until "$t"
	[ "${#lines[@]}" = 300 ]
	printf '%s\n' "${lines[@]}" | jq -r .SEQ | sort -n >"$BATS_TEST_TMPDIR/u"
	seq 0 299 | cmp - "$BATS_TEST_TMPDIR/u"
}

@test "SIGINT and SIGTERM save the checkpoint and exit 0" {
	mkstream sig1 2
	ck=$BATS_TEST_TMPDIR/ck
	n=0
	for s in INT TERM; do
		node "$JS/put.js" sig1 "$n" 500 8
		n=$((n + 500))
		kin-read -s sig1 -o trim-horizon --checkpoint "$ck" >"$BATS_TEST_TMPDIR/o$s" \
			2>"$BATS_TEST_TMPDIR/e$s" &
		pid=$!
		BG+=("$pid")
		wait_for has_lines "$BATS_TEST_TMPDIR/o$s" 500
		kill -"$s" "$pid"
		st=0
		wait "$pid" || st=$?
		[ "$st" = 0 ]
		[ -s "$ck" ]
		[ "$(stat -c %a "$ck")" = 600 ]
		[ ! -s "$BATS_TEST_TMPDIR/e$s" ]
	done
	# the second run went on from the first one's checkpoint
	jq -r .SEQ "$BATS_TEST_TMPDIR/oINT" | sort -n | cmp - <(seq 0 499)
	jq -r .SEQ "$BATS_TEST_TMPDIR/oTERM" | sort -n | cmp - <(seq 500 999)
	run -0 jq -c '.shards | length' "$ck"
	assert_output 2
}

@test "a closed stdout ends kin-read quietly" {
	mkstream pipe1 1
	node "$JS/put.js" pipe1 0 3000 4
	# shellcheck disable=SC2016 # expanded by the inner bash
	run -0 --separate-stderr bash -c 'set -o pipefail
		timeout 60 kin-read -s pipe1 -o trim-horizon -e 2>"$1" | head -n 1 >/dev/null
		echo "${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/err"
	assert_output 0
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "-v reports progress on stderr, never stdout" {
	mkstream verbose1 1
	node "$JS/put.js" verbose1 0 50 4
	run -0 --separate-stderr timeout 60 kin-read -s verbose1 -o trim-horizon -e -v
	[ "${#lines[@]}" = 50 ]
	refute_output --partial 'records/s'
	assert_stderr --regexp 'kin-read: 50 records, [0-9]+ records/s, [0-9.]+ KiB/s, 0 shards reading, at most 0 ms behind'
}

@test "a stream deleted while reading is a clear error, exit 78" {
	mkstream del1 1
	node "$JS/put.js" del1 0 10 2
	kin-read -s del1 -o trim-horizon >"$BATS_TEST_TMPDIR/o" 2>"$BATS_TEST_TMPDIR/e" &
	pid=$!
	BG+=("$pid")
	wait_for has_lines "$BATS_TEST_TMPDIR/o" 10
	aws_local kinesis delete-stream --stream-name del1
	wait_for gone "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" = 78 ]
	run cat "$BATS_TEST_TMPDIR/e"
	assert_output --regexp "^kin-read: stream 'del1' was deleted while reading: .*ResourceNotFoundException"
}

# ---- resharding and checkpoints ----

@test "resharding while reading: every record once, per key in order" {
	mkstream resh 2
	out=$BATS_TEST_TMPDIR/out
	kin-read -s resh -o trim-horizon --discovery-interval 500ms >"$out" \
		2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	BG+=("$pid")
	# the writer runs all along: 15 calls of 300 records over 12 keys
	( for i in $(seq 0 14); do node "$JS/put.js" resh $((i * 300)) 300 12 || exit 1; done ) &
	writer=$!
	BG+=("$writer")
	wait_for -t 60 has_lines "$out" 900
	# split shard 0 at a quarter of the key space: children 2 and 3
	aws_local kinesis split-shard --stream-name resh --shard-to-split shardId-000000000000 \
		--new-starting-hash-key 42535295865117307932921825928971026432
	wait_for active resh
	wait_for -t 60 has_lines "$out" 2400
	# merge shard 3 with its neighbour 1: child 4
	aws_local kinesis merge-shards --stream-name resh --shard-to-merge shardId-000000000003 \
		--adjacent-shard-to-merge shardId-000000000001
	wait_for active resh
	merged_ms=$(date +%s%3N)
	wait "$writer"
	# the writer may have finished before the merge: put some more, so
	# the merged child surely gets records
	node "$JS/put.js" resh 4500 300 12
	run -0 kin-read -L -s resh
	[ "${#lines[@]}" = 5 ]
	wait_for -t 60 has_lines "$out" 4800
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# records went to the children too.  kinesalite stamps the records
	# of a shard's first second with its creation time + 1 s, ahead of
	# the clock, and -e stops at a record that arrived after it started:
	# start it once that second is past (seen: shard 4 left out)
	is_past() { [ "$(date +%s%3N)" -gt "$1" ]; }
	wait_for is_past $((merged_ms + 1000))
	run -0 kin-read -s resh -o trim-horizon -e -f '%S\n'
	assert_line shardId-000000000002
	assert_line shardId-000000000004
	once_in_order "$out"
	# and read again from the start, in small pages, parents and children
	# all there at once: the children still wait for their parents
	timeout 120 kin-read -s resh -o trim-horizon -e --limit 50 >"$out.2"
	once_in_order "$out.2"
}

# once_in_order FILE: SEQ 0..4499 each exactly once, and in the order put
# for each key K.
once_in_order() {
	jq -r .SEQ "$1" | sort -n >"$1.seqs"
	seq 0 4799 | cmp - "$1.seqs"
	run -0 jq -rs 'group_by(.K)[] | select((map(.SEQ)) != (map(.SEQ) | sort)) | .[0].K' "$1"
	assert_output ''
}

@test "checkpoint: kill -9 at random points, resume: at least once, repeats only after the last checkpoint" {
	mkstream ck4 4
	node "$JS/put.js" ck4 0 100000 32
	ck=$BATS_TEST_TMPDIR/ck
	n=0
	for stop in 7000 17000 13000 21000 11000; do
		n=$((n + 1))
		stop=$((stop + RANDOM % 3000))
		kin-read -s ck4 -o trim-horizon -e --checkpoint "$ck" --checkpoint-interval 50ms \
			--limit 1000 -f '%S %s %d\n' >"$BATS_TEST_TMPDIR/out$n" \
			2>"$BATS_TEST_TMPDIR/err$n" &
		pid=$!
		BG+=("$pid")
		wait_for -t 60 lines_or_gone "$BATS_TEST_TMPDIR/out$n" "$stop" "$pid"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		cp "$ck" "$BATS_TEST_TMPDIR/ck$n"
		[ "$(stat -c %a "$ck")" = 600 ]
	done
	n=$((n + 1))
	run -0 --separate-stderr timeout 120 kin-read -s ck4 -o trim-horizon -e --checkpoint "$ck" \
		-f '%S %s %d\n'
	printf '%s\n' "${lines[@]}" >"$BATS_TEST_TMPDIR/out$n"
	# at least once: every SEQ somewhere
	cat "$BATS_TEST_TMPDIR"/out* | grep -a '}$' | cut -d' ' -f3 | jq -r .SEQ |
		sort -nu >"$BATS_TEST_TMPDIR/all"
	seq 0 99999 | cmp - "$BATS_TEST_TMPDIR/all"
	# each run starts right after the previous run's last checkpoint: a
	# record at or before that position in its shard is never printed again
	for i in $(seq 2 "$n"); do
		jq -r '.shards[] | select(.seq) | "\(.id) \(.seq)"' "$BATS_TEST_TMPDIR/ck$((i - 1))" \
			>"$BATS_TEST_TMPDIR/pos"
		# ("" makes awk compare the 56-digit numbers as strings)
		# shellcheck disable=SC2016 # awk's fields
		run -0 awk 'NR == FNR { pos[$1] = $2; next }
			($1 in pos) && (length($2) < length(pos[$1]) ||
			  (length($2) == length(pos[$1]) && ($2 "") <= (pos[$1] ""))) {
				print "repeated: " $0 }' \
			"$BATS_TEST_TMPDIR/pos" "$BATS_TEST_TMPDIR/out$i"
		assert_output ''
	done
	# and the last run, from the last checkpoint, reached the end
	run -0 jq -r '[.shards[] | select(.seq)] | length' "$ck"
	assert_output 4
}

@test "-c in the middle of an aggregate: the checkpoint resumes at the next user record" {
	mkstream kpl3 1
	node "$JS/kpl.js" good >"$BATS_TEST_TMPDIR/good.json"
	put_cli_b64 kpl3 "$BATS_TEST_TMPDIR/good.json"
	ck=$BATS_TEST_TMPDIR/ck
	run -0 --separate-stderr timeout 60 kin-read -s kpl3 -o trim-horizon -e -c 2 --checkpoint "$ck"
	assert_output "$(printf 'a1\nb1')"
	run -0 jq -c '.shards[0] | [.sub, .more]' "$ck"
	assert_output '[1,true]'
	run -0 --separate-stderr timeout 60 kin-read -s kpl3 -o trim-horizon -e -c 2 --checkpoint "$ck"
	assert_output "$(printf '{"n":3}\nc1')"
	run -0 --separate-stderr timeout 60 kin-read -s kpl3 -o trim-horizon -e --checkpoint "$ck"
	assert_output "$(printf '\nc3 with\ttab\nplain')"
	run -0 --separate-stderr timeout 60 kin-read -s kpl3 -o trim-horizon -e --checkpoint "$ck"
	assert_output ''
}

@test "kin-write --aggregate records come out as the lines put" {
	mkstream agg1 2
	seq 1 2000 | sed 's/.*/{"n":&,"pad":"xxxxxxxxxxxxxxxx"}/' >"$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr timeout 60 kin-write -s agg1 --aggregate -K n <"$BATS_TEST_TMPDIR/in"
	# sub-sequence numbers past 0: they really were aggregated
	run -0 --separate-stderr timeout 60 kin-read -s agg1 -o trim-horizon -e -f '%n\n'
	assert_line --regexp '^[1-9][0-9]*$'
	timeout 60 kin-read -s agg1 -o trim-horizon -e | sort >"$BATS_TEST_TMPDIR/out"
	sort "$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/out"
}

# faultproxy RULE...: start the fault proxy in front of the rig; sets PROXY
# (its endpoint) and FLOG (its log of injected faults).
faultproxy() {
	local args=() r
	for r in "$@"; do args+=(--rule "$r"); done
	FLOG=$BATS_TEST_TMPDIR/fault.log
	"$KIN_ROOT/tests/faultproxy" --upstream "$KIN_ENDPOINT" \
		--port-file "$BATS_TEST_TMPDIR/fport" --log "$FLOG" --seed 7 "${args[@]}" \
		2>"$BATS_TEST_TMPDIR/fault.err" &
	BG+=("$!")
	wait_for test -s "$BATS_TEST_TMPDIR/fport"
	PROXY=http://127.0.0.1:$(head -n1 "$BATS_TEST_TMPDIR/fport")
}

@test "throttled GetRecords back off and go on: nothing lost, nothing twice" {
	mkstream thr2 2
	node "$JS/put.js" thr2 0 3000 8
	faultproxy 'op=GetRecords share=0.5 status=400 error=ProvisionedThroughputExceededException message=Rate_exceeded'
	run -0 --separate-stderr timeout 120 kin-read --endpoint-url "$PROXY" -s thr2 \
		-o trim-horizon -e --limit 250
	printf '%s\n' "${lines[@]}" | jq -r .SEQ | sort -n >"$BATS_TEST_TMPDIR/s"
	seq 0 2999 | cmp - "$BATS_TEST_TMPDIR/s"
	grep -q 'ProvisionedThroughputExceededException' "$FLOG"
}

@test "an expired iterator is replaced from the last record printed" {
	mkstream exp1 1
	node "$JS/put.js" exp1 0 1000 8
	faultproxy 'op=GetRecords after=2 count=3 status=400 error=ExpiredIteratorException message=Iterator_expired'
	run -0 --separate-stderr timeout 120 kin-read --endpoint-url "$PROXY" -s exp1 \
		-o trim-horizon -e --limit 100 -vv
	[ "${#lines[@]}" = 1000 ]
	printf '%s\n' "${lines[@]}" | jq -r .SEQ | cmp - <(seq 0 999)
	[ "$(grep -c ExpiredIteratorException "$FLOG")" = 3 ]
	assert_stderr --partial "shard 'shardId-000000000000': reading from AFTER_SEQUENCE_NUMBER"
}

@test "every EXAMPLES line of the man page runs" {
	mkstream trades 2
	node "$JS/put.js" trades 0 100 8
	kinctl create trades-copy 1 >/dev/null
	cd "$BATS_TEST_TMPDIR"
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$KIN_ROOT/man/kin-read.1" |
		sed 's/\\e/\\/g' >examples
	[ "$(wc -l <examples)" -ge 6 ]
	n=0
	while IFS= read -r ex; do
		run -0 timeout 60 bash -c "$ex" </dev/null
		n=$((n + 1))
	done <examples
	[ "$n" = "$(wc -l <examples)" ]
	[ "$(wc -l <trades.ndjson)" = 100 ]
	[ -s trades.ckpt ] && [ -s half0.ckpt ]
	run -0 --separate-stderr timeout 60 kin-read -s trades-copy -o trim-horizon -e
	[ "${#lines[@]}" = 100 ]
}
