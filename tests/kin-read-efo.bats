#!/usr/bin/env bats
# kin-read --efo (kin-read/efo_src.c over common/efo.h) against kinesis-mock
# on its TLS port (HTTP/2, its certificate as AWS_CA_BUNDLE, as efo.bats):
# records put with the AWS CLI come out exactly and in per-shard order; a
# reshard while subscribed reads each parent to its end before its
# children; checkpoints, KPL de-aggregation, -J/-f, -e and -c hold as they
# do with polling; --efo-deregister removes the consumer.  kinesis-mock is
# slow to take records, so the counts stay modest.
# shellcheck disable=SC2016 # awk programs

load helpers/common
load helpers/efo

setup_file() {
	mock_start || return 1
}
teardown_file() { mock_stop; }

setup() {
	BG=()
	T=$BATS_TEST_TMPDIR
}
teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ ! -s "$T/err" ] || { echo '--- err'; tail -n 20 "$T/err"; }
	[ -z "${DDB_STATE:-}" ] || "$KIN_LOCAL" --state-dir "$DDB_STATE" stop
	return 0
}

lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

consumers() {
	aws_local kinesis list-stream-consumers --stream-arn "$(aws_local kinesis \
		describe-stream-summary --stream-name "$1" \
		--query StreamDescriptionSummary.StreamARN --output text)" \
		--query 'Consumers[].ConsumerName' --output text
}

no_consumers() { [ -z "$(consumers "$1")" ]; }

@test "10 000 records put with the AWS CLI come out exactly, in per-shard order, over one HTTP/2 connection" {
	create efo4 4
	put_range efo4 0 10000
	run -0 --separate-stderr timeout 240 kin-read -s efo4 --efo reader1 \
		-o trim-horizon -e -v -f '%S\t%s\t%d\n'
	printf '%s\n' "${lines[@]}" >"$T/out"
	printf '%s\n' "$stderr" >"$T/err"
	cut -f3 "$T/out" | sort >"$T/got"
	expected 0 10000 >"$T/want"
	cmp "$T/got" "$T/want"
	run -0 per_shard_order "$T/out"
	assert_output 0
	[ "$(cut -f1 "$T/out" | sort -u | wc -l)" -eq 4 ]
	# every shard subscribed, every transfer HTTP/2, no GetRecords reader
	run -0 grep -E 'enhanced fan-out: [0-9]+ events, 10000 records, 4 subscribes, 0 resubscribes, http2 4$' "$T/err"
	run -0 grep -c "stream consumer 'reader1': arn:aws:kinesis:" "$T/err"
	# the consumer stays registered for the next run
	run -0 consumers efo4
	assert_output reader1
}

@test "update-shard-count 2 -> 4 while subscribed: every record once, children after their parents" {
	create efor 2
	kin-read -s efor --efo reshard -o trim-horizon -c 1000 --discovery-interval 1s \
		-v -f '%S\t%s\t%d\n' >"$T/out" 2>"$T/err" 3>&- &
	BG+=($!)
	put_range efor 0 500
	wait_for -t 60 lines "$T/out" 500
	aws_local kinesis update-shard-count --stream-name efor \
		--target-shard-count 4 --scaling-type UNIFORM_SCALING
	wait_for -t 30 stream_active efor
	put_range efor 500 1000
	# -c 1000: it exits by itself once every record is out
	wait_for -t 90 gone "${BG[0]}"
	wait "${BG[0]}"
	cut -f3 "$T/out" | sort >"$T/got"
	expected 0 1000 >"$T/want"
	cmp "$T/got" "$T/want"
	run -0 per_shard_order "$T/out"
	assert_output 0
	# every child read, and only after the last record of its parent
	aws_local kinesis list-shards --stream-name efor --output text \
		--query 'Shards[].[ShardId,ParentShardId]' >"$T/shards"
	run -0 awk -F'\t' 'NR == FNR { par[$1] = $2; next }
		{ if (!($1 in first)) first[$1] = FNR; last[$1] = FNR }
		END { for (c in par) if (par[c] != "None") {
			n++
			if (!(c in first)) missing++
			else if (last[par[c]] >= first[c]) bad++ }
		print n, missing + 0, bad + 0 }' "$T/shards" "$T/out"
	assert_output '4 0 0'
}

@test "--checkpoint with --efo: a second run resumes after the last record printed" {
	create efock 2
	put_range efock 0 300
	run -0 --separate-stderr timeout 60 kin-read -s efock --efo ck -o trim-horizon \
		-e --checkpoint "$T/ck"
	[ "${#lines[@]}" -eq 300 ]
	put_range efock 300 600
	run -0 --separate-stderr timeout 60 kin-read -s efock --efo ck -e --checkpoint "$T/ck"
	printf '%s\n' "${lines[@]}" | sort >"$T/got"
	expected 300 600 >"$T/want"
	cmp "$T/got" "$T/want"
}

