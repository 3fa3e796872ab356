#!/usr/bin/env bats
# infra/local/install-deps against fake dpkg-query, node, npm, id, apt-get and
# apt-cache: a machine where nothing is installed shows every step, so a
# missing one shows up here and not on a user's machine. Nothing is really
# installed: the fakes only log what they were asked.

load helpers/common

DEPS="$KIN_ROOT/infra/local/install-deps"
ALL_PKGS='make gcc libc6-dev libcurl4-openssl-dev libssl-dev libjsmn-dev curl ca-certificates awscli bats bats-assert bats-support jq python3 tzdata git openssl parallel nodejs npm mandoc shellcheck cppcheck clang libclang-rt-14-dev valgrind'

setup() {
	fake="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$fake"
	export FAKE_LOG="$BATS_TEST_TMPDIR/log"
	: >"$FAKE_LOG"
	# FAKE_INSTALLED: packages dpkg knows ("all" for every one).
	cat >"$fake/dpkg-query" <<'EOF'
#!/bin/sh
for p; do :; done
case " ${FAKE_INSTALLED:-} " in
*" all "*|*" $p "*) echo 'install ok installed'; exit 0 ;;
esac
echo "dpkg-query: no packages found matching $p" >&2
exit 1
EOF
	# FAKE_NODE=1: the node and npm commands work.
	cat >"$fake/node" <<'EOF'
#!/bin/sh
[ "${FAKE_NODE:-0}" = 1 ] || { echo 'node: not found' >&2; exit 127; }
echo v20.0.0
EOF
	cat >"$fake/npm" <<'EOF'
#!/bin/sh
[ "${FAKE_NODE:-0}" = 1 ] || { echo 'npm: not found' >&2; exit 127; }
case $1 in
--version) echo 10.0.0 ;;
ci) echo "npm $* in $PWD" >>"$FAKE_LOG"; mkdir -p node_modules; : >node_modules/.package-lock.json ;;
*) exit 1 ;;
esac
EOF
	cat >"$fake/id" <<'EOF'
#!/bin/sh
echo "${FAKE_UID:-1000}"
EOF
	# FAKE_APT_FAIL=N: the first N installs fail.
	cat >"$fake/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_LOG"
if [ "$1" = install ] && [ "${FAKE_APT_FAIL:-0}" -gt 0 ]; then
	n=$(grep -c '^apt-get install' "$FAKE_LOG")
	[ "$n" -gt "$FAKE_APT_FAIL" ] || exit 100
fi
exit 0
EOF
	# FAKE_NOCAND: packages the (stale) package lists do not know.
	cat >"$fake/apt-cache" <<'EOF'
