# efo.bash — helpers shared by the enhanced fan-out tests (efo.bats and
# kin-read-efo.bats) against kinesis-mock: streams made and filled with the
# AWS CLI, and the order checks.  Load after common.bash.

MOCK="$KIN_ROOT/infra/local/kinesis-mock"

# mock_start: kinesis-mock for this test file (from setup_file), its
# endpoint, CA and dummy credentials exported.  mock_stop from
# teardown_file.
mock_start() {
	local out
	export KIN_MOCK_STATE="$BATS_FILE_TMPDIR/kinesis-mock"
	if ! out=$("$MOCK" --state-dir "$KIN_MOCK_STATE" start); then
		echo "setup_file: kinesis-mock start failed; log:" >&2
		cat "$KIN_MOCK_STATE/server.log" >&2 2>/dev/null || true
		return 1
	fi
	eval "$out"
	export AWS_ENDPOINT_URL_KINESIS AWS_CA_BUNDLE KIN_MOCK_PLAIN_URL \
		AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION
}
mock_stop() {
	[ -z "${KIN_MOCK_STATE:-}" ] || "$MOCK" --state-dir "$KIN_MOCK_STATE" stop
}

stream_active() {
	[ "$(aws_local kinesis describe-stream-summary --stream-name "$1" \
		--query StreamDescriptionSummary.StreamStatus --output text)" = ACTIVE ]
}

# create STREAM SHARDS
create() {
	aws_local kinesis create-stream --stream-name "$1" --shard-count "$2"
	wait_for stream_active "$1"
}

# put_range STREAM FROM TO: records rNNNNN (key kN) for FROM..TO-1, 500 a
# PutRecords call in order, each call checked for FailedRecordCount 0.
put_range() {
	local s=$1 i=$2 to=$3 n failed f="$BATS_TEST_TMPDIR/put.json"
	while [ "$i" -lt "$to" ]; do
		n=$((to - i < 500 ? to - i : 500))
		awk -v s="$s" -v a="$i" -v n="$n" 'BEGIN {
			printf "{\"StreamName\":\"%s\",\"Records\":[", s
			for (k = a; k < a + n; k++)
				printf "%s{\"Data\":\"r%05d\",\"PartitionKey\":\"k%d\"}",
				    (k > a ? "," : ""), k, k
			print "]}" }' >"$f"
		failed=$(aws_local kinesis put-records --cli-input-json "file://$f" \
			--query FailedRecordCount --output text) || return 1
		[ "$failed" = 0 ] || { echo "put_range: $failed failed" >&2; return 1; }
		i=$((i + n))
	done
}

# expected FROM TO: the data lines put_range wrote, sorted.
expected() { awk -v a="$1" -v b="$2" 'BEGIN { for (k = a; k < b; k++) printf "r%05d\n", k }'; }

# per_shard_order FILE: lines "shard seq data" out of order within a shard
# (sequence numbers compared as numbers, data as put).
per_shard_order() {
	awk -F'\t' '{
		s = $2 ""; d = $3 ""   # strings: awk would compare 56 digits as doubles
		if ($1 in seq) {
			if (length(s) < length(seq[$1]) ||
			    (length(s) == length(seq[$1]) && s <= seq[$1]) ||
			    d <= data[$1])
				bad++
		}
		seq[$1] = s; data[$1] = d
	} END { print bad + 0 }' "$1"
}
