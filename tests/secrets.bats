#!/usr/bin/env bats
# Secrets never leak (issue 9, "Secrets"; DESIGN.md section 3): with a
# distinctive secret key and session token, kinctl and the programs run at
# -vvv against the local Kinesis, through a recording proxy that keeps the
# real SigV4 signatures. Neither the secret, the token nor any signature may
# appear on stdout, on stderr, in /proc/PID/cmdline, or in any file the run
# wrote (checkpoint, state, dead letters, late records, errors). And no
# program takes credentials as command-line arguments.

load helpers/common

PROGS=(kin-read kin-write kin-window)

setup_file() {
	kinesis_start
	local portfile=$BATS_FILE_TMPDIR/proxy.port
	export WIRE=$BATS_FILE_TMPDIR/wire.log
	node "$KIN_ROOT/tests/helpers/record-proxy.js" "$KIN_ENDPOINT" "$WIRE" \
		"$portfile" 3>&- &
	echo "$!" >"$BATS_FILE_TMPDIR/proxy.pid"
	wait_for test -s "$portfile"
	PROXY="http://127.0.0.1:$(cat "$portfile")"
	export PROXY
	kinctl create sec-a 1
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/proxy.pid")" 2>/dev/null || true
	kinesis_stop
}

setup() {
	BG=()
	W=$BATS_TEST_TMPDIR/run
	mkdir -p "$W"
	SECRET="kinSecret$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	TOKEN="kinToken$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
	: >"$WIRE"
}

teardown() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	return 0
}

built() { command -v "$1" >/dev/null; }

# cmdline_of PID PROG NAME: once PID has become PROG (not the shell that
# forked it), keep its /proc/PID/cmdline as $W/NAME.cmdline.
cmdline_of() {
	wait_for sh -c "readlink /proc/$1/exe | grep -q '/$2\$'"
	tr '\0' ' ' </proc/"$1"/cmdline >"$W/$3.cmdline"
}

# no_leaks DIR: the secret, the token and every signature seen on the wire
# are nowhere under DIR (outputs, traces, command lines, files written).
no_leaks() {
	local sigs sig hits
	sigs=$(grep -o 'Signature=[0-9a-f]\{64\}' "$WIRE" | cut -d= -f2 | sort -u)
	[ -n "$sigs" ] || { echo "no signatures on the wire: the test proves nothing" >&2; return 1; }
	for sig in "$SECRET" "$TOKEN" $sigs; do
		if hits=$(grep -rlF -- "$sig" "$1"); then
			printf 'leaked %s into:\n%s\n' "${sig:0:16}..." "$hits" >&2
			return 1
		fi
	done
}

@test "at -vvv, no secret, token or signature in any output, command line or file written" {
	export AWS_ACCESS_KEY_ID=AKIDSECRETSTEST AWS_SECRET_ACCESS_KEY=$SECRET \
		AWS_SESSION_TOKEN=$TOKEN AWS_ENDPOINT_URL_KINESIS=$PROXY
	local pid st rs=$'\x1e'

	# kinctl: the trace shows headers and bodies, redacted
	kinctl -vvv put sec-a k '{"k":"a","t":1,"n":1}' >"$W/kinctl-put.out" 2>"$W/kinctl-put.err"
	kinctl -vvv get sec-a shardId-000000000000 >"$W/kinctl-get.out" 2>"$W/kinctl-get.err"
	kinctl -vvv describe sec-a >"$W/kinctl-desc.out" 2>"$W/kinctl-desc.err"
	run -0 grep -c 'Authorization: REDACTED' "$W/kinctl-put.err"

	if built kin-write; then
		# kept alive on a fifo while its command line is read; line 3 has
		# no key and goes to the dead-letter file
		mkfifo "$W/in.fifo"
		kin-write -v -v -v -s sec-a -K k --dead-letter "$W/dead-letter" \
			<"$W/in.fifo" >"$W/kin-write.out" 2>"$W/kin-write.err" &
		pid=$!
		BG+=("$pid")
		exec 4>"$W/in.fifo"
		printf '{"k":"a","t":2,"n":2}\n{"k":"b","t":3,"n":3}\n{"t":4,"n":4}\n' >&4
		cmdline_of "$pid" kin-write kin-write
		exec 4>&-
		st=0
		wait "$pid" || st=$?
		assert_equal "$st" 1
		run -0 grep -c '"line":3' "$W/dead-letter"
	fi

	if built kin-read; then
		# no -e: it follows the stream, saving its checkpoint every 100 ms,
		# until SIGTERM saves it once more
		kin-read -vvv -s sec-a -o trim-horizon --checkpoint "$W/checkpoint" \
			--checkpoint-interval 100ms >"$W/kin-read.out" 2>"$W/kin-read.err" &
		pid=$!
		BG+=("$pid")
		cmdline_of "$pid" kin-read kin-read
		wait_for test -s "$W/kin-read.out"
		wait_for test -s "$W/checkpoint"
		kill -TERM "$pid"
		st=0
		wait "$pid" || st=$?
		assert_equal "$st" 0
		run -0 grep -c 'X-Amz-Security-Token: REDACTED' "$W/kin-read.err"
		kin-read -vvv -L >"$W/kin-read-L.out" 2>"$W/kin-read-L.err"
	fi

	if built kin-window; then
		# it never talks to AWS, but runs with the same environment: its
		# state, late and error files are checked too
		{ cat "$W/kinctl-get.out"; printf '%s{"kin":"barrier","id":"s1"}\nnot json\n' "$rs"
		  printf '{"k":"a","t":0,"n":0}\n%s{"kin":"end"}\n' "$rs"; } >"$W/window.in"
		kin-window -v -v -v -k k -t t --time-format epoch --size 1s \
			--state "$W/state" --late "$W/late" --errors "$W/errors" \
			<"$W/window.in" >"$W/kin-window.out" 2>"$W/kin-window.err" || true
		[ -s "$W/state" ] && [ -s "$W/late" ] && [ -s "$W/errors" ]
	fi

	# the run used the secrets: the token went over the wire
	run -0 grep -c "\"x-amz-security-token\":\"$TOKEN\"" "$WIRE"
	no_leaks "$W"
}