@test "KPL aggregates de-aggregate and -J envelopes come out the same through --efo" {
	create efoagg 1
	seq 1 200 | awk '{ printf "{\"n\":%d}\n", $1 }' |
		kin-write -s efoagg --aggregate -k k1
	run -0 --separate-stderr timeout 60 kin-read -s efoagg --efo agg -o trim-horizon -e -J
	[ "${#lines[@]}" -eq 200 ]
	printf '%s\n' "${lines[@]}" >"$T/out"
	run -0 jq -r '.data.n' "$T/out"
	[ "${lines[*]}" = "$(seq 1 200 | paste -sd' ')" ]
	# aggregated: several user records share a sequence number
	[ "$(jq -r .seq "$T/out" | sort -u | wc -l)" -lt 200 ]
	[ "$(jq -r .sub "$T/out" | sort -n | tail -n 1)" -gt 0 ]
	run -0 jq -r '[.stream, .shard, .key] | @tsv' "$T/out"
	assert_line --index 0 "efoagg	shardId-000000000000	k1"
}

@test "--efo-deregister removes the consumer at exit; it needs --efo" {
	create efodereg 1
	put_range efodereg 0 10
	run -0 --separate-stderr timeout 60 kin-read -s efodereg --efo gone -o trim-horizon -e
	run -0 consumers efodereg
	assert_output gone
	run -0 --separate-stderr timeout 60 kin-read -s efodereg --efo gone -o trim-horizon \
		-e --efo-deregister
	[ "${#lines[@]}" -eq 10 ]
	wait_for no_consumers efodereg
	run -64 --separate-stderr kin-read -s efodereg --efo-deregister
	assert_stderr_line 'kin-read: --efo-deregister needs --efo'
	run -78 --separate-stderr kin-read -s nosuchstream --efo x -e
	assert_stderr --partial 'ResourceNotFoundException'
}

# examples PATTERN: the lines of the literal blocks in the man page's
# EXAMPLES that hold PATTERN (kin-read.bats runs the .Dl lines).
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$KIN_ROOT/man/kin-read.1" |
		awk '/^\.Bd -literal/ { on = 1; next } /^\.Ed/ { on = 0 } on' |
		sed 's/\\e/\\/g' | grep -e "$1"
}

@test "the man page's --efo EXAMPLE runs" {
	local ex
	create trades 1
	put_range trades 0 50
	ex=$(examples --efo)
	[ "$(printf '%s\n' "$ex" | wc -l)" -eq 1 ]
	cd "$T"
	run -0 --separate-stderr timeout 60 bash -c "$ex" </dev/null
	[ "${#lines[@]}" -eq 50 ]
	wait_for no_consumers trades
}

# reading NAME: shards NAME reads now (leases gained less lost, from -v).
reading() {
	awk '/lease of shard .* gained/ { n++ } /lease of shard .* lost/ { n-- }
		END { print n + 0 }' "$T/$1.err"
}
is_reading() { [ "$(reading A) $(reading B)" = "$1" ]; }
both() { [ "$(cat "$T/A.out" "$T/B.out" | wc -l)" -ge "$1" ]; }

@test "--efo with --lease-table: two readers share the shards, each subscribed to its own; every record once" {
	local out w
	# DynamoDB from dynalite (kinesis-local --dynamo); Kinesis stays the mock
	DDB_STATE=$T/ddb
	out=$("$KIN_LOCAL" --state-dir "$DDB_STATE" start --dynamo)
	AWS_ENDPOINT_URL_DYNAMODB=$(sed -n 's/^export AWS_ENDPOINT_URL_DYNAMODB=//p' <<<"$out")
	export AWS_ENDPOINT_URL_DYNAMODB
	[ -n "$AWS_ENDPOINT_URL_DYNAMODB" ]
	create efolease 4
	for w in A B; do
		kin-read -s efolease --efo shared -o trim-horizon --lease-table efo-leases \
			--worker-id "$w" --failover-time 3s --checkpoint-interval 1s -v \
			-f '%S\t%s\t%d\n' >"$T/$w.out" 2>"$T/$w.err" 3>&- &
		BG+=($!)
	done
	wait_for -t 20 is_reading "2 2"
	put_range efolease 0 1000
	wait_for -t 60 both 1000
	for w in 0 1; do
		kill -TERM "${BG[$w]}"
		wait "${BG[$w]}"
	done
	cat "$T/A.out" "$T/B.out" >"$T/out"
	cut -f3 "$T/out" | sort >"$T/got"
	expected 0 1000 >"$T/want"
	cmp "$T/got" "$T/want"
	run -0 per_shard_order "$T/A.out"
	assert_output 0
	run -0 per_shard_order "$T/B.out"
	assert_output 0
	# two shards each, no shard from both
	[ "$(cut -f1 "$T/A.out" | sort -u | wc -l)" -eq 2 ]
	[ "$(cut -f1 "$T/B.out" | sort -u | wc -l)" -eq 2 ]
	[ -z "$(comm -12 <(cut -f1 "$T/A.out" | sort -u) <(cut -f1 "$T/B.out" | sort -u))" ]
	run -0 grep -h 'enhanced fan-out: .* http2' "$T/A.err" "$T/B.err"
	echo "$output"
}
