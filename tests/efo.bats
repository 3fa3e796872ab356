#!/usr/bin/env bats
# Enhanced fan-out (common/efo.c, common/eventstream.c) against kinesis-mock,
# through tests/helpers/efoctl: records put with the AWS CLI come out exactly
# once and in per-shard order over SubscribeToShard; a reshard while
# subscribed reads parents to their end before children; resubscription from
# the continuation loses and repeats nothing; ResourceInUseException backs
# off and retries; a full buffer pauses the transfer; consumers are listed
# and deregistered.
#
# Transport: kinesis-mock's TLS port, HTTP/2 (ALPN h2), with the certificate
# infra/local/kinesis-mock makes for IP 127.0.0.1 as AWS_CA_BUNDLE, so TLS
# is verified, not skipped (the plain port, HTTP/1.1 only, is not used).
# kinesis-mock 0.6.2 never sends ChildShards on a subscription and keeps a
# closed shard's subscription open: efoctl tells the session which shards
# ListShards shows closed, and the session confirms the end with GetRecords.

load helpers/common
load helpers/efo

setup_file() {
	mock_start || return 1
	# one small stream for the tests that need no stream of their own
	create eshared 1
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR put_range eshared 0 100
}
teardown_file() { mock_stop; }

setup() { BG=(); }
teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	return 0
}

lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }

@test "10 000 records put with the AWS CLI come out exactly, in per-shard order, over one HTTP/2 connection" {
	create e10k 4
	efoctl --stats -l -n 10000 -t 100s e10k c10k \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	BG+=($!)
	put_range e10k 0 10000
	wait "${BG[0]}"
	cat "$BATS_TEST_TMPDIR/err"
	cut -f3 "$BATS_TEST_TMPDIR/out" | sort >"$BATS_TEST_TMPDIR/got"
	expected 0 10000 >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	run -0 per_shard_order "$BATS_TEST_TMPDIR/out"
	assert_output 0
	# all four shards, each read over HTTP/2, multiplexed on one connection
	run -0 cut -f1 "$BATS_TEST_TMPDIR/out"
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 4 ]
	run -0 grep -c 'stats: records 10000 .* subscribes 4 .* http2 4 connections 1$' \
		"$BATS_TEST_TMPDIR/err"
}

@test "update-shard-count 2 -> 4 while subscribed: every record once, children after their parents" {
	local t=$BATS_TEST_TMPDIR
	create ereshard 2
	efoctl -v --stats -l -n 1000 -t 90s ereshard cresh >"$t/out" 2>"$t/err" 3>&- &
	BG+=($!)
	put_range ereshard 0 500
	wait_for -t 60 lines "$t/out" 500
	aws_local kinesis update-shard-count --stream-name ereshard \
		--target-shard-count 4 --scaling-type UNIFORM_SCALING
	wait_for stream_active ereshard
	put_range ereshard 500 1000
	wait "${BG[0]}"
	cat "$t/err"
	cut -f3 "$t/out" | sort >"$t/got"
	expected 0 1000 >"$t/want"
	run -0 cmp "$t/got" "$t/want"
	run -0 per_shard_order "$t/out"
	assert_output 0
	# every child read, and only after the last record of its parent
	aws_local kinesis list-shards --stream-name ereshard --output text \
		--query 'Shards[].[ShardId,ParentShardId]' >"$t/shards"
	# shellcheck disable=SC2016 # an awk program
	run -0 awk -F'\t' 'NR == FNR { par[$1] = $2; next }
		{ if (!($1 in first)) first[$1] = FNR; last[$1] = FNR }
		END { for (c in par) if (par[c] != "None") {
			n++
			if (!(c in first)) missing++
			else if (last[par[c]] >= first[c]) bad++ }
		print n, missing + 0, bad + 0 }' "$t/shards" "$t/out"
	assert_output '4 0 0'
	run -0 grep -c "ended after .* records, 2 children" "$t/err"
	assert_output 2
}

@test "a subscription ended every 0.7 s resumes from its continuation: nothing lost, nothing twice" {
	local t=$BATS_TEST_TMPDIR
	create eresub 2
	efoctl -v --stats --life 700ms -l -n 1500 -t 90s eresub cresub \
		>"$t/out" 2>"$t/err" 3>&- &
	BG+=($!)
	# in three parts, each once the last is out: the subscriptions live
	# through several of the mock's one-a-second events, so they end and
	# resume more than once however fast the machine is
	put_range eresub 0 500
	wait_for -t 30 lines "$t/out" 500
	put_range eresub 500 1000
	wait_for -t 30 lines "$t/out" 1000
	put_range eresub 1000 1500
	wait "${BG[0]}" || { cat "$t/err"; false; }
	cut -f3 "$t/out" | sort >"$t/got"
	expected 0 1500 >"$t/want"
	run -0 cmp "$t/got" "$t/want"
	run -0 per_shard_order "$t/out"
	assert_output 0
	run -0 sed -n 's/.*resubscribes \([0-9]*\) .*/\1/p' "$t/err"
	[ "$output" -ge 2 ]
}

