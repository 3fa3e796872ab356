#!/usr/bin/env bats
# TLS is verified, always: a TLS front (tests/responders/tls-front) before
# the local Kinesis, with a CA and certificates made here by openssl. kin
# refuses the front unless AWS_CA_BUNDLE names the CA, and refuses a
# certificate for another host name even then (issue 9, "TLS").

load helpers/common

FRONT="$BATS_TEST_DIRNAME/responders/tls-front"

# make_cert NAME SAN: a P-256 key and a server certificate signed by the CA.
make_cert() {
	local d=$BATS_FILE_TMPDIR/pki
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$1.key" -out "$d/$1.csr" -subj "/CN=$1" 2>/dev/null
	printf '%s\n' "subjectAltName=$2" 'basicConstraints=CA:FALSE' \
		'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$d/$1.ext"
	openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
}

# start_front NAME: a TLS front with NAME's certificate; exports
# <NAME>_PORT and <NAME>_LOG (one line per connection).
start_front() {
	local d=$BATS_FILE_TMPDIR/pki up=${1^^}
	: >"$d/$1.log"
	"$FRONT" --cert "$d/$1.pem" --key "$d/$1.key" --backend "$KIN_ENDPOINT" \
		--log "$d/$1.log" >"$d/$1.port" 3>&- &
	echo "$!" >>"$BATS_FILE_TMPDIR/front.pids"
	wait_for test -s "$d/$1.port"
	export "${up}_PORT=$(head -n1 "$d/$1.port")" "${up}_LOG=$d/$1.log"
}

setup_file() {
	local d=$BATS_FILE_TMPDIR/pki
	kinesis_start
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj '/CN=kin test CA' \
		-addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
	make_cert good 'IP:127.0.0.1,DNS:localhost'
	make_cert wrong 'DNS:wrong.example'
	export CA="$d/ca.pem"
	start_front good
	start_front wrong
	kinctl create tls-a 1
}

teardown_file() {
	local p
	if [ -f "$BATS_FILE_TMPDIR/front.pids" ]; then
		while read -r p; do kill "$p" 2>/dev/null || true; done <"$BATS_FILE_TMPDIR/front.pids"
	fi
	kinesis_stop
}

setup() { : >"$GOOD_LOG"; : >"$WRONG_LOG"; }

@test "without AWS_CA_BUNDLE the front's certificate is refused, and not retried" {
	AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$GOOD_PORT" \
		run -78 --separate-stderr kinctl list-streams
	assert_output ''
	assert_stderr "kinctl: cannot list streams: ListStreams: POST https://127.0.0.1:$GOOD_PORT/: SSL certificate problem: unable to get local issuer certificate"
	# the client hung up in the handshake, once: no retries of a TLS failure
	# (the front logs it as it sees the alert, maybe after kinctl is gone)
	wait_for grep -q HANDSHAKE-FAILED "$GOOD_LOG"
	run -0 cat "$GOOD_LOG"
	assert_output --regexp '^HANDSHAKE-FAILED .*UNKNOWN_CA$'
}

@test "with AWS_CA_BUNDLE naming the CA, requests go through (by address and by name)" {
	local host
	for host in 127.0.0.1 localhost; do
		AWS_CA_BUNDLE=$CA AWS_ENDPOINT_URL_KINESIS="https://$host:$GOOD_PORT" \
			run -0 --separate-stderr kinctl list-streams
		assert_line tls-a
	done
	AWS_CA_BUNDLE=$CA AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$GOOD_PORT" \
		run -0 --separate-stderr kinctl put tls-a k 'over TLS'
	run -0 --separate-stderr kinctl get tls-a shardId-000000000000
	assert_line 'over TLS'
	run -0 grep -c '^ACCEPT$' "$GOOD_LOG"
	refute_output 0
	run -1 grep HANDSHAKE-FAILED "$GOOD_LOG"
}