@test "secrets from a credentials file and from credential_process do not leak either" {
	local creds=$BATS_TEST_TMPDIR/creds config=$BATS_TEST_TMPDIR/config
	printf '[leaky]\naws_access_key_id = AKIDFILETEST\naws_secret_access_key = %s\naws_session_token = %s\n' \
		"$SECRET" "$TOKEN" >"$creds"
	# credential_process prints its JSON to stdout; the second one prints
	# something that is not JSON but holds the secret: the error must not
	# quote it
	printf '#!/bin/sh\nprintf %s\n' \
		"'{\"Version\":1,\"AccessKeyId\":\"AKIDPROCTEST\",\"SecretAccessKey\":\"$SECRET\",\"SessionToken\":\"$TOKEN\"}'" \
		>"$BATS_TEST_TMPDIR/cp-good"
	printf '#!/bin/sh\nprintf %s\n' "'{\"Version\":1,\"SecretAccessKey\":\"$SECRET\" oops'" \
		>"$BATS_TEST_TMPDIR/cp-bad"
	chmod +x "$BATS_TEST_TMPDIR"/cp-*
	printf '[profile proc]\ncredential_process = %s\n[profile badproc]\ncredential_process = %s\n' \
		"$BATS_TEST_TMPDIR/cp-good" "$BATS_TEST_TMPDIR/cp-bad" >"$config"
	export AWS_SHARED_CREDENTIALS_FILE=$creds AWS_CONFIG_FILE=$config \
		AWS_ENDPOINT_URL_KINESIS=$PROXY
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

	AWS_PROFILE=leaky kinctl -vvv list-streams >"$W/file.out" 2>"$W/file.err"
	AWS_PROFILE=proc kinctl -vvv list-streams >"$W/proc.out" 2>"$W/proc.err"
	run -0 grep -c "\"x-amz-security-token\":\"$TOKEN\"" "$WIRE"
	assert_output 2
	run -78 --separate-stderr env AWS_PROFILE=badproc kinctl -vvv list-streams
	printf '%s\n' "$output" >"$W/badproc.out"
	printf '%s\n' "$stderr" >"$W/badproc.err"
	assert_stderr --partial credential_process
	if built kin-read; then
		AWS_PROFILE=proc kin-read -vvv -L >"$W/kin-read.out" 2>"$W/kin-read.err"
		AWS_PROFILE=badproc kin-read -vvv -L >"$W/kin-read-bad.out" 2>"$W/kin-read-bad.err" || true
	fi
	no_leaks "$W"
}

@test "no program takes credentials on its command line" {
	local p opt
	for p in kinctl "${PROGS[@]}"; do
		built "$p" || continue
		# nothing in --help looks like a credential option
		run -0 --separate-stderr "$p" --help
		refute_output --regexp '--[a-z-]*(secret|access-key|session-token|token|password|credential)'
		# and such options are refused as unknown, not quietly taken
		for opt in --secret-access-key --aws-secret-access-key --access-key-id \
			--session-token --aws-session-token --secret --token --password \
			--credentials; do
			run -64 --separate-stderr "$p" "$opt" x
		done
	done
}
