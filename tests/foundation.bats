#!/usr/bin/env bats
# The common/ Kinesis client against a real local Kinesis, through kinctl:
# streams and shards it makes are what the AWS CLI sees (and the reverse),
# failures come back typed with the right exit status, and a -vvv trace
# shows the traffic but none of the secrets.

load helpers/common

setup_file() { kinesis_start; }
teardown_file() { kinesis_stop; }

no_credentials() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$@"; }

teardown() {
	if [ -n "${proxy_pid:-}" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
	return 0
}

# summary STREAM: name, status and open shard count as the AWS CLI sees them.
summary() {
	"$AWS" --endpoint-url "$AWS_ENDPOINT_URL_KINESIS" --no-cli-pager \
		kinesis describe-stream-summary --stream-name "$1" --output text \
		--query 'StreamDescriptionSummary.[StreamName,StreamStatus,OpenShardCount]'
}

@test "kinctl creates a stream, lists its shards, the AWS CLI sees it, kinctl deletes it" {
	run -0 --separate-stderr kinctl create found-a 2
	assert_output ''
	run -0 --separate-stderr kinctl list-shards found-a
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$(printf 'shardId-000000000000\t0\t170141183460469231731687303715884105727\t-\t-\topen')"
	assert_line --index 1 "$(printf 'shardId-000000000001\t170141183460469231731687303715884105728\t340282366920938463463374607431768211455\t-\t-\topen')"
	run -0 --separate-stderr summary found-a
	assert_output "$(printf 'found-a\tACTIVE\t2')"
	run -0 --separate-stderr kinctl list-streams
	assert_line found-a
	run -0 --separate-stderr kinctl describe found-a
	assert_line "$(printf 'status\tACTIVE')"
	assert_line "$(printf 'shards\t2')"

	run -0 --separate-stderr kinctl delete found-a
	run --separate-stderr summary found-a
	[ "$status" -ne 0 ]
	assert_stderr --partial ResourceNotFoundException
	run -0 --separate-stderr kinctl list-streams
	refute_output --partial found-a
}

@test "records kinctl puts the AWS CLI reads, and the reverse, byte for byte" {
	run -0 --separate-stderr kinctl create found-rec 1
	run -0 --separate-stderr kinctl put found-rec key1 '{"PRICE":1.5}' 'a "quoted" é'
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp $'^shardId-000000000000\t[0-9]+$'
	it=$(aws_local kinesis get-shard-iterator --stream-name found-rec \
		--shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
		--output text --query ShardIterator)
	run -0 --separate-stderr aws_local kinesis get-records --shard-iterator "$it" \
		--output text --query 'Records[].[Data,PartitionKey]'
	assert_line --index 0 "$(printf '%s\tkey1' "$(printf '%s' '{"PRICE":1.5}' | base64)")"
	assert_line --index 1 "$(printf '%s\tkey1' "$(printf '%s' 'a "quoted" é' | base64)")"

	run -0 --separate-stderr aws_local kinesis put-record --stream-name found-rec \
		--partition-key k2 --data 'from the CLI'
	run -0 --separate-stderr kinctl get found-rec shardId-000000000000
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 '{"PRICE":1.5}'
	assert_line --index 1 'a "quoted" é'
	assert_line --index 2 'from the CLI'
	run -0 --separate-stderr kinctl delete found-rec
}

@test "kinctl splits and merges shards; the AWS CLI sees the new shards" {
	run -0 --separate-stderr kinctl create found-re 1
	run -0 --separate-stderr kinctl split found-re shardId-000000000000 \
		170141183460469231731687303715884105728
	run -0 --separate-stderr "$AWS" --endpoint-url "$AWS_ENDPOINT_URL_KINESIS" \
		--no-cli-pager kinesis list-shards --stream-name found-re --output text \
		--query 'Shards[].[ShardId,ParentShardId,HashKeyRange.StartingHashKey]'
	assert_line --index 1 "$(printf 'shardId-000000000001\tshardId-000000000000\t0')"
	assert_line --index 2 "$(printf 'shardId-000000000002\tshardId-000000000000\t170141183460469231731687303715884105728')"
	run -0 --separate-stderr kinctl merge found-re shardId-000000000001 shardId-000000000002
	run -0 --separate-stderr kinctl list-shards found-re
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 --regexp $'^shardId-000000000000\t.*\tclosed$'
	assert_line --index 3 "$(printf 'shardId-000000000003\t0\t340282366920938463463374607431768211455\tshardId-000000000001\tshardId-000000000002\topen')"
	run -0 --separate-stderr summary found-re
	assert_output "$(printf 'found-re\tACTIVE\t1')"
	run -0 --separate-stderr kinctl delete found-re
}

@test "failures come back typed, with the exit status DESIGN.md asks for" {
	run -78 --separate-stderr kinctl describe no-such-stream
	assert_output ''
	assert_stderr --regexp "^kinctl: cannot describe stream: DescribeStreamSummary\('no-such-stream'\): ResourceNotFoundException: .*not found"

	run -0 --separate-stderr kinctl create found-err 1
	run -75 --separate-stderr kinctl create found-err 1
	assert_stderr --partial ": CreateStream('found-err'): ResourceInUseException: "
	run -0 --separate-stderr kinctl delete found-err

	# nothing listens on port 1: transport failures, retried, then 69
	AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:1 run -69 --separate-stderr kinctl list-streams
	assert_stderr --regexp "^kinctl: cannot list streams: ListStreams: POST http://127.0.0.1:1/: .* \(after 3 attempts\)$"
	AWS_MAX_ATTEMPTS=1 AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:1 run -69 --separate-stderr kinctl -v list-streams
	refute_stderr --partial 'attempts)'
	refute_stderr --partial 'retry'

	# no credentials anywhere: configuration, 78
	run -78 --separate-stderr no_credentials kinctl list-streams
	assert_stderr --partial 'kinctl: cannot list streams: ListStreams: '

	run -64 --separate-stderr kinctl create
	assert_stderr --partial 'usage: kinctl'
}

@test "a -vvv trace shows requests but never the secret key, the token or the signature" {
	local secret token portfile log sigs sig
	secret="kinTraceSecret$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')"
	token="kinTraceToken$(od -An -N16 -tx8 /dev/urandom | tr -d ' \n')"
	portfile=$BATS_TEST_TMPDIR/proxy.port
	log=$BATS_TEST_TMPDIR/wire.log
	# A recording proxy in front of the server keeps what went over the
	# wire, so the test knows the real signatures to look for.
	node "$KIN_ROOT/tests/helpers/record-proxy.js" "$AWS_ENDPOINT_URL_KINESIS" \
		"$log" "$portfile" 3>&- &
	proxy_pid=$!
	wait_for test -s "$portfile"

	AWS_ACCESS_KEY_ID=AKIDTRACETEST AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token \
		AWS_ENDPOINT_URL_KINESIS="http://127.0.0.1:$(cat "$portfile")" \
		run -0 --separate-stderr kinctl -vvv create found-trace 1
	# the trace is there: request lines, headers, bodies, statuses
	assert_stderr_line 'kinctl: > POST / HTTP/1.1'
	assert_stderr_line 'kinctl: > Authorization: REDACTED'
	assert_stderr_line "kinctl: > X-Amz-Security-Token: REDACTED"
	assert_stderr_line 'kinctl: > X-Amz-Target: Kinesis_20131202.CreateStream'
	assert_stderr_line --regexp '^kinctl: > body [0-9]+ bytes: \{"StreamName":"found-trace","ShardCount":1\}$'
	assert_stderr_line --regexp '^kinctl: POST http://127.0.0.1:[0-9]+/ Kinesis_20131202.DescribeStreamSummary: 200, '

	# what went over the wire held the secrets the trace must not show
	run -0 grep -c "\"x-amz-security-token\":\"$token\"" "$log"
	sigs=$(grep -o 'Signature=[0-9a-f]\{64\}' "$log" | cut -d= -f2)
	[ "$(printf '%s\n' "$sigs" | wc -l)" -ge 2 ]
	for sig in $sigs; do
		refute_stderr --partial "$sig"
	done
	refute_stderr --partial "$secret"
	refute_stderr --partial "$token"
	refute_stderr --partial 'Signature='
	refute_stderr --partial 'Credential='

	run -0 --separate-stderr kinctl delete found-trace
}