@test "a certificate for another host name is refused even with the CA" {
	AWS_CA_BUNDLE=$CA AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$WRONG_PORT" \
		run -78 --separate-stderr kinctl list-streams
	assert_output ''
	assert_stderr "kinctl: cannot list streams: ListStreams: POST https://127.0.0.1:$WRONG_PORT/: SSL: no alternative certificate subject name matches target host name '127.0.0.1'"
	AWS_CA_BUNDLE=$CA AWS_ENDPOINT_URL_KINESIS="https://localhost:$WRONG_PORT" \
		run -78 --separate-stderr kinctl list-streams
	assert_stderr --partial "target host name 'localhost'"
}

@test "a CA bundle that cannot be read is a configuration error, not a silent fallback" {
	local f
	for f in "$BATS_TEST_TMPDIR/no-such.pem" "$BATS_FILE_TMPDIR/pki/good.key"; do
		AWS_CA_BUNDLE=$f AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$GOOD_PORT" \
			run -78 --separate-stderr kinctl list-streams
		assert_stderr "kinctl: cannot list streams: ListStreams: POST https://127.0.0.1:$GOOD_PORT/: error setting certificate file: $f"
	done
}

@test "the programs verify too: kin-read and kin-write refuse the front without the CA, work with it" {
	local p
	for p in kin-read kin-write; do
		command -v "$p" >/dev/null || skip "$p is not built"
	done
	export AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$GOOD_PORT"
	run -78 --separate-stderr kin-read -L
	assert_stderr --partial 'SSL certificate problem: unable to get local issuer certificate'
	run -78 --separate-stderr kin-write -s tls-a <<<'{"n":1}'
	assert_stderr --partial 'SSL certificate problem: unable to get local issuer certificate'
	AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$WRONG_PORT" AWS_CA_BUNDLE=$CA \
		run -78 --separate-stderr kin-read -L
	assert_stderr --partial 'no alternative certificate subject name matches'

	# with the CA: kin-write's own sender (not only its ListShards) goes
	# through TLS, and kin-read reads the record back the same way
	export AWS_CA_BUNDLE=$CA
	run -0 --separate-stderr kin-read -L
	assert_line tls-a
	run -0 --separate-stderr kin-write -s tls-a -k k <<<'{"tls":"kin-write"}'
	run -0 --separate-stderr kin-read -s tls-a -o trim-horizon -e
	assert_line '{"tls":"kin-write"}'
}

@test "--no-verify-ssl: only for a loopback endpoint, and it says so" {
	export AWS_ENDPOINT_URL_KINESIS="https://127.0.0.1:$WRONG_PORT"
	# no CA and the wrong name: taken, with a warning on every run
	run -0 --separate-stderr kin-read -L --no-verify-ssl
	assert_line tls-a
	assert_stderr --partial 'kin-read: --no-verify-ssl: TLS certificates are NOT verified'
	# anywhere else it is refused before anything is sent
	run -78 --separate-stderr kin-read -L --no-verify-ssl --endpoint-url https://kinesis.example:443
	assert_stderr --partial "--no-verify-ssl: endpoint 'https://kinesis.example:443' is not a loopback address"
	run -78 --separate-stderr kin-read -L --no-verify-ssl --endpoint-url https://127.0.0.1.example:443
	assert_stderr --partial 'is not a loopback address'
	# kin-write too: its own sender as well as its ListShards
	run -0 --separate-stderr kin-write --no-verify-ssl -s tls-a -k k <<<'{"tls":"no-verify"}'
	assert_stderr --partial 'kin-write: --no-verify-ssl: TLS certificates are NOT verified'
	run -0 --separate-stderr kin-read --no-verify-ssl -s tls-a -o trim-horizon -e
	assert_line '{"tls":"no-verify"}'
	run -78 --separate-stderr kin-write --no-verify-ssl -s tls-a --endpoint-url https://kinesis.example <<<'{"n":1}'
	assert_stderr --partial 'is not a loopback address'
}
