# Sourced by the benches that need a Kinesis of their own (tests/bench/run
# runs *.sh only, so not this).  bench_server kinesis-local|kinesis-mock:
# a temporary directory in $tmp, removed at exit with the server stopped;
# the AWS environment kept from the user's files and instance metadata;
# the server started on 127.0.0.1 (a state dir in $tmp) and its endpoint,
# keys and region exported.  Needs $root, the checkout.
bench_server() {
	local env

	tmp=$(mktemp -d) || exit 1
	# shellcheck disable=SC2154 # root: set by the bench sourcing this
	BENCH_SERVER=$root/infra/local/$1
	# shellcheck disable=SC2016 # expanded when the trap runs
	trap '"$BENCH_SERVER" --state-dir "$tmp/server" stop 2>/dev/null; rm -rf "$tmp"' EXIT
	export NODE_NO_WARNINGS=1 AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING=1
	export KIN_ROOT=$root AWS_PAGER='' AWS_EC2_METADATA_DISABLED=true
	export AWS_CONFIG_FILE=$tmp/no-config AWS_SHARED_CREDENTIALS_FILE=$tmp/no-credentials
	unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
	env=$("$BENCH_SERVER" --state-dir "$tmp/server" start) || exit 1
	eval "$env"
	# kinesis-mock also sets AWS_CA_BUNDLE and KIN_MOCK_PLAIN_URL
	export AWS_ENDPOINT_URL_KINESIS AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION AWS_DEFAULT_REGION AWS_CA_BUNDLE KIN_MOCK_PLAIN_URL
}
