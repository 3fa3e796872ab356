#!/usr/bin/env bats
# The test rig itself: infra/local/kinesis-local runs a real kinesalite on
# 127.0.0.1, the AWS CLI talks to it, and stop ends only what start began.

load helpers/common

setup_file() { kinesis_start; }
teardown_file() { kinesis_stop; }

# Servers a single test starts live under $BATS_TEST_TMPDIR/srv-*.
teardown() {
	local d
	for d in "$BATS_TEST_TMPDIR"/srv-*; do
		[ -d "$d" ] && "$KIN_LOCAL" --state-dir "$d" stop 2>/dev/null
	done
	if [ -n "${decoy:-}" ]; then kill "$decoy" 2>/dev/null || true; fi
	return 0
}

# srv NAME ARG...: kinesis-local with the state dir of server NAME.
srv() { "$KIN_LOCAL" --state-dir "$BATS_TEST_TMPDIR/srv-$1" "${@:2}"; }

# endpoint_of NAME: the endpoint `env` reports for server NAME.
endpoint_of() { srv "$1" env | sed -n 's/^export AWS_ENDPOINT_URL_KINESIS=//p'; }

list_streams_at() {
	"$AWS" --endpoint-url "$1" --no-cli-pager kinesis list-streams --output text --query 'StreamNames'
}

gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }

@test "the file's server answers ListStreams through the AWS CLI" {
	run -0 --separate-stderr aws_local kinesis list-streams
	assert_output --partial '"StreamNames"'
	[[ $AWS_ENDPOINT_URL_KINESIS =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
}

@test "status and env describe the running server" {
	run -0 --separate-stderr "$KIN_LOCAL" --state-dir "$KIN_TEST_STATE" status
	assert_output --regexp "^running pid [0-9]+ endpoint $AWS_ENDPOINT_URL_KINESIS data memory "
	run -0 --separate-stderr "$KIN_LOCAL" --state-dir "$KIN_TEST_STATE" env
	assert_line "export AWS_ENDPOINT_URL_KINESIS=$AWS_ENDPOINT_URL_KINESIS"
	assert_line --regexp '^export AWS_ACCESS_KEY_ID=.+'
	assert_line --regexp '^export AWS_SECRET_ACCESS_KEY=.+'
	assert_line --regexp '^export AWS_REGION=.+'
}

@test "the AWS CLI puts and gets a raw record" {
	run -0 aws_local kinesis create-stream --stream-name rig-raw --shard-count 1
	run -0 --separate-stderr aws_local kinesis put-record --stream-name rig-raw \
		--partition-key k --data '{"PRICE":1.5}'
	it=$(aws_local kinesis get-shard-iterator --stream-name rig-raw \
		--shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
		--output text --query ShardIterator)
	run -0 --separate-stderr aws_local kinesis get-records --shard-iterator "$it" \
		--output text --query 'Records[0].Data'
	# The CLI prints blobs base64-encoded on output.
	assert_output "$(printf '%s' '{"PRICE":1.5}' | base64)"
}

@test "start, status, env, stop: one lifecycle in its own state dir" {
	run -0 --separate-stderr srv a start
	assert_line --regexp '^export AWS_ENDPOINT_URL_KINESIS=http://127\.0\.0\.1:[0-9]+$'
	ep=$(endpoint_of a)
	pid=$(cat "$BATS_TEST_TMPDIR/srv-a/pid")
	run -0 list_streams_at "$ep"
	run -0 srv a status
	assert_output --partial "pid $pid endpoint $ep"
	run -1 --separate-stderr srv a start
	assert_stderr --partial 'already running'
	run -0 srv a stop
	gone "$pid"
	run -3 srv a status
	assert_output --partial 'not running'
	run -3 --separate-stderr srv a env
	run -0 srv a stop
}

@test "stop ends only its own server" {
	srv a start >/dev/null
	srv b start >/dev/null
	ep_b=$(endpoint_of b)
	pid_a=$(cat "$BATS_TEST_TMPDIR/srv-a/pid")
	run -0 srv a stop
	gone "$pid_a"
	run -0 list_streams_at "$ep_b"

	# A pidfile naming a process that is not our server (a reused pid) is
	# dropped, and that process is left alone.
	sleep 300 3>&- &
	decoy=$!
	mkdir -p "$BATS_TEST_TMPDIR/srv-c"
	echo "$decoy" >"$BATS_TEST_TMPDIR/srv-c/pid"
	run -0 --separate-stderr srv c stop
	assert_stderr --partial 'stale pid'
	kill -0 "$decoy"
	[ ! -e "$BATS_TEST_TMPDIR/srv-c/pid" ]

	# Server b's own node process, seen from state dir c, is not c's.
	cp "$BATS_TEST_TMPDIR/srv-b/pid" "$BATS_TEST_TMPDIR/srv-c/pid"
	run -0 --separate-stderr srv c stop
	run -0 list_streams_at "$ep_b"
}

@test "a data dir keeps streams and records across a restart; memory does not" {
	data="$BATS_TEST_TMPDIR/data"
	srv d start --data "$data" >/dev/null
	ep=$(endpoint_of d)
	"$AWS" --endpoint-url "$ep" kinesis create-stream --stream-name kept --shard-count 1
	"$AWS" --endpoint-url "$ep" --cli-binary-format raw-in-base64-out \
		kinesis put-record --stream-name kept --partition-key k --data hello >/dev/null
	run -0 srv d status
	assert_output --partial "data $data"
	srv d stop

	srv d start --data "$data" >/dev/null
	ep=$(endpoint_of d)
	run -0 list_streams_at "$ep"
	assert_output kept
	it=$("$AWS" --endpoint-url "$ep" kinesis get-shard-iterator --stream-name kept \
		--shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
		--output text --query ShardIterator)
	run -0 "$AWS" --endpoint-url "$ep" kinesis get-records --shard-iterator "$it" \
		--output text --query 'Records[0].Data'
	assert_output "$(printf hello | base64)"
	srv d stop

	srv m start >/dev/null
	ep=$(endpoint_of m)
	"$AWS" --endpoint-url "$ep" kinesis create-stream --stream-name lost --shard-count 1
	srv m stop
	srv m start >/dev/null
	run -0 list_streams_at "$(endpoint_of m)"
	assert_output ''
}

@test "start on a port in use fails clearly" {
	port=${AWS_ENDPOINT_URL_KINESIS##*:}
	run -69 --separate-stderr srv p start --port "$port"
	assert_stderr --partial 'exited before answering'
	assert_stderr --partial 'cannot listen'
	run -3 srv p status
}

@test "usage errors exit 64" {
	run -64 --separate-stderr "$KIN_LOCAL"
	assert_stderr --partial 'usage:'
	run -64 --separate-stderr "$KIN_LOCAL" restart
	run -64 --separate-stderr "$KIN_LOCAL" stop --port 1
	run -64 --separate-stderr "$KIN_LOCAL" start --port 70000
}

@test "a server left behind exits once its state dir is removed" {
	srv o start >/dev/null
	pid=$(cat "$BATS_TEST_TMPDIR/srv-o/pid")
	rm -rf "$BATS_TEST_TMPDIR/srv-o"
	wait_for gone "$pid"
}

@test "wait_for gives up at its deadline and says what it saw" {
	run -0 wait_for true
	run -1 --separate-stderr wait_for -t 1 sh -c 'echo not yet; exit 3'
	assert_stderr --partial "wait_for: gave up after 1s: sh -c"
	assert_stderr --partial 'last exit status 3'
	assert_stderr --partial 'not yet'
}
