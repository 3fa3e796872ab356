# Loaded by every tests/*.bats (`load helpers/common`): bats-support and
# bats-assert, the four programs and the test helpers on PATH, a clean AWS
# environment, one real local Kinesis per test file, and a polling wait.
#
#   setup_file()    { kinesis_start; }      # exports AWS_ENDPOINT_URL_KINESIS...
#   teardown_file() { kinesis_stop; }       # runs even when tests failed
#   wait_for [-t SECONDS] CMD [ARG...]      # poll until CMD succeeds
#   aws_local kinesis list-streams          # the Debian AWS CLI, on the rig
#
# KIN_TEST_BUILD=san runs the ASan/UBSan builds (make SANITIZE=...) instead.
# shellcheck shell=bash

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
# run -N and --separate-stderr need 1.5; Debian 12 has 1.8.2.
bats_require_minimum_version 1.5.0

# Debian's bats-assert 2.1 has no stderr assertions: the same ones, applied
# to $stderr / ${stderr_lines[@]} (set by run --separate-stderr).
# shellcheck disable=SC2034 # output/lines are read by the assert functions
if ! declare -F assert_stderr >/dev/null; then
	assert_stderr() { local output=${stderr-}; assert_output "$@"; }
	refute_stderr() { local output=${stderr-}; refute_output "$@"; }
	assert_stderr_line() { local -a lines=("${stderr_lines[@]}"); assert_line "$@"; }
	refute_stderr_line() { local -a lines=("${stderr_lines[@]}"); refute_line "$@"; }
fi

KIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
export KIN_ROOT
export KIN_LOCAL="$KIN_ROOT/infra/local/kinesis-local"
# The Debian AWS CLI v2; another `aws` may come first on PATH.
export AWS=/usr/bin/aws

# Bats sources this file again for every test, after setup_file has run:
# scrub the environment and set PATH once per test file only, so what
# kinesis_start exported survives into the tests.
if [ "${KIN_COMMON_ONCE:-}" != "${BATS_FILE_TMPDIR:-none}" ]; then
export KIN_COMMON_ONCE="${BATS_FILE_TMPDIR:-none}"

if [ "${KIN_TEST_BUILD:-plain}" = san ]; then
	PATH="$KIN_ROOT/build/san/bin:$KIN_ROOT/build/san/helpers:$PATH"
else
	PATH="$KIN_ROOT/trade-gen:$KIN_ROOT/kin-write:$KIN_ROOT/kin-read:$KIN_ROOT/kin-window:$KIN_ROOT/build/plain/helpers:$PATH"
fi
export PATH

# Nothing from the host's AWS set-up may leak into a test: no profile, no
# config or credentials file, no endpoint, no instance metadata (the only
# network target is 127.0.0.1). A test that exercises one of these sets it
# itself, after load.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
	AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_CREDENTIAL_EXPIRATION \
	AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KINESIS \
	AWS_ENDPOINT_URL_DYNAMODB AWS_IGNORE_CONFIGURED_ENDPOINT_URLS \
	AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_WEB_IDENTITY_TOKEN_FILE \
	AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
	AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
	AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE \
	AWS_CA_BUNDLE AWS_MAX_ATTEMPTS AWS_RETRY_MODE AWS_STS_REGIONAL_ENDPOINTS \
	AWS_CLI_AUTO_PROMPT AWS_USE_FIPS_ENDPOINT AWS_USE_DUALSTACK_ENDPOINT \
	KIN_LOCAL_DIR
export AWS_CONFIG_FILE="${BATS_RUN_TMPDIR:-/nonexistent}/no-aws-config"
export AWS_SHARED_CREDENTIALS_FILE="${BATS_RUN_TMPDIR:-/nonexistent}/no-aws-credentials"
export AWS_EC2_METADATA_DISABLED=true
export AWS_PAGER=''
export AWS_DEFAULT_OUTPUT=json
# Buffering must be what a real pipeline has, not what the host prefers.
unset PYTHONUNBUFFERED
fi

# kinesis_start [--data DIR] [--port N]: start one kinesalite for this test
# file (call it from setup_file) and export its endpoint, dummy credentials
# and region; KIN_ENDPOINT is the endpoint URL too.
kinesis_start() {
	local out
	export KIN_TEST_STATE="$BATS_FILE_TMPDIR/kinesis-local"
	if ! out=$("$KIN_LOCAL" --state-dir "$KIN_TEST_STATE" start "$@"); then
		echo "kinesis_start: kinesis-local start failed; log:" >&2
		cat "$KIN_TEST_STATE/server.log" >&2 2>/dev/null || true
		return 1
	fi
	eval "$out"
	export AWS_ENDPOINT_URL_KINESIS AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION AWS_DEFAULT_REGION KIN_LOCAL_DIR
	export KIN_ENDPOINT="$AWS_ENDPOINT_URL_KINESIS"
}

# kinesis_stop: stop the server kinesis_start started (call it from
# teardown_file). Quiet and successful when none is running.
kinesis_stop() {
	[ -n "${KIN_TEST_STATE:-}" ] || return 0
	"$KIN_LOCAL" --state-dir "$KIN_TEST_STATE" stop 2>/dev/null
}

# wait_for [-t SECONDS] CMD [ARG...]: run CMD until it succeeds, at most
# SECONDS (whole seconds; default $KIN_WAIT_TIMEOUT or 10), polling every
# 20 ms at first, then 200 ms. On time-out, fail and print the command with
# what it last said. CMD may be a function.
wait_for() {
	local timeout=${KIN_WAIT_TIMEOUT:-10} deadline now out st delay=0.02
	if [ "${1:-}" = -t ]; then
		timeout=$2
		shift 2
	fi
	deadline=$(($(date +%s%3N) + timeout * 1000))
	while :; do
		st=0
		out=$("$@" 2>&1) || st=$?
		[ "$st" -ne 0 ] || return 0
		now=$(date +%s%3N)
		if [ "$now" -ge "$deadline" ]; then
			printf 'wait_for: gave up after %ss: %s\n' "$timeout" "$*" >&2
			printf 'last exit status %s, last output:\n%s\n' "$st" "$out" >&2
			return 1
		fi
		sleep "$delay"
		case $delay in 0.02) delay=0.05 ;; 0.05) delay=0.1 ;; 0.1) delay=0.2 ;; esac
	done
}

# aws_local ARG...: the Debian AWS CLI pointed at the local server, raw
# (not base64) blobs on input, no pager.
aws_local() {
	"$AWS" --endpoint-url "${AWS_ENDPOINT_URL_KINESIS:?kinesis_start first}" \
		--cli-binary-format raw-in-base64-out --no-cli-pager "$@"
}