#!/bin/sh
p=$2
echo "$p:"
case " ${FAKE_NOCAND:-} " in
*" $p "*) echo '  Candidate: (none)' ;;
*) echo '  Candidate: 1.0-1' ;;
esac
EOF
	chmod +x "$fake"/*
	export PATH="$fake:/usr/bin:/bin"

	# An infra/local stand-in: a lockfile and no node_modules yet.
	export KIN_NPM_DIR="$BATS_TEST_TMPDIR/npm"
	mkdir -p "$KIN_NPM_DIR"
	echo '{}' >"$KIN_NPM_DIR/package.json"
	echo '{}' >"$KIN_NPM_DIR/package-lock.json"
	unset FAKE_INSTALLED FAKE_NODE FAKE_UID FAKE_APT_FAIL FAKE_NOCAND
}

# all_but PKG...: dpkg knows every package except these.
all_but() {
	local p out=''
	for p in $ALL_PKGS; do
		case " $* " in *" $p "*) ;; *) out+="$p " ;; esac
	done
	export FAKE_INSTALLED="$out"
}

npm_fresh() {
	mkdir -p "$KIN_NPM_DIR/node_modules"
	touch -d '2001-01-01' "$KIN_NPM_DIR/package-lock.json"
	touch "$KIN_NPM_DIR/node_modules/.package-lock.json"
}

@test "dry run on an empty machine lists every package and npm ci" {
	run -0 --separate-stderr "$DEPS" --dry-run
	assert_equal "${lines[0]}" "install-deps: would install Debian packages: $ALL_PKGS"
	assert_equal "${lines[1]}" "install-deps: would run npm ci in $KIN_NPM_DIR"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(cat "$FAKE_LOG")" ''
}

@test "dry run --bench adds the benchmark tools" {
	run -0 --separate-stderr "$DEPS" --dry-run --bench
	assert_line --index 0 "install-deps: would install Debian packages: $ALL_PKGS hyperfine miller python3-boto3"
}

@test "not root with packages missing: one clear line, nothing run" {
	run -1 --separate-stderr "$DEPS"
	assert_equal "$output" ''
	assert_equal "${#stderr_lines[@]}" 1
	assert_stderr "install-deps: missing Debian packages: $ALL_PKGS; run as root: sudo $DEPS"
	assert_equal "$(cat "$FAKE_LOG")" ''
}

@test "everything present: quiet, nothing run" {
	export FAKE_INSTALLED=all FAKE_NODE=1
	npm_fresh
	run -0 --separate-stderr "$DEPS"
	assert_equal "$output" ''
	assert_equal "$stderr" ''
	assert_equal "$(cat "$FAKE_LOG")" ''
	run -0 "$DEPS" --dry-run
	assert_output 'install-deps: nothing to install'
}

@test "working node and npm count, whatever package brought them" {
	all_but nodejs npm
	export FAKE_NODE=1
	npm_fresh
	run -0 "$DEPS" --dry-run
	assert_output 'install-deps: nothing to install'
}

@test "root: installs exactly what is missing, no update when lists know it" {
	all_but bats jq
	export FAKE_NODE=1 FAKE_UID=0
	npm_fresh
	run -0 --separate-stderr "$DEPS"
	assert_stderr --partial 'install-deps: installing Debian packages: bats jq'
	run -0 cat "$FAKE_LOG"
	assert_output 'apt-get install -y -q --no-install-recommends bats jq'
}

@test "root: apt-get update first when the lists lack a package" {
	all_but nodejs npm
	export FAKE_UID=0 FAKE_NOCAND=npm
	npm_fresh
	run -0 --separate-stderr "$DEPS"
	run -0 cat "$FAKE_LOG"
	assert_equal "${lines[0]}" 'apt-get update -q'
	assert_equal "${lines[1]}" 'apt-get install -y -q --no-install-recommends nodejs npm'
	assert_equal "${#lines[@]}" 2
}

@test "root: a failed install on stale lists updates once and retries" {
	all_but cppcheck
	export FAKE_NODE=1 FAKE_UID=0 FAKE_APT_FAIL=1
	npm_fresh
	run -0 --separate-stderr "$DEPS"
	run -0 cat "$FAKE_LOG"
	assert_equal "${lines[0]}" 'apt-get install -y -q --no-install-recommends cppcheck'
	assert_equal "${lines[1]}" 'apt-get update -q'
	assert_equal "${lines[2]}" 'apt-get install -y -q --no-install-recommends cppcheck'
}

@test "npm ci runs when node_modules is missing or older than the lockfile" {
	export FAKE_INSTALLED=all FAKE_NODE=1
	touch -d '2001-01-01' "$KIN_NPM_DIR/package-lock.json"
	run -0 --separate-stderr "$DEPS"
	assert_stderr "install-deps: npm ci in $KIN_NPM_DIR"
	run -0 cat "$FAKE_LOG"
	assert_output "npm ci --ignore-scripts --no-audit --no-fund --loglevel=error in $KIN_NPM_DIR"

	: >"$FAKE_LOG"
	run -0 "$DEPS"
	assert_equal "$(cat "$FAKE_LOG")" ''

	touch -d '2000-01-01' "$KIN_NPM_DIR/node_modules/.package-lock.json"
	run -0 "$DEPS" --dry-run
	assert_output "install-deps: would run npm ci in $KIN_NPM_DIR"
	run -0 "$DEPS"
	run -0 cat "$FAKE_LOG"
	assert_output --partial "npm ci"
}

@test "unknown option: usage error" {
	run -64 --separate-stderr "$DEPS" --frobnicate
	assert_stderr --partial 'unknown argument'
}
