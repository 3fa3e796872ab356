#!/usr/bin/env bats
# Disk faults, injected: tests/faults/eiofs.c (an LD_PRELOAD shim) makes
# open/write/fsync/rename/close of chosen paths fail with EIO or ENOSPC.
# First the shim itself, on dd, mv and sh; then each program whose file
# cannot be saved (kin-read's checkpoint, kin-write's dead letters,
# kin-window's state) says so and stops with a non-zero status, leaving the
# last good file as it was (issue 9, "disk faults").

load helpers/common

SHIM="$KIN_ROOT/build/plain/faults/libeiofs.so"

setup_file() {
	[ -f "$SHIM" ] || { echo "no $SHIM: run make" >&2; return 1; }
	kinesis_start
}
teardown_file() { kinesis_stop; }

setup() {
	D=$BATS_TEST_TMPDIR
	FLOG=$D/faults.log
	cd "$D" || return 1
}

# faulty OP GLOB [ERRNO [AFTER]] -- CMD...: run CMD with the shim failing OP
# on paths matching GLOB; the faults it injected go to $FLOG.
faulty() {
	local op=$1 glob=$2 errno=EIO after=1
	shift 2
	if [ "$1" != -- ]; then errno=$1; shift; fi
	if [ "$1" != -- ]; then after=$1; shift; fi
	shift
	# (an ASan build, KIN_TEST_BUILD=san, wants its runtime first)
	env LD_PRELOAD="$SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		KIN_FAULT_PATH="$glob" KIN_FAULT_OP="$op" \
		KIN_FAULT_ERRNO="$errno" KIN_FAULT_AFTER="$after" \
		KIN_FAULT_LOG="$FLOG" "$@"
}

# has_option PROG OPTION: PROG's --help lists OPTION; else skip, naming it.
has_option() {
	"$1" --help 2>&1 | grep -q -e "$2" ||
		skip "$1 has no $2 option yet"
}

# --- the shim ------------------------------------------------------------

@test "shim: each operation fails with the errno asked for, on matching paths only" {
	local op errno conv want
	while read -r op errno conv want; do
		rm -f "$D"/checkpoint.x "$FLOG"
		run -1 --separate-stderr faulty "$op" '*/checkpoint*' "$errno" -- \
			dd if=/dev/zero of=checkpoint.x bs=1 count=5 "conv=$conv" status=none
		assert_stderr --partial "$want"
		# (dd moves its output to fd 1, so close can fail twice)
		run -0 cat "$FLOG"
		assert_line --index 0 "eiofs: $op $D/checkpoint.x: $errno (call 1)"
	done <<-'EOF'
	write     EIO    notrunc   dd: error writing 'checkpoint.x': Input/output error
	write     ENOSPC notrunc   dd: error writing 'checkpoint.x': No space left on device
	fsync     ENOSPC fsync     dd: fsync failed for 'checkpoint.x': No space left on device
	fdatasync EIO    fdatasync dd: fdatasync failed for 'checkpoint.x': Input/output error
	close     EIO    notrunc   dd: closing output file 'checkpoint.x': Input/output error
	EOF

	# another path: untouched, nothing logged
	rm -f "$FLOG"
	run -0 --separate-stderr faulty write,fsync,close '*/checkpoint*' -- \
		dd if=/dev/zero of=other bs=1 count=5 conv=fsync status=none
	assert_equal "$(stat -c %s other)" 5
	[ ! -e "$FLOG" ]
	# no KIN_FAULT_PATH: the shim does nothing
	run -0 env LD_PRELOAD="$SHIM" KIN_FAULT_OP=all \
		dd if=/dev/zero of=checkpoint.y bs=1 count=5 conv=fsync status=none
}

@test "shim: KIN_FAULT_AFTER fails the Nth call on, KIN_FAULT_TIMES ends it" {
	# dd bs=1 writes a byte a call: the first two land, the third fails
	run -1 --separate-stderr faulty write '*/checkpoint*' ENOSPC 3 -- \
		dd if=/dev/zero of=checkpoint.x bs=1 count=5 status=none
	assert_equal "$(stat -c %s checkpoint.x)" 2
	run -0 cat "$FLOG"
	assert_output "eiofs: write $D/checkpoint.x: ENOSPC (call 3)"

	# open: the first of three creations fails, the next two work
	rm -f "$FLOG"
	# shellcheck disable=SC2016 # expanded by sh -c
	KIN_FAULT_TIMES=1 run -0 --separate-stderr faulty open '*/checkpoint.[abc]' -- \
		sh -c 'for f in a b c; do true >"checkpoint.$f" || echo "no $f"; done'
	assert_output 'no a'
	[ ! -e checkpoint.a ] && [ -e checkpoint.b ] && [ -e checkpoint.c ]
	run -0 cat "$FLOG"
	assert_output "eiofs: open $D/checkpoint.a: EIO (call 1)"
}

@test "shim: rename fails by either name, relative paths are made absolute" {
	echo data >tmpfile
	run -1 --separate-stderr faulty rename '*/checkpoint' -- mv tmpfile checkpoint
	assert_stderr --partial 'Input/output error'
	[ -e tmpfile ] && [ ! -e checkpoint ]
	run -0 cat "$FLOG"
	assert_output "eiofs: rename $D/checkpoint: EIO (call 1)"
	run -0 faulty rename '*/nothing' -- mv tmpfile checkpoint
	[ -e checkpoint ]
}

# --- kin-read --checkpoint -------------------------------------------------

# Three records in a new stream $RS, a good checkpoint after them, then one
# more record.
read_setup() {
	RS=fd-read-$BATS_TEST_NUMBER
	kinctl create "$RS" 1
	run -0 kinctl put "$RS" k '{"n":1}' '{"n":2}' '{"n":3}'
	run -0 --separate-stderr kin-read -s "$RS" -o trim-horizon -e \
		--checkpoint "$D/checkpoint"
	assert_equal "${#lines[@]}" 3
	cp "$D/checkpoint" "$D/checkpoint.good"
	run -0 kinctl put "$RS" k '{"n":4}'
}

# resumes_at_4: a clean run from the checkpoint prints record 4 again, so
# the failed save lost nothing.
resumes_at_4() {
	run -0 --separate-stderr kin-read -s "$RS" -e --checkpoint "$D/checkpoint"
	assert_output '{"n":4}'
	cp "$D/checkpoint.good" "$D/checkpoint"
}

@test "kin-read: a checkpoint that cannot be saved stops it with 74, the old one kept" {
	has_option kin-read --checkpoint
	read_setup
	local op glob want
	while read -r op glob want; do
		rm -f "$FLOG"
		run -74 --separate-stderr faulty "$op" "$glob" ENOSPC -- \
			kin-read -s "$RS" -e --checkpoint "$D/checkpoint"
		assert_stderr --regexp "^kin-read: $want.*checkpoint.*: No space left on device$"
		run -0 grep -c "^eiofs: $op " "$FLOG"
		# the last good checkpoint is still there, whole
		run -0 cmp "$D/checkpoint" "$D/checkpoint.good"
		resumes_at_4
	done <<-'EOF'
	open   */checkpoint.tmp*  cannot create
	write  */checkpoint*      cannot write
	fsync  */checkpoint*      cannot fsync
	close  */checkpoint*      cannot close
	rename */checkpoint*      cannot rename
	EOF
}

@test "kin-read: a save after records were printed fails: 74, and they are read again" {
	has_option kin-read --checkpoint
	read_setup
	# the second fsync of a checkpoint: the first is kin-read's save at
	# start (if it makes one), so this is the save that follows record 4
	# (with -e: at the end)
	run -74 --separate-stderr faulty fsync '*/checkpoint*' EIO 2 -- \
		kin-read -s "$RS" -e --checkpoint "$D/checkpoint"
	assert_output '{"n":4}'
	assert_stderr --partial "cannot fsync '$D/checkpoint.tmp."
	assert_stderr --partial ": Input/output error"
	resumes_at_4
}

@test "kin-read: a periodic checkpoint that cannot be saved stops it too" {
	has_option kin-read --checkpoint
	read_setup
	# no -e: kin-read follows the stream and must stop by itself when a
	# save every 100 ms fails (timeout's 124 would mean it read on)
	run -74 --separate-stderr timeout 20 env LD_PRELOAD="$SHIM" \
		KIN_FAULT_PATH='*/checkpoint*' KIN_FAULT_OP=fsync KIN_FAULT_AFTER=2 \
		KIN_FAULT_LOG="$FLOG" \
		kin-read -s "$RS" --checkpoint "$D/checkpoint" --checkpoint-interval 100ms
	assert_stderr --partial "cannot fsync '$D/checkpoint.tmp."
	assert_stderr --partial ": Input/output error"
	resumes_at_4
}

# --- kin-write --dead-letter ---------------------------------------------

@test "kin-write: a dead letter that cannot be written stops it non-zero" {
	has_option kin-write --dead-letter
	kinctl create fd-write 1 2>/dev/null || true
	printf '{"k":"a","n":1}\n{"n":2}\n{"k":"b","n":3}\n' >in
	# line 2 has no key: a dead letter
	run -1 --separate-stderr kin-write -s fd-write -K k --dead-letter "$D/dead-letter" in
	run -0 cat "$D/dead-letter"
	assert_output --partial '"line":2'

	local op st
	for op in open write fsync close; do
		rm -f "$D/dead-letter" "$FLOG"
		run --separate-stderr faulty "$op" '*/dead-letter' ENOSPC -- \
			kin-write -s fd-write -K k --dead-letter "$D/dead-letter" in
		st=$status
		# 74: the dead-letter file could not be written (kin-write(1));
		# an open that fails says 78 today
		if [ "$op" = open ]; then [ "$st" -ne 0 ]; else assert_equal "$st" 74; fi
		assert_stderr --regexp "kin-write: cannot (open|write) dead-letter file '$D/dead-letter': No space left on device"
		run -0 grep -c "^eiofs: $op " "$FLOG"
	done
}

# --- kin-window --state ----------------------------------------------------

@test "kin-window: state that cannot be saved on a barrier stops it with 74, barrier held back" {
	has_option kin-window --state
	local rs=$'\x1e' op
	# a good state file from barrier b1 (no end: exits 75, windows kept)
	printf '{"k":"a","t":1,"v":1}\n%s{"kin":"barrier","id":"b1"}\n' "$rs" >in1
	run -75 --separate-stderr kin-window -k k -t t --time-format epoch --size 10s \
		--state "$D/state" in1
	run -0 grep -c '"barrier":"b1"' "$D/state"
	cp "$D/state" "$D/state.good"

	# then the save on barrier b2 fails
	printf '{"k":"a","t":2,"v":2}\n%s{"kin":"barrier","id":"b2"}\n%s{"kin":"end"}\n' \
		"$rs" "$rs" >in2
	for op in open write fsync rename close; do
		cp "$D/state.good" "$D/state"
		rm -f "$FLOG"
		run -74 --separate-stderr faulty "$op" '*/state.tmp*' ENOSPC -- \
			kin-window -k k -t t --time-format epoch --size 10s --state "$D/state" in2
		assert_stderr --regexp "^kin-window: cannot write state '$D/state[^']*': .*No space left on device$"
		# neither the barrier nor anything after it went on
		assert_output ''
		run -0 grep -c "^eiofs: $op " "$FLOG"
		# the last good state is still there: a clean run loads it (the
		# record at t=1 from b1 counts in the window beside t=2's)
		run -0 --separate-stderr kin-window -k k -t t --time-format epoch \
			--size 10s --state "$D/state" in2
		assert_line '{"key":"a","start":"1970-01-01T00:00:00.000Z","end":"1970-01-01T00:00:10.000Z","count":2}'
		rm -f "$D/state.prev"
	done
}
