# Sourced by the lease benches (leases.sh, leases-scale.sh), after they set
# $root: a scratch directory ($tmp), a local Kinesis with DynamoDB
# (kinesalite + dynalite on 127.0.0.1, state in $tmp/kinesis) and its
# environment exported, a clean AWS set-up, and a trap that kills the pids
# listed in $pids, stops the server and removes $tmp at exit.
# shellcheck shell=bash disable=SC2154 # $root: set by the script that sources this
tmp=$(mktemp -d) || exit 1
state=$tmp/kinesis
pids=()
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	"$root/infra/local/kinesis-local" --state-dir "$state" stop 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$tmp/no-config AWS_SHARED_CREDENTIALS_FILE=$tmp/no-credentials
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN

env=$("$root/infra/local/kinesis-local" --state-dir "$state" start --dynamo) || exit 1
eval "$env"
export AWS_ENDPOINT_URL_KINESIS AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID \
	AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION
