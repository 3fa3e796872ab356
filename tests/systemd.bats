#!/usr/bin/env bats
# infra/systemd: the unit templates carry the directives the design asks for,
# `systemd-analyze verify` accepts them as install.sh installs them, their
# hardening rates 2.0 or better, and the ExecStart/ExecReload scripts behave:
# SIGHUP reaches every stage while bash lives on, SIGTERM ends the pipe
# cleanly, and the exit status names the stage that caused the failure.
# The scripts run here under setsid, as systemd runs them, with fake stages.

load helpers/common

UNITS="$KIN_ROOT/infra/systemd"
SERVICES=(kin-pipeline@.service kin-producer@.service kin-replay@.service)

setup_file() {
	# An installed release, from the tarball `make dist` makes.
	local dist="$BATS_FILE_TMPDIR/dist" rel
	rel=$("$KIN_ROOT/infra/dist/mkdist" --version 0.0.0 --out "$dist")
	mkdir -p "$BATS_FILE_TMPDIR/rel"
	tar -xzf "$rel" -C "$BATS_FILE_TMPDIR/rel"
	rel=${rel##*/}
	"$BATS_FILE_TMPDIR/rel/${rel%.tar.gz}/install.sh" --prefix "$BATS_FILE_TMPDIR/usr" \
		--unitdir "$BATS_FILE_TMPDIR/units" --sysconfdir "$BATS_FILE_TMPDIR/etc" \
		--no-reload >/dev/null
}

# directive UNIT KEY: the values of KEY= in UNIT, one per line.
directive() { sed -n "s/^$2=//p" "$UNITS/$1"; }

@test "every service has the directives that keep it restartable and confined" {
	local u want
	for u in "${SERVICES[@]}"; do
		for want in 'EnvironmentFile=/etc/kin/%i.env' 'DynamicUser=yes' \
			'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
			'CapabilityBoundingSet=' 'ProtectHome=yes' 'PrivateDevices=yes' \
			'RestrictSUIDSGID=yes' 'MemoryDenyWriteExecute=yes' \
			'SystemCallFilter=@system-service'; do
			grep -qxF "$want" "$UNITS/$u" || fail "$u lacks $want"
		done
		[ "$(directive "$u" StateDirectory)" != '' ] || fail "$u has no StateDirectory"
		directive "$u" ExecStart | grep -q '^/bin/bash -o pipefail -c ' ||
			fail "$u: ExecStart is not bash -o pipefail -c"
	done
	for u in kin-pipeline@.service kin-producer@.service; do
		[ "$(directive "$u" Restart)" = on-failure ] || fail "$u: Restart"
		[ "$(directive "$u" RestartPreventExitStatus)" = '64 65 78' ] || fail "$u: RestartPreventExitStatus"
		# shellcheck disable=SC2016 # the unit's text, not an expansion
		directive "$u" ExecReload | grep -qxF '/bin/kill -s HUP -- -${MAINPID}' ||
			fail "$u: ExecReload does not signal the process group"
	done
	[ "$(directive kin-pipeline@.service StateDirectory)" = 'kin/%i' ]
}

@test "the pipeline unit runs kin-read | kin-window | kin-write with barriers and state" {
	local script
	script=$(sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$UNITS/kin-pipeline@.service" | sed -n 's/^ExecStart=//p')
	[[ $script == *'kin-read '*'--checkpoint '*'--barrier-interval '*'| /usr/local/bin/kin-window '*'--state '*'| /usr/local/bin/kin-write '*'--checkpoint '* ]] ||
		fail "unexpected ExecStart: $script"
}

@test "the replay timer is nightly and catches up after downtime" {
	run -0 sed -n 's/^OnCalendar=//p' "$UNITS/kin-replay@.timer"
	assert_output '*-*-* 01:30:00 UTC'
	grep -qx 'Persistent=true' "$UNITS/kin-replay@.timer"
}

@test "systemd-analyze verify accepts the installed units" {
	command -v systemd-analyze >/dev/null || skip 'systemd-analyze not installed (no systemd here)'
	local u
	cd "$BATS_FILE_TMPDIR/units"
	for u in kin-pipeline@t.service kin-producer@t.service kin-replay@t.service kin-replay@t.timer; do
		# --man=no: the pages of programs still being written need not exist
		run --separate-stderr systemd-analyze verify --man=no "./$u"
		[ "$status" = 0 ] && [ -z "$stderr" ] || fail "$u: status $status: $stderr"
	done
}

@test "systemd-analyze security rates each service's exposure at 2.0 or less" {
	command -v systemd-analyze >/dev/null || skip 'systemd-analyze not installed (no systemd here)'
	local u
	cd "$BATS_FILE_TMPDIR/units"
	for u in kin-pipeline@t.service kin-producer@t.service kin-replay@t.service; do
		# the threshold is the exposure times ten
		run systemd-analyze security --offline=yes --threshold=20 "./$u"
		[ "$status" = 0 ] || fail "$u: ${lines[-1]}"
	done
}

@test "install.sh writes its prefix into the units and the programs run" {
	local p="$BATS_FILE_TMPDIR/usr"
	grep -q "^ExecStartPre=$p/libexec/kin/kin-service config " "$BATS_FILE_TMPDIR/units/kin-pipeline@.service"
	run -1 grep -l /usr/local/ "$BATS_FILE_TMPDIR"/units/*
	run -0 "$p/bin/kin-read" --version
	[ -f "$BATS_FILE_TMPDIR/etc/kin/kin.env.example" ]
}

@test "kin-service config splits the env file into each program's --config" {
	local d="$BATS_TEST_TMPDIR/run"
	cat >"$BATS_TEST_TMPDIR/a.env" <<-'END'
	# comment
	AWS_REGION=eu-west-1
	inputStreamName = in-stream
	outputStreamName="out-stream"
	AggregationEnabled=true
	Partition=
	KIN_WINDOW_ARGS=--size 60s
	END
	run -0 "$UNITS/kin-service" config "$BATS_TEST_TMPDIR/a.env" "$d"
	run -0 grep -v '^#' "$d/read.conf"
	assert_output 'inputStreamName=in-stream'
	run -0 grep -v '^#' "$d/write.conf"
	assert_output $'outputStreamName=out-stream\nAggregationEnabled=true'
	run -0 grep -v '^#' "$d/producer.conf"
	assert_output 'stream=in-stream'
	run -1 grep -v '^#' "$d/window.conf"
	# the example the release ships is complete
	run -0 "$UNITS/kin-service" config "$UNITS/kin.env.example" "$d"
}

@test "kin-service config refuses an env file it cannot use, with status 78" {
	printf 'outputStreamName=x\n' >"$BATS_TEST_TMPDIR/b.env"
	run -78 --separate-stderr "$UNITS/kin-service" config "$BATS_TEST_TMPDIR/b.env" "$BATS_TEST_TMPDIR/r"
	assert_stderr "kin-service: $BATS_TEST_TMPDIR/b.env: inputStreamName is not set"
	printf 'inputStreamName=x\nnot a line\n' >"$BATS_TEST_TMPDIR/c.env"
	run -78 --separate-stderr "$UNITS/kin-service" config "$BATS_TEST_TMPDIR/c.env" "$BATS_TEST_TMPDIR/r"
	assert_stderr "kin-service: $BATS_TEST_TMPDIR/c.env:2: expected KEY=VALUE"
	run -78 "$UNITS/kin-service" config "$BATS_TEST_TMPDIR/none.env" "$BATS_TEST_TMPDIR/r"
	run -64 "$UNITS/kin-service" config
}

@test "kin-service status picks the status that explains the pipe's end" {
	local row want
	# PIPESTATUS -> unit status
	for row in '0 0 0:0' '141 0 78:78' '0 75 65:65' '64 1 0:64' '141 75 0:75' \
		'0 141 0:141' '1 0 2:1' '141 141 0:141'; do
		want=${row#*:}
		# shellcheck disable=SC2086 # the row is a list of statuses
		run "$UNITS/kin-service" status ${row%:*}
		[ "$status" = "$want" ] || fail "statuses ${row%:*}: got $status, want $want"
	done
}

# --- the ExecStart script itself, with fake stages -----------------------

# unit_cmd UNIT KEY [N]: the Nth KEY= command line of UNIT (continuations
# joined, $$ -> $ and %% -> % as systemd does, /usr/local -> $fake).
unit_cmd() {
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$UNITS/$1" |
		sed -n "s/^$2=//p" | sed -n "${3:-1}p" |
		sed -e 's/\$\$/$/g' -e 's/%%/%/g' -e "s|/usr/local/|$fake/|g"
}

# A fake stage logs its start, each SIGHUP and SIGTERM to $FAKE_LOG; exits 0
# on SIGTERM. FAKE_EXIT_<name>=N: exit N at once. FAKE_EOF_EXIT_<name>=N:
# read stdin to its end, then exit N.
make_fakes() {
	fake="$BATS_TEST_TMPDIR/fake"
	mkdir -p "$fake/bin" "$fake/libexec/kin"
	cp "$UNITS/kin-service" "$fake/libexec/kin/"
	cat >"$fake/bin/stage" <<-'END'
	#!/usr/bin/env python3
	import os, signal, sys
	name = os.path.basename(sys.argv[0]).replace('-', '_')
	def log(what):
	    with open(os.environ['FAKE_LOG'], 'a') as f:
	        f.write(name + ' ' + what + '\n')
	signal.signal(signal.SIGHUP, lambda s, f: log('hup'))
	def term(s, f):
	    log('term')
	    sys.exit(0)
	signal.signal(signal.SIGTERM, term)
	log('up')
	log('args ' + ' '.join(sys.argv[1:]))
	if 'FAKE_EXIT_' + name in os.environ:
	    sys.exit(int(os.environ['FAKE_EXIT_' + name]))
	if 'FAKE_EOF_EXIT_' + name in os.environ:
	    while os.read(0, 65536):
	        pass
	    sys.exit(int(os.environ['FAKE_EOF_EXIT_' + name]))
	while True:
	    signal.pause()
	END
	chmod +x "$fake/bin/stage"
	local p
	for p in kin-read kin-window kin-write trade-gen; do
		ln -s stage "$fake/bin/$p"
	done
	export FAKE_LOG="$BATS_TEST_TMPDIR/log"
	: >"$FAKE_LOG"
	export RUNTIME_DIRECTORY="$BATS_TEST_TMPDIR/run" STATE_DIRECTORY="$BATS_TEST_TMPDIR/state" \
		LOGS_DIRECTORY="$BATS_TEST_TMPDIR/logs"
	mkdir -p "$RUNTIME_DIRECTORY" "$STATE_DIRECTORY" "$LOGS_DIRECTORY"
}

# start_unit UNIT: run UNIT's ExecStart as systemd would (own session,
# bash as the main process); sets mainpid; $BATS_TEST_TMPDIR/status gets
# the exit status and $BATS_TEST_TMPDIR/stderr what it said.
start_unit() {
	local script
	script=$(unit_cmd "$1" ExecStart)
	script=${script#/bin/bash -o pipefail -c \'}
	script=${script%\'}
	rm -f "$BATS_TEST_TMPDIR/status" "$BATS_TEST_TMPDIR/pid"
	(
		st=0 # bats runs tests under set -e
		setsid /bin/bash -o pipefail -c "echo \$\$ >'$BATS_TEST_TMPDIR/pid'; $script" </dev/null 2>"$BATS_TEST_TMPDIR/stderr" || st=$?
		echo "$st" >"$BATS_TEST_TMPDIR/status"
	) 3>&- &
	wait_for test -s "$BATS_TEST_TMPDIR/pid"
	mainpid=$(cat "$BATS_TEST_TMPDIR/pid")
}

count() { local n; n=$(grep -c "$1" "$FAKE_LOG"); [ "$n" -ge "$2" ]; }
ended() { [ -s "$BATS_TEST_TMPDIR/status" ]; }

teardown() {
	if [ -n "${mainpid:-}" ] && kill -0 "$mainpid" 2>/dev/null; then
		kill -KILL -- "-$mainpid" 2>/dev/null || true
	fi
	return 0
}

@test "pipeline unit: reload sends SIGHUP to each stage and bash survives; stop ends it with 0" {
	make_fakes
	start_unit kin-pipeline@.service
	wait_for count ' up$' 3
	# ExecReload's second command, with MAINPID as systemd sets it
	local reload
	reload=$(unit_cmd kin-pipeline@.service ExecReload 2)
	MAINPID=$mainpid eval "${reload//\$\{MAINPID\}/\$MAINPID}"
	wait_for count ' hup$' 3
	run -0 grep -v ' args ' "$FAKE_LOG"
	run -0 sort <<<"$output"
	assert_output $'kin_read hup\nkin_read up\nkin_window hup\nkin_window up\nkin_write hup\nkin_write up'
	kill -0 "$mainpid"
	ended && fail 'the unit ended on SIGHUP'
	# systemd's stop: SIGTERM to every process of the unit
	kill -TERM -- "-$mainpid"
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 0
}

@test "pipeline unit: a stage's config error (78) is the unit's status, not its neighbours' EOF errors" {
	make_fakes
	export FAKE_EXIT_kin_read=78 FAKE_EOF_EXIT_kin_window=75 FAKE_EOF_EXIT_kin_write=0
	start_unit kin-pipeline@.service
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 78
}

@test "pipeline unit: a stage that fails makes the unit fail (pipefail)" {
	make_fakes
	export FAKE_EXIT_kin_window=1 FAKE_EOF_EXIT_kin_write=0
	start_unit kin-pipeline@.service
	# kin-read only ends when its stdout's reader is gone; TERM only once
	# it has its handler (logged before 'up'), or it dies of the signal
	wait_for count 'kin_window up' 1
	wait_for count 'kin_read up' 1
	kill -TERM -- "-$mainpid"
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 1
}

@test "producer unit: trade-gen | kin-write, reload and stop" {
	make_fakes
	start_unit kin-producer@.service
	wait_for count ' up$' 2
	kill -s HUP -- "-$mainpid"
	wait_for count ' hup$' 2
	kill -TERM -- "-$mainpid"
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 0
}

@test "replay unit: sends the day's file, or fails with 66 when there is none" {
	make_fakes
	export KIN_REPLAY_DIR="$BATS_TEST_TMPDIR/replay" KIN_REPLAY_DAY=2026-01-02 FAKE_EOF_EXIT_kin_write=0
	mkdir -p "$KIN_REPLAY_DIR"
	start_unit kin-replay@.service
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 66
	run -0 cat "$BATS_TEST_TMPDIR/stderr"
	assert_output "kin-replay: no file for 2026-01-02: $KIN_REPLAY_DIR/2026-01-02.ndjson"
	printf '{"a":1}\n' | gzip >"$KIN_REPLAY_DIR/2026-01-02.ndjson.gz"
	start_unit kin-replay@.service
	wait_for ended
	run -0 cat "$BATS_TEST_TMPDIR/status"
	assert_output 0
	grep -q 'kin_write args --config .*/replay.conf --dead-letter .*/dead-letters-2026-01-02.ndjson' "$FAKE_LOG"
}
