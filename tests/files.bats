#!/usr/bin/env bats
# Private files: checkpoints, state, dead letters, kin-window's --late and
# --errors files and metrics files are created 0600 (even under umask 022),
# and a symbolic link planted at such a path is refused, non-zero, with its
# target left untouched.

load helpers/common

setup_file() {
	kinesis_start
}

teardown_file() {
	kinesis_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	umask 022
	echo precious >target
}

# mode_is MODE FILE...
mode_is() {
	local m=$1 f
	shift
	for f in "$@"; do
		[ -e "$f" ] || { echo "no file '$f'" >&2; return 1; }
		[ "$(stat -c %a "$f")" = "$m" ] ||
			{ echo "'$f' is $(stat -c %a "$f"), not $m" >&2; return 1; }
	done
}

# untouched: the link's target still holds what it did
untouched() {
	assert_equal "$(cat target)" precious
}

window_input() {
	printf '%s\n' \
		'{"T":"2021-03-04T10:00:05Z","K":"A","P":1}' \
		'{"T":"2021-03-04T10:01:05Z","K":"A","P":2}' \
		'not json' \
		'{"T":"2021-03-04T10:00:20Z","K":"A","P":3}' >in.ndjson
	# a barrier makes kin-window save its state; the end lets it finish
	printf '\036{"kin":"barrier","id":"b-1"}\n\036{"kin":"end"}\n' >>in.ndjson
}

@test "kin-window: --state, --late, --errors and --metrics files are 0600" {
	window_input
	# 1: the bad line went to --errors
	run -1 --separate-stderr kin-window -t T -k K --size 60s -a sum:P \
		--state st --late late.out --errors err.out --metrics m.out in.ndjson
	mode_is 600 st late.out err.out m.out
	# no temporary file is left behind
	run -0 find . -name '*.tmp*'
	assert_output ''
}

@test "kin-window: a symbolic link at --state, --late, --errors or --metrics is refused" {
	local opt
	window_input
	for opt in --state --late --errors --metrics; do
		rm -f link
		ln -s target link
		run --separate-stderr kin-window -t T -k K --size 60s -a sum:P \
			"$opt" link in.ndjson
		[ "$status" -ne 0 ]
		assert_stderr --partial "symbolic link"
		untouched
		[ -L link ]
	done
}

@test "kin-read: --checkpoint and --metrics files are 0600; a link at the checkpoint is refused" {
	kinctl create files-r 1
	run -0 kinctl put files-r k '{"n":1}' '{"n":2}'
	run -0 --separate-stderr kin-read -s files-r -o trim-horizon -e \
		--checkpoint ck --metrics m.out
	assert_equal "${#lines[@]}" 2
	mode_is 600 ck m.out
	run -0 find . -name '*.tmp*'
	assert_output ''
	ln -s target link
	run --separate-stderr kin-read -s files-r -o trim-horizon -e --checkpoint link
	[ "$status" -ne 0 ]
	assert_stderr --partial "symbolic link"
	untouched
	[ -L link ]
}

@test "kin-write: --dead-letter and --metrics files are 0600; a link at the dead-letter path is refused" {
	kinctl create files-w 1
	printf '%s\n' '{"n":1}' 'not json' >in
	run -1 --separate-stderr kin-write -s files-w -K TICKER --dead-letter dl.jsonl \
		--metrics m.out in
	mode_is 600 dl.jsonl m.out
	ln -s target link
	run --separate-stderr kin-write -s files-w -K TICKER --dead-letter link in
	[ "$status" -ne 0 ]
	assert_stderr --partial "symbolic link"
	untouched
	[ -L link ]
}

@test "kin-write: an existing dead-letter file keeps its mode" {
	kinctl create files-w2 1
	printf '%s\n' 'not json' >in
	: >dl.jsonl
	chmod 640 dl.jsonl
	run -1 --separate-stderr kin-write -s files-w2 -K TICKER --dead-letter dl.jsonl in
	mode_is 640 dl.jsonl
	[ -s dl.jsonl ]
}

@test "kin-write: its --checkpoint file is 0600; a link there is refused" {
	kinctl create files-c 1
	kinctl create files-c2 1
	run -0 kinctl put files-c k '{"n":1}' '{"n":2}'
	# kin-read's output with barriers, as kin-write sees it in a pipeline
	kin-read -s files-c -o trim-horizon -e --checkpoint rck \
		--barrier-interval 50ms >r.out 2>r.err
	grep -q '"barrier"' r.out
	run -0 --separate-stderr kin-write -s files-c2 --checkpoint ck r.out
	mode_is 600 ck
	run -0 find . -name '*.tmp*'
	assert_output ''
	ln -s target link
	run --separate-stderr kin-write -s files-c2 --checkpoint link r.out
	[ "$status" -ne 0 ]
	assert_stderr --partial "symbolic link"
	untouched
	[ -L link ]
}
