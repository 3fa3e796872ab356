#!/usr/bin/env bats
# The credential chain and settings of common/awsconf, end to end through
# the kin-creds helper, with loopback responders playing IMDSv2, ECS and
# STS (tests/responders/aws-creds-responder).  kin-creds prints where the
# credentials came from and whether a secret/token was found, never the
# secrets themselves; every test also checks that no "SECRET" leaks.

load helpers/common

RESPONDER="$BATS_TEST_DIRNAME/responders/aws-creds-responder"

setup() {
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# responder MODE [ARG...]: start one; sets PORT and LOG (its request log).
responder() {
	local mode=$1 portfile
	shift
	portfile="$BATS_TEST_TMPDIR/$mode.port"
	LOG="$BATS_TEST_TMPDIR/$mode.log"
	: >"$LOG"
	"$RESPONDER" "$mode" --log "$LOG" "$@" >"$portfile" 3>&- &
	PIDS+=("$!")
	wait_for test -s "$portfile"
	PORT=$(head -n1 "$portfile")
}

no_secrets() {
	refute_output --partial SECRET
	refute_stderr --partial SECRET
}

@test "environment credentials come first" {
	export AWS_ACCESS_KEY_ID=AKIDENV AWS_SECRET_ACCESS_KEY=SECRET-env
	responder ecs
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/creds"
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source env'
	assert_line 'akid AKIDENV'
	assert_line 'secret yes'
	assert_line 'token no'
	assert_line 'expires no'
	no_secrets
	# the container was never asked
	[ ! -s "$LOG" ]
}

@test "shared files: profile from AWS_PROFILE or --profile, region from the config file" {
	cat >"$BATS_TEST_TMPDIR/credentials" <<-'EOF'
	[default]
	aws_access_key_id = AKIDDEFAULT
	aws_secret_access_key = SECRET-default
	# a comment
	[dev]
	aws_access_key_id=AKIDDEV
	aws_secret_access_key=SECRET-dev
	aws_session_token = SECRET-devtoken
	EOF
	cat >"$BATS_TEST_TMPDIR/config" <<-'EOF'
	[default]
	region = eu-west-1
	[profile dev]
	region = eu-central-1
	EOF
	export AWS_SHARED_CREDENTIALS_FILE="$BATS_TEST_TMPDIR/credentials"
	export AWS_CONFIG_FILE="$BATS_TEST_TMPDIR/config"

	run -0 --separate-stderr kin-creds
	assert_line 'region eu-west-1'
	assert_line 'profile default'
	assert_line 'source profile'
	assert_line 'akid AKIDDEFAULT'
	assert_line 'token no'
	no_secrets

	AWS_PROFILE=dev run -0 --separate-stderr kin-creds
	assert_line 'region eu-central-1'
	assert_line 'akid AKIDDEV'
	assert_line 'token yes'
	no_secrets

	AWS_PROFILE=dev run -0 --separate-stderr kin-creds --profile default \
		--region us-east-2
	assert_line 'region us-east-2'
	assert_line 'akid AKIDDEFAULT'

	run -78 --separate-stderr kin-creds --profile nosuch --region eu-west-1
	assert_stderr --partial "profile 'nosuch' not found"
}

@test "credential_process runs through sh -c and its JSON is read" {
	cat >"$BATS_TEST_TMPDIR/proc.sh" <<-'EOF'
	#!/bin/sh
	[ "$1" = "two words" ] || exit 4
	printf '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "SECRET-proc", "SessionToken": "SECRET-t", "Expiration": "2099-01-01T00:00:00Z"}\n'
	EOF
	chmod +x "$BATS_TEST_TMPDIR/proc.sh"
	printf '[profile p]\nregion = ap-south-1\ncredential_process = %s "two words"\n' \
		"$BATS_TEST_TMPDIR/proc.sh" >"$BATS_TEST_TMPDIR/config"
	export AWS_CONFIG_FILE="$BATS_TEST_TMPDIR/config"
	run -0 --separate-stderr kin-creds --profile p
	assert_line 'source process'
	assert_line 'akid AKIDPROC'
	assert_line 'token yes'
	assert_line 'expires yes'
	no_secrets
}

@test "IMDSv2: token PUT, role, then the role's credentials" {
	responder imds
	export AWS_EC2_METADATA_DISABLED=false
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$PORT/"
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source imds'
	assert_line 'akid ASIAIMDSEXAMPLE'
	assert_line 'secret yes'
	assert_line 'token yes'
	assert_line 'expires yes'
	no_secrets
	run -0 cat "$LOG"
	assert_line --index 0 'PUT /latest/api/token ttl=21600'
	assert_line --index 1 'GET /latest/meta-data/iam/security-credentials/ token=ok'
	assert_line --index 2 'GET /latest/meta-data/iam/security-credentials/kin-test-role token=ok'
}

@test "IMDS is not tried when AWS_EC2_METADATA_DISABLED=true" {
	responder imds
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$PORT"
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'no credentials'
	assert_stderr --partial 'AWS_EC2_METADATA_DISABLED'
	[ ! -s "$LOG" ]
}

@test "IMDS without a role, and with nothing listening, ends the chain" {
	responder imds --no-role
	export AWS_EC2_METADATA_DISABLED=false
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$PORT"
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'no IAM role attached'
	# a port nobody listens on: refused at once, well inside the 1 s limit
	kill "${PIDS[0]}"
	wait "${PIDS[0]}" 2>/dev/null || true
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'no credentials'
	assert_stderr --partial "127.0.0.1:$PORT"
}

@test "ECS: full URI with the authorization token from the environment" {
	responder ecs --auth 'Bearer abc123'
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/v2/creds"
	export AWS_CONTAINER_AUTHORIZATION_TOKEN='Bearer abc123'
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source ecs'
	assert_line 'akid ASIAECSEXAMPLE'
	assert_line 'token yes'
	assert_line 'expires yes'
	no_secrets
	run -0 cat "$LOG"
	assert_line 'GET /v2/creds auth=ok'
}

@test "ECS: the token file wins over the variable; a wrong token is refused" {
	responder ecs --auth 'from-the-file'
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/creds"
	printf 'from-the-file\n' >"$BATS_TEST_TMPDIR/ecs-token"
	export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$BATS_TEST_TMPDIR/ecs-token"
	export AWS_CONTAINER_AUTHORIZATION_TOKEN='from-the-variable'
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source ecs'
	no_secrets

	unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'HTTP 401'
	refute_stderr --partial 'from-the-variable'
	run -0 grep -v '^ISSUE' "$LOG"
	assert_line --index 0 'GET /creds auth=ok'
	assert_line --index 1 'GET /creds auth=bad'

	rm "$BATS_TEST_TMPDIR/ecs-token"
	export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$BATS_TEST_TMPDIR/ecs-token"
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'cannot read token file'

	# a token that would end the header line early is refused, unsent
	unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
	export AWS_CONTAINER_AUTHORIZATION_TOKEN=$'from-the-variable\r\nX-Injected: 1'
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'container credentials: token holds a line break'
	refute_stderr --partial 'from-the-variable'
	run -0 grep -c ' /creds ' "$LOG"
	assert_output 2
}

@test "ECS: plain http only to loopback or the agent's address" {
	export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://creds.example.test/x'
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'plain http is only allowed'
}

@test "ECS beats IMDS in the chain" {
	responder imds
	local imds_log=$LOG imds_port=$PORT
	responder ecs
	export AWS_EC2_METADATA_DISABLED=false
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds_port"
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/c"
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source ecs'
	[ ! -s "$imds_log" ]
}

@test "web identity: AssumeRoleWithWebIdentity at AWS_ENDPOINT_URL_STS" {
	responder sts --expect-token 'jwt.header.payload'
	printf 'jwt.header.payload\n' >"$BATS_TEST_TMPDIR/jwt"
	export AWS_WEB_IDENTITY_TOKEN_FILE="$BATS_TEST_TMPDIR/jwt"
	export AWS_ROLE_ARN='arn:aws:iam::123456789012:role/kin'
	export AWS_ROLE_SESSION_NAME=kin-test
	export AWS_ENDPOINT_URL_STS="http://127.0.0.1:$PORT"
	run -0 --separate-stderr kin-creds --region eu-west-1
	assert_line 'source web-identity'
	assert_line 'akid ASIASTSEXAMPLE'
	assert_line 'token yes'
	assert_line 'expires yes'
	no_secrets
	run -0 cat "$LOG"
	assert_line 'POST / Action=AssumeRoleWithWebIdentity RoleArn=arn:aws:iam::123456789012:role/kin RoleSessionName=kin-test'

	# AWS_ENDPOINT_URL serves STS too when there is no STS-specific one
	unset AWS_ENDPOINT_URL_STS
	export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
	run -0 --separate-stderr kin-creds --region eu-west-1 \
		--endpoint-url http://127.0.0.1:1
	assert_line 'source web-identity'
	assert_line 'endpoint http://127.0.0.1:1'
}

@test "web identity: STS errors are reported with code and message" {
	responder sts --expect-token 'the-right-one'
	printf 'a-wrong-token' >"$BATS_TEST_TMPDIR/jwt"
	export AWS_WEB_IDENTITY_TOKEN_FILE="$BATS_TEST_TMPDIR/jwt"
	export AWS_ROLE_ARN='arn:aws:iam::123456789012:role/kin'
	export AWS_ENDPOINT_URL_STS="http://127.0.0.1:$PORT"
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial "HTTP 400: InvalidIdentityToken: Couldn't verify the token"
	refute_stderr --partial 'a-wrong-token'

	unset AWS_ROLE_ARN
	run -78 --separate-stderr kin-creds --region eu-west-1
	assert_stderr --partial 'AWS_ROLE_ARN is not'
}

@test "refresh: credentials expiring within 5 minutes are fetched again, others are not" {
	responder imds --expires-in 120
	export AWS_EC2_METADATA_DISABLED=false
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$PORT"
	run -0 --separate-stderr kin-creds --region eu-west-1 --calls 3
	assert_line 'source imds'
	run -0 grep -c '^ISSUE imds' "$LOG"
	assert_output 3

	responder ecs --expires-in 3600
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/c"
	run -0 --separate-stderr kin-creds --region eu-west-1 --calls 3
	assert_line 'source ecs'
	run -0 grep -c '^ISSUE ecs' "$LOG"
	assert_output 1

	responder sts --expires-in 60
	printf 'jwt' >"$BATS_TEST_TMPDIR/jwt"
	export AWS_WEB_IDENTITY_TOKEN_FILE="$BATS_TEST_TMPDIR/jwt"
	export AWS_ROLE_ARN='arn:aws:iam::123456789012:role/kin'
	export AWS_ENDPOINT_URL_STS="http://127.0.0.1:$PORT"
	run -0 --separate-stderr kin-creds --region eu-west-1 --calls 4
	assert_line 'source web-identity'
	run -0 grep -c '^ISSUE sts' "$LOG"
	assert_output 4
}

@test "region and endpoint precedence" {
	run -78 --separate-stderr kin-creds
	assert_stderr --partial 'no region'

	AWS_DEFAULT_REGION=us-west-1 run -78 --separate-stderr kin-creds
	assert_line 'region us-west-1'
	assert_line 'endpoint https://kinesis.us-west-1.amazonaws.com'

	export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-1
	export AWS_ENDPOINT_URL=http://127.0.0.1:1001
	run -78 --separate-stderr kin-creds
	assert_line 'region us-west-2'
	assert_line 'endpoint http://127.0.0.1:1001'

	export AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:1002/
	run -78 --separate-stderr kin-creds
	assert_line 'endpoint http://127.0.0.1:1002'

	run -78 --separate-stderr kin-creds --region eu-west-3 \
		--endpoint-url http://127.0.0.1:1003
	assert_line 'region eu-west-3'
	assert_line 'endpoint http://127.0.0.1:1003'
}