@test "ResourceInUseException (the shard held by another reader) backs off and retries until it is free" {
	local t=$BATS_TEST_TMPDIR
	efoctl -l -t 60s eshared cinuse >"$t/holder" 2>/dev/null 3>&- &
	BG+=($!)
	wait_for -t 30 lines "$t/holder" 100
	efoctl -v -n 100 -t 60s eshared cinuse >"$t/out" 2>"$t/err" 3>&- &
	BG+=($!)
	wait_for -t 30 grep -q 'ResourceInUseException.*retry' "$t/err"
	kill "${BG[0]}"
	wait "${BG[1]}"
	expected 0 100 >"$t/want"
	run -0 cmp "$t/out" "$t/want"
}

@test "back-pressure: a reader slower than the stream holds the server back instead of buffering" {
	local t=$BATS_TEST_TMPDIR
	# 1.5 s per event against the mock's one a second: what was decoded
	# stays within a few events of what was handed out (the session reads
	# only while it is called, a full shard queue pauses its transfer, and
	# HTTP/2 flow control stops the server)
	run -75 --separate-stderr efoctl --stats --buffer 1 --slow 1500ms \
		-t 4s eshared cslow
	[[ $stderr =~ events\ ([0-9]+)\ handed\ ([0-9]+) ]]
	echo "decoded ${BASH_REMATCH[1]}, handed out ${BASH_REMATCH[2]}"
	[ "$((BASH_REMATCH[1] - BASH_REMATCH[2]))" -le 3 ]
	printf '%s\n' "${lines[@]}" >"$t/got"
	expected 0 100 >"$t/want"
	run -0 cmp "$t/got" "$t/want"
}

@test "consumers: registered ACTIVE on first use, listed, deregistered at exit" {
	run -0 efoctl -n 10 -t 30s eshared first
	run -0 efoctl --list eshared
	assert_line --regexp '^first	ACTIVE	arn:aws:kinesis:us-east-1:[0-9]+:stream/eshared/consumer/first:'
	run -0 efoctl -n 10 -t 30s --deregister eshared first
	assert_equal "${#lines[@]}" 10
	wait_for bash -c '! efoctl --list eshared | grep -q "^first	"'
}

@test "kinesis-mock listens on 127.0.0.1 only, and its TLS port speaks HTTP/2 with a certificate that verifies" {
	local tls plain p hex
	read -r tls plain <"$KIN_MOCK_DIR/ports"
	for p in "$tls" "$plain"; do
		hex=$(printf '%04X' "$p")
		# state 0A = LISTEN; the only listener on the port is 127.0.0.1
		# shellcheck disable=SC2016 # an awk program
		run -0 awk -v port=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == port { print $2 }' \
			/proc/net/tcp /proc/net/tcp6
		assert_output "0100007F:$hex"
	done
	run -0 curl -sS --http2 --cacert "$AWS_CA_BUNDLE" -o /dev/null \
		-w '%{http_version} %{ssl_verify_result}' -X POST \
		-H 'Content-Type: application/x-amz-json-1.1' \
		-H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=kinlocal/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00' \
		-d '{}' "$AWS_ENDPOINT_URL_KINESIS/"
	assert_output '2 0'
}

@test "kinesis-mock stop: a server that does not exit on SIGTERM is killed after the grace period" {
	local d=$BATS_TEST_TMPDIR/m2 pid
	run -0 "$MOCK" --state-dir "$d" start
	pid=$(cat "$d/pid")
	BG+=("$pid")
	kill -STOP "$pid"      # a stopped process acts on no SIGTERM
	KIN_MOCK_STOP_GRACE=1 run -0 "$MOCK" --state-dir "$d" stop
	run -3 "$MOCK" --state-dir "$d" status
	run -0 bash -c "st=\$(cut -d')' -f2 /proc/$pid/stat 2>/dev/null | cut -d' ' -f2); [ -z \"\$st\" ] || [ \"\$st\" = Z ]"
	BG=()                  # gone: nothing for teardown to kill
}

@test "failures: an unknown stream exits 78; a server certificate not trusted exits 78" {
	run -78 --separate-stderr efoctl -t 10s nosuchstream c
	assert_stderr --partial "ResourceNotFoundException"
	AWS_CA_BUNDLE=/nonexistent/ca.pem run -78 --separate-stderr efoctl -t 10s eshared c
	AWS_CA_BUNDLE='' run -78 --separate-stderr efoctl -t 10s eshared c
	assert_stderr --regexp 'certificate|SSL'
}
