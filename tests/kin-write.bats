#!/usr/bin/env bats
# kin-write against a real kinesalite, read back with the Debian AWS CLI:
# round trips of trade lines (random keys and -K TICKER), KPL aggregation
# checked by a decoder written here from the format description, faults
# through tests/faultproxy (nothing lost, counts add up, dead letters only
# past the TTL), bad input, exit statuses, the man page's examples.

load helpers/common

MAN="$KIN_ROOT/man/kin-write.1"
FAULTPROXY="$KIN_ROOT/tests/faultproxy"

setup_file() {
	kinesis_start
	export T="$BATS_FILE_TMPDIR/tools"
	mkdir -p "$T"
	write_tools
	trade-gen --seed 7 --simulated --start 2026-11-25T09:30:00Z -n 100000 \
		--fields SEQ >"$BATS_FILE_TMPDIR/trades100k"
}
teardown_file() { kinesis_stop; }

setup() {
	BG=()
	cd "$BATS_TEST_TMPDIR" || return 1
}
teardown() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	return 0
}

# ---- tools -----------------------------------------------------------------

write_tools() {
	# readback.py STREAM: every record of every shard, with the AWS CLI,
	# as JSON lines {shard, lo, hi, key, seq, data_b64}, shard by shard in
	# order.
	cat >"$T/readback.py" <<'EOF'
import json, os, subprocess, sys
def aws(*a):
    out = subprocess.run([os.environ["AWS"], "--endpoint-url",
        os.environ["AWS_ENDPOINT_URL_KINESIS"], "--no-cli-pager", "--output",
        "json", "kinesis", *a], check=True, capture_output=True,
        text=True).stdout
    return json.loads(out) if out.strip() else {}
stream = sys.argv[1]
for sh in aws("list-shards", "--stream-name", stream)["Shards"]:
    it = aws("get-shard-iterator", "--stream-name", stream, "--shard-id",
             sh["ShardId"], "--shard-iterator-type",
             "TRIM_HORIZON")["ShardIterator"]
    while it:
        r = aws("get-records", "--shard-iterator", it, "--limit", "10000")
        for rec in r["Records"]:
            print(json.dumps({"shard": sh["ShardId"],
                "lo": sh["HashKeyRange"]["StartingHashKey"],
                "hi": sh["HashKeyRange"]["EndingHashKey"],
                "key": rec["PartitionKey"], "seq": rec["SequenceNumber"],
                "data_b64": rec["Data"]}))
        if not r["Records"]:
            break
        it = r.get("NextShardIterator")
EOF
	# verify.py: KPL de-aggregation written from the format description
	# (aggregation-format.md of amazon-kinesis-producer), independent of
	# kin-write's encoder, and the checks the tests make.
	cat >"$T/verify.py" <<'EOF'
import base64, collections, hashlib, json, sys
MAGIC = b"\xf3\x89\x9a\xc2"

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i

def fields(b):
    """(field number, wire type, value) of a protobuf message."""
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        f, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]; i += n
            if len(v) != n:
                raise ValueError("truncated field %d" % f)
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v

def deagg(data):
    """User records (key, ehk or None, data) of a KPL record, or None when
    data is not one (no magic, or a wrong MD5)."""
    if len(data) < 20 or data[:4] != MAGIC:
        return None
    pb, md5 = data[4:-16], data[-16:]
    if hashlib.md5(pb).digest() != md5:
        return None
    keys, ehks, out = [], [], []
    for f, wt, v in fields(pb):
        if f == 1 and wt == 2: keys.append(v.decode())
        elif f == 2 and wt == 2: ehks.append(v.decode())
        elif f == 3 and wt == 2:
            rec = {}
            for g, wt2, w in fields(v):
                rec[g] = w
            assert 1 in rec and 3 in rec, "record without key index or data"
            out.append((keys[rec[1]] if rec[1] < len(keys) else None,
                        ehks[rec[2]] if 2 in rec else None, rec[3]))
        else:
            raise ValueError("unexpected field %d" % f)
    for k, e, d in out:
        if k is None:
            raise ValueError("key index out of the table")
    return out

def users(path):
    """Every user record read back: dicts with shard range, outer record,
    key, ehk, data (bytes), agg (True when it came out of an aggregate)."""
    out = []
    for line in open(path):
        r = json.loads(line)
        data = base64.b64decode(r["data_b64"])
        sub = deagg(data)
        if sub is None:
            out.append(dict(r, data=data, ehk=None, agg=False, n=1))
        else:
            for k, e, d in sub:
                out.append(dict(r, key=k, ehk=e, data=d, agg=True,
                                outer_key=r["key"], n=len(sub)))
    return out

def lines(path, delim=b"\n"):
    b = open(path, "rb").read()
    if b.endswith(delim): b = b[:-len(delim)]
    return b.split(delim) if b else []

def main():
    cmd = sys.argv[1]
    if cmd == "same":            # same INPUT READBACK: multisets equal
        want = collections.Counter(lines(sys.argv[2]))
        got = collections.Counter(u["data"] for u in users(sys.argv[3]))
        if want != got:
            print("missing %d, extra %d, e.g. missing %r extra %r" % (
                sum((want - got).values()), sum((got - want).values()),
                list((want - got))[:2], list((got - want))[:2]))
            sys.exit(1)
        print("same %d" % sum(got.values()))
    elif cmd == "atleast":       # atleast INPUT READBACK: nothing lost
        want = collections.Counter(lines(sys.argv[2]))
        got = collections.Counter(u["data"] for u in users(sys.argv[3]))
        lost = [k for k in want if got[k] < want[k]]
        if lost:
            print("lost %d, e.g. %r" % (len(lost), lost[:3]))
            sys.exit(1)
        print("all %d there, %d duplicates" % (sum(want.values()),
              sum(got.values()) - sum(want.values())))
    elif cmd == "order":         # order READBACK FIELD: per key one shard,
        shard, last, bad = {}, {}, 0   # SEQ increasing
        for u in users(sys.argv[2]):
            r = json.loads(u["data"])
            k = r[sys.argv[3]]
            if shard.setdefault(k, u["shard"]) != u["shard"]:
                print("key %s on %s and %s" % (k, shard[k], u["shard"]))
                sys.exit(1)
            if r["SEQ"] <= last.get(k, -1):
                bad += 1
            last[k] = r["SEQ"]
        if bad:
            print("%d records out of order" % bad)
            sys.exit(1)
        print("ordered %d keys" % len(last))
    elif cmd == "inrange":       # inrange READBACK: each user record's hash
        for u in users(sys.argv[2]):     # key lies in its shard's range
            h = int(u["ehk"]) if u["ehk"] else int.from_bytes(
                hashlib.md5(u["key"].encode()).digest(), "big")
            if not int(u["lo"]) <= h <= int(u["hi"]):
                print("record with key %r (hash %d) on %s [%s, %s]" % (
                    u["key"], h, u["shard"], u["lo"], u["hi"]))
                sys.exit(1)
        print("in range")
    elif cmd == "stats":         # stats READBACK: kinesis records, users,
        us = users(sys.argv[2])  # aggregates, keys of aggregates
        outer = sum(1 for _ in open(sys.argv[2]))
        aggs = {(u["shard"], u["seq"]) for u in us if u["agg"]}
        keys = {u["outer_key"] for u in us if u["agg"]}
        print(json.dumps({"records": outer, "users": len(us),
                          "aggregates": len(aggs), "agg_keys": sorted(keys),
                          "max_size": max([len(base64.b64decode(
                              json.loads(l)["data_b64"]))
                              for l in open(sys.argv[2])] or [0])}))
    elif cmd == "dump":          # dump READBACK: key TAB data, one a line
        for u in users(sys.argv[2]):
            sys.stdout.buffer.write(u["key"].encode() + b"\t" +
                                    u["data"] + b"\n")
main()
EOF
}

# mkstream NAME SHARDS
mkstream() {
	kinctl create "$1" "$2" >/dev/null
}

# readback STREAM: the stream's records into rb.jsonl
readback() {
	/usr/bin/python3 "$T/readback.py" "$1" >rb.jsonl
}

verify() { /usr/bin/python3 "$T/verify.py" "$@"; }

# start_proxy: tests/faultproxy in front of the local server, rules from
# ./rules (changed while it runs, it reloads), faults into ./faults.log;
# exports PROXY (its URL).
start_proxy() {
	touch rules
	: >faults.log
	"$FAULTPROXY" --upstream "$KIN_ENDPOINT" --port-file port \
		--log faults.log --rules rules --seed 11 3>&- &
	BG+=($!)
	wait_for test -s port
	PROXY="http://127.0.0.1:$(cat port)"
}

# ---- the manual and usage --------------------------------------------------

@test "--help mirrors the man page SYNOPSIS; -V prints the version" {
	run -0 --separate-stderr kin-write -h
	got=$(sed '1s/^usage: //; s/^       //' <<<"$output" | tr -s ' \n' '  ' | sed 's/ $//')
	want=$(mandoc -Tascii -O width=200 "$MAN" | col -b |
		sed -n '/^SYNOPSIS/,/^DESCRIPTION/{/^[A-Z]/d;p}' | tr -s ' \n\t' '   ' |
		sed 's/^ //; s/ $//')
	assert_equal "$got" "$want"
	run -0 --separate-stderr kin-write -V
	assert_output --regexp '^kin-write [0-9]+\.[0-9]+\.[0-9]+$'
	run -0 mandoc -Tlint -Wwarning "$MAN"
	assert_output ''
}

@test "usage errors exit 64 with a one-line reason" {
	run -64 --separate-stderr kin-write
	assert_stderr --partial 'kin-write: no stream: give -s/--stream'
	run -64 --separate-stderr kin-write -s x -k a -K b
	assert_stderr_line 'kin-write: -k, -K and --random-key exclude each other'
	run -64 --separate-stderr kin-write -s x --linger soon
	assert_stderr_line --regexp '^kin-write: invalid --linger: '
	run -64 --separate-stderr kin-write -s x --max-in-flight 0
	assert_stderr_line --regexp '^kin-write: invalid --max-in-flight: '
	run -64 --separate-stderr kin-write -s x -J --keep-newline
	assert_stderr_line --partial '--keep-newline has no meaning with -J'
	run -64 --separate-stderr kin-write -s x --no-such-option
	assert_stderr --partial 'usage: kin-write'
	run -66 --separate-stderr kin-write -s x /nonexistent/file
	assert_stderr_line "kin-write: cannot open '/nonexistent/file': No such file or directory"
}

# ---- round trips -------------------------------------------------------------

@test "100000 trade lines, random keys, 4 shards: the AWS CLI reads back the same multiset" {
	mkstream rt 4
	run -0 --separate-stderr kin-write -v -s rt --rate-limit 0 "$BATS_FILE_TMPDIR/trades100k"
	assert_stderr_line 'kin-write: in 100000, acked 100000, dead-lettered 0'
	readback rt
	run -0 verify same "$BATS_FILE_TMPDIR/trades100k" rb.jsonl
	# random keys spread over every shard
	[ "$(jq -r .shard rb.jsonl | sort -u | wc -l)" -eq 4 ]
}

@test "-K TICKER: every ticker on one shard, in input order, same multiset" {
	mkstream tick 4
	run -0 --separate-stderr kin-write -s tick -K TICKER --rate-limit 0 <"$BATS_FILE_TMPDIR/trades100k"
	readback tick
	run -0 verify same "$BATS_FILE_TMPDIR/trades100k" rb.jsonl
	run -0 verify order rb.jsonl TICKER
	assert_output 'ordered 5 keys'
	[ "$(jq -r .key rb.jsonl | sort -u | tr '\n' ' ')" = "AMZN AZRE BABA GOOG ORCL " ]
}

@test "--rate-limit holds a shard to its share of 1000 records a second" {
	mkstream rl 1
	seq 600 >in
	start=$(date +%s%N)
	run -0 kin-write -s rl --rate-limit 20 in
	ms=$((($(date +%s%N) - start) / 1000000))
	# 200 records/s: a full bucket of 200, then 400 more take 2 s at least
	[ "$ms" -ge 1900 ] || { echo "600 records in ${ms} ms"; return 1; }
	readback rl
	run -0 verify same in rb.jsonl
}

@test "records go out after --linger while the input is still open" {
	mkstream lin 1
	mkfifo fifo
	kin-write -s lin --linger 50ms <fifo 3>&- &
	BG+=($!)
	exec 5>fifo
	printf 'one\ntwo\nthree\n' >&5
	count() { [ "$(kinctl get lin shardId-000000000000 | wc -l)" -eq 3 ]; }
	wait_for count
	exec 5>&-
	wait "${BG[0]}"
	run -0 kinctl get lin shardId-000000000000
	assert_output $'one\ntwo\nthree'
}

@test "SIGTERM: stops reading, puts what was read, exits 0" {
	mkstream term 1
	mkfifo fifo
	kin-write -v -s term --linger 10s <fifo 2>err 3>&- &
	pid=$!
	BG+=("$pid")
	exec 5>fifo
	seq 100 >&5
	# read, and held back by --linger; the writer end stays open
	wait_for grep -q 'in 100, acked 0,' err
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 5>&-
	[ "$st" -eq 0 ]
	run -0 grep -c . err
	run -0 tail -n 1 err
	assert_output 'kin-write: in 100, acked 100, dead-lettered 0'
	run -0 kinctl get term shardId-000000000000
	assert_output "$(seq 100)"
}

# ---- aggregation -------------------------------------------------------------

@test "--aggregate: far fewer Kinesis records, each a valid KPL record, every line back" {
	mkstream agg 2
	head -n 20000 "$BATS_FILE_TMPDIR/trades100k" >in
	run -0 --separate-stderr kin-write -v -s agg --aggregate in
	assert_stderr_line 'kin-write: in 20000, acked 20000, dead-lettered 0'
	readback agg
	run -0 verify stats rb.jsonl
	records=$(jq .records <<<"$output")
	[ "$(jq .users <<<"$output")" -eq 20000 ]
	[ "$records" -le 200 ] || { echo "$records Kinesis records for 20000"; return 1; }
	# aggregates are put with partition key "a", as the KPL does
	[ "$(jq -c .agg_keys <<<"$output")" = '["a"]' ]
	# at most the default 50 KiB each
	[ "$(jq .max_size <<<"$output")" -le 51200 ]
	run -0 verify same in rb.jsonl
	# every user record sits on the shard its own key hashes to
	run -0 verify inrange rb.jsonl
}

@test "--aggregate: -K keys in the key table, each key on its shard, in order" {
	mkstream aggk 4
	head -n 30000 "$BATS_FILE_TMPDIR/trades100k" >in
	run -0 kin-write -s aggk --aggregate -K TICKER --aggregate-max-size 4K in
	readback aggk
	run -0 verify stats rb.jsonl
	[ "$(jq .max_size <<<"$output")" -le 4096 ]
	run -0 verify same in rb.jsonl
	run -0 verify order rb.jsonl TICKER
	run -0 verify inrange rb.jsonl
}

@test "--aggregate: explicit hash keys from the data pick the shard" {
	mkstream aggh 4
	# hash keys spread over the whole 128-bit range
	/usr/bin/python3 -c '
import random
random.seed(3)
for i in range(3000):
    print("{\"h\":\"%d\",\"i\":%d}" % (random.getrandbits(128), i))' >in
	run -0 kin-write -s aggh --aggregate --hash-key-field h in
	readback aggh
	run -0 verify same in rb.jsonl
	run -0 verify inrange rb.jsonl
	run -0 verify stats rb.jsonl
	[ "$(jq .records <<<"$output")" -lt 100 ]
}

@test "--aggregate: a record alone goes out as itself, unaggregated" {
	mkstream lone 1
	run -0 kin-write -s lone --aggregate -k solo <<<'just one'
	readback lone
	run -0 jq -r '[.key, (.data_b64 | @base64d)] | @tsv' rb.jsonl
	assert_output $'solo\tjust one'
}

# ---- input forms ---------------------------------------------------------------

@test "-0, -D and --keep-newline put exactly the bytes between terminators" {
	mkstream forms 1
	printf 'a b\0c\nd\0' | kin-write -s forms -0
	printf 'x\ty\t' | kin-write -s forms -D '\t'
	printf 'kept\n' | kin-write -s forms --keep-newline
	printf 'last line without newline' | kin-write -s forms --keep-newline
	readback forms
	run -0 jq -r '.data_b64' rb.jsonl
	assert_output "$(printf 'a b' | base64; printf 'c\nd' | base64
		printf x | base64; printf y | base64; printf 'kept\n' | base64
		printf 'last line without newline' | base64)"
}

@test "binary data goes through byte for byte" {
	mkstream bin 1
	/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(b for b in range(256) if b != 10) + b"\n\xff\xfe\x00\x01\n")' >in
	run -0 kin-write -s bin -k k in
	readback bin
	run -0 verify same in rb.jsonl
}

@test "-k puts a constant key; -J honours the envelope's key and hash" {
	mkstream env 4
	run -0 kin-write -s env -k partitionkey <<<'plain'
	hash=$(kinctl list-shards env | awk 'NR==3 {print $2}' | cut -d- -f1)
	printf '%s\n' '{"key":"K1","data":{"a":1}}' '{"key":"K2","data":"text"}' \
		'{"key":"K3","data_b64":"AAEC"}' \
		"{\"key\":\"K4\",\"hash\":\"$hash\",\"data\":[1,2]}" >in
	run -0 kin-write -s env -J in
	readback env
	run -0 jq -r '[.key, .data_b64] | @tsv' rb.jsonl
	assert_line "partitionkey	$(printf plain | base64)"
	assert_line "K1	$(printf '{"a":1}' | base64)"
	assert_line "K2	$(printf text | base64)"
	assert_line "K3	AAEC"
	# the explicit hash key put K4 on the third shard, whatever its key
	run -0 jq -r 'select(.key == "K4") | .shard' rb.jsonl
	assert_output "$(kinctl list-shards env | awk 'NR==3 {print $1}')"
}

@test "bad lines: a one-line error with the line number, a dead letter each, the rest put, exit 1" {
	mkstream bad 1
	{
		echo '{"TICKER":"AMZN","n":1}'
		# 1048573 bytes of data and a 4-byte key: one over the limit
		printf '{"TICKER":"AMZN","x":"%s"}\n' "$(head -c 1048549 /dev/zero | tr '\0' x)"
		echo '{"n":3}'
		echo 'not json'
		echo '{"TICKER":"","n":5}'
		echo '{"TICKER":"GOOG","n":6}'
	} >in
	run -1 --separate-stderr kin-write -s bad -K TICKER --dead-letter dl.jsonl in
	assert_stderr_line "kin-write: dead-lettered line 2 of 'in': data and partition key are 1048577 bytes, over the limit of 1048576"
	assert_stderr_line "kin-write: dead-lettered line 3 of 'in': no field 'TICKER'"
	assert_stderr_line "kin-write: dead-lettered line 4 of 'in': not a JSON object, so no field 'TICKER'"
	assert_stderr_line "kin-write: dead-lettered line 5 of 'in': empty partition key"
	run -0 jq -c '[.reason, .line, .file]' dl.jsonl
	assert_output '["too-large",2,"in"]
["bad-key",3,"in"]
["bad-key",4,"in"]
["bad-key",5,"in"]'
	# the data is kept: as JSON when it is JSON, else as a string
	run -0 jq -c '.data' dl.jsonl
	assert_line --index 1 '{"n":3}'
	assert_line --index 2 '"not json"'
	[ "$(stat -c %a dl.jsonl)" = 600 ]
	readback bad
	run -0 jq -r '.data_b64 | @base64d' rb.jsonl
	assert_output '{"TICKER":"AMZN","n":1}
{"TICKER":"GOOG","n":6}'
}

@test "-q: no warning per bad line or retried request; still a dead letter each, counted, exit 1" {
	mkstream quiet 1
	{
		echo '{"TICKER":"AMZN","n":1}'
		echo 'not json'
		echo '{"n":3}'
		echo '{"TICKER":"GOOG","n":4}'
	} >in
	run -1 --separate-stderr kin-write -q -s quiet -K TICKER --dead-letter dl.jsonl in
	[ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
	run -0 jq -c '[.reason, .line, .file]' dl.jsonl
	assert_output '["bad-key",2,"in"]
["bad-key",3,"in"]'
	# -v still counts them
	run -1 --separate-stderr kin-write -q -v -s quiet -K TICKER --dead-letter dl2.jsonl in
	assert_stderr_line 'kin-write: in 4, acked 2, dead-lettered 2'
	if grep -q 'dead-lettered line' <<<"$stderr"; then echo "$stderr"; return 1; fi
	[ "$(wc -l <dl2.jsonl)" -eq 2 ]
	# without --dead-letter the dead letters themselves are the output on
	# standard error, quiet or not
	run -1 --separate-stderr kin-write -q -s quiet -K TICKER in
	run -0 jq -c '[.reason, .line]' <<<"$stderr"
	assert_output '["bad-key",2]
["bad-key",3]'
	readback quiet
	[ "$(wc -l <rb.jsonl)" -eq 6 ]
	# failed requests that are retried: warned about without -q, not with
	seq 200 >in2
	echo 'op=PutRecords count=2 status=500 error=InternalFailure' >rules
	start_proxy
	run -0 --separate-stderr kin-write -q -s quiet --batch-records 50 --endpoint-url "$PROXY" in2
	[ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
	[ "$(grep -c 'status=500' faults.log)" -eq 2 ] || { cat faults.log; return 1; }
	echo 'op=PutRecords count=2 status=500 error=InternalFailure # again' >rules
	run -0 --separate-stderr kin-write -s quiet --batch-records 50 --endpoint-url "$PROXY" in2
	assert_stderr_line --regexp '^kin-write: PutRecords\(quiet\) failed, retrying [0-9]+ records: InternalFailure'
}

@test "bad -J lines are dead-lettered; a dead-letter file is put again with -J" {
	mkstream replay 1
	{
		echo '{"key":"a","data":"ok"}'
		echo '[1,2]'
		echo '{"key":"b"}'
		echo '{"key":"c","data_b64":"!!"}'
		echo '{"key":7,"data":"x"}'
		echo '{"key":"d","hash":"340282366920938463463374607431768211456","data":"x"}'
	} >in
	run -1 --separate-stderr kin-write -J -s replay --dead-letter dl.jsonl in
	assert_stderr_line "kin-write: dead-lettered line 2 of 'in': not a JSON object"
	assert_stderr_line "kin-write: dead-lettered line 3 of 'in': no \"data\" or \"data_b64\" field"
	assert_stderr_line "kin-write: dead-lettered line 4 of 'in': \"data_b64\" is not base64"
	assert_stderr_line "kin-write: dead-lettered line 5 of 'in': \"key\" is not a string"
	assert_stderr_line "kin-write: dead-lettered line 6 of 'in': \"hash\" is not a hash key (0 to 2^128-1)"
	[ "$(wc -l <dl.jsonl)" -eq 5 ]
	[ "$(jq -r .reason dl.jsonl | sort -u)" = bad-envelope ]
	# binary records that cannot be put keep their bytes in data_b64
	printf '\xff\xfe\n' >bin
	run -1 --separate-stderr kin-write -s replay -K f --dead-letter dl2.jsonl bin
	run -0 jq -r .data_b64 dl2.jsonl
	assert_output "$(printf '\xff\xfe' | base64)"
	# put again: a dead letter is an envelope (here without a key: -J
	# gives it a random one, or -k a fixed one)
	run -0 --separate-stderr kin-write -s replay -J -k again dl2.jsonl
	readback replay
	run -0 jq -r '[.key, .data_b64] | @tsv' rb.jsonl
	assert_line "again	$(printf '\xff\xfe' | base64)"
	assert_line "a	$(printf ok | base64)"
}

@test "control lines are never put; a barrier is acknowledged after what came before it" {
	mkstream ctl 1
	printf 'a\n\x1e{"kin":"barrier","id":"b1"}\nb\n\x1e{"kin":"restore","id":"b1"}\n\x1enot json\nc\n\x1e{"kin":"end"}\n' >in
	run -0 --separate-stderr kin-write -vv -s ctl in
	assert_stderr_line 'kin-write: barrier acknowledged: {"kin":"barrier","id":"b1"}'
	assert_stderr_line 'kin-write: control line 4 (restore) is not data: not put'
	assert_stderr_line 'kin-write: control line 5 (unreadable) is not data: not put'
	run -0 kinctl get ctl shardId-000000000000
	assert_output $'a\nb\nc'
}

@test "--config takes the original job's properties" {
	mkstream cfg 1
	cat >job.properties <<EOF
# the original job's runtime properties
inputStreamName=stocktrading-ingest-stream
outputStreamName=cfg
aws.region=$AWS_REGION
AggregationEnabled=true
Partition=partitionkey
EOF
	seq 10 | kin-write --config job.properties
	readback cfg
	run -0 verify stats rb.jsonl
	[ "$(jq .users <<<"$output")" -eq 10 ]
	[ "$(jq .aggregates <<<"$output")" -eq 1 ]
	run -0 verify dump rb.jsonl
	assert_line "partitionkey	1"
	# the command line wins over the file
	seq 3 | kin-write --config job.properties -k other
	readback cfg
	run -0 verify dump rb.jsonl
	assert_line "other	3"
	echo 'linger=soon' >bad.properties
	run -78 --separate-stderr kin-write --config bad.properties -s cfg
	assert_stderr --partial 'bad.properties:1: linger'
}

# ---- configuration failures ------------------------------------------------------

@test "an unknown stream, no credentials, no region: exit 78 with a clear message" {
	run -78 --separate-stderr kin-write -s no-such-stream <<<'x'
	assert_stderr --partial "kin-write: stream 'no-such-stream' not found"
	run -78 --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		kin-write -s whatever <<<'x'
	assert_stderr --regexp 'credentials'
	run -78 --separate-stderr env -u AWS_REGION -u AWS_DEFAULT_REGION \
		kin-write -s whatever <<<'x'
	assert_stderr --regexp 'region'
}

# ---- faults, through tests/faultproxy ------------------------------------------

@test "faults: chosen records of PutRecords fail; only they are retried, nothing lost or doubled" {
	mkstream fr 4
	head -n 5000 "$BATS_FILE_TMPDIR/trades100k" >in
	echo 'op=PutRecords records=0.3 code=ProvisionedThroughputExceededException' >rules
	start_proxy
	run -0 --separate-stderr kin-write -v -s fr --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 5000, acked 5000, dead-lettered 0'
	grep -q 'action=records failed=[1-9]' faults.log
	# the proxy took the failed records out before forwarding: retries
	# of exactly those give exactly the input
	readback fr
	run -0 verify same in rb.jsonl
}

@test "faults: whole requests fail (500, 503, throttling, reset, slow); all retried, nothing lost or doubled" {
	mkstream fw 2
	head -n 3000 "$BATS_FILE_TMPDIR/trades100k" >in
	cat >rules <<'EOF'
op=PutRecords count=3 status=500 error=InternalFailure
op=PutRecords count=3 status=400 error=ProvisionedThroughputExceededException message=Rate_exceeded
op=PutRecords count=3 reset=before
op=PutRecords count=3 status=503 error=ServiceUnavailable
op=PutRecords count=3 delay=300ms
EOF
	start_proxy
	run -0 --separate-stderr kin-write -v -s fw --batch-records 100 --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 3000, acked 3000, dead-lettered 0'
	# a failing service is visible without -v
	assert_stderr_line --regexp '^kin-write: PutRecords\(fw\) failed, retrying [0-9]+ records: '
	for a in 'status=500' 'error=ProvisionedThroughputExceededException' \
		'action=reset when=before' 'status=503' 'action=delay'; do
		[ "$(grep -c -- "$a" faults.log)" -eq 3 ] || { cat faults.log; return 1; }
	done
	readback fw
	run -0 verify same in rb.jsonl
}

@test "faults: answers lost after the write (reset, truncated, too slow): nothing lost" {
	mkstream fl 2
	head -n 3000 "$BATS_FILE_TMPDIR/trades100k" >in
	cat >rules <<'EOF'
op=PutRecords count=2 reset=after
op=PutRecords count=2 truncate
op=PutRecords count=1 delay=1500ms
EOF
	start_proxy
	run -0 --separate-stderr kin-write -vv -s fl --batch-records 200 \
		--request-timeout 500ms --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 3000, acked 3000, dead-lettered 0'
	[ "$(grep -c 'action=reset when=after' faults.log)" -eq 2 ]
	[ "$(grep -c 'action=truncate' faults.log)" -eq 2 ]
	[ "$(grep -c 'action=delay' faults.log)" -eq 1 ]
	assert_stderr_line --regexp '^kin-write: PutRecords\(fl\) failed, retrying [0-9]+ records: ConnectionError: .*(timed out|Timeout)'
	readback fl
	# at least once: what was written before the answer was lost is
	# written again
	run -0 verify atleast in rb.jsonl
}

@test "faults: connections refused for a while: nothing lost" {
	mkstream fc 2
	head -n 3000 "$BATS_FILE_TMPDIR/trades100k" >in
	echo 'op=PutRecords after=2 count=1 refuse=1500ms' >rules
	start_proxy
	run -0 --separate-stderr kin-write -v -s fc --batch-records 100 --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 3000, acked 3000, dead-lettered 0'
	grep -q 'action=refuse' faults.log
	grep -q 'refuse ended' faults.log
	readback fc
	run -0 verify atleast in rb.jsonl
}

@test "faults: records still failing when --record-ttl passes are dead-lettered, and only then" {
	mkstream ft 1
	seq 20 >in
	echo 'op=PutRecords records=all code=ProvisionedThroughputExceededException message=Rate_exceeded_for_shard' >rules
	start_proxy
	start=$(date +%s%N)
	run -1 --separate-stderr kin-write -v -s ft --record-ttl 1s --dead-letter dl.jsonl --endpoint-url "$PROXY" in
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$ms" -ge 1000 ] || { echo "dead-lettered after ${ms} ms"; return 1; }
	assert_stderr_line 'kin-write: in 20, acked 0, dead-lettered 20'
	[ "$(wc -l <dl.jsonl)" -eq 20 ]
	run -0 jq -r '[.reason, .code] | @tsv' dl.jsonl
	[ "$(sort -u <<<"$output")" = "expired	ProvisionedThroughputExceededException" ]
	run -0 jq -r .message dl.jsonl
	assert_line --index 0 --regexp '^record-ttl passed after [0-9]+ attempts: Rate exceeded for shard$'
	run -0 jq -r .data dl.jsonl
	assert_output "$(seq 20)"
	run -0 kinctl get ft shardId-000000000000
	assert_output ''
}

@test "faults: a request the service rejects for good is dead-lettered at once; the rest goes on" {
	mkstream fj 1
	seq 10 >in
	echo 'op=PutRecords count=1 status=400 error=ValidationException message=1_validation_error' >rules
	start_proxy
	run -1 --separate-stderr kin-write -v -s fj --batch-records 5 --dead-letter dl.jsonl --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: PutRecords(fj) rejected 5 records: ValidationException: 1 validation error'
	assert_stderr_line 'kin-write: in 10, acked 5, dead-lettered 5'
	run -0 jq -r '[.reason, .code, .data] | @tsv' dl.jsonl
	assert_output "$(printf 'rejected\tValidationException\t%s\n' 1 2 3 4 5)"
	run -0 kinctl get fj shardId-000000000000
	assert_output "$(seq 6 10)"
}

@test "faults: --ordered keeps each key's order through partial failures" {
	mkstream fo 2
	/usr/bin/python3 -c '
for i in range(3000): print("{\"K\":\"k%d\",\"SEQ\":%d}" % (i % 40, i))' >in
	echo 'op=PutRecords records=0.05' >rules
	start_proxy
	run -0 --separate-stderr kin-write -v -s fo -K K --ordered --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 3000, acked 3000, dead-lettered 0'
	grep -q 'action=records failed=[1-9]' faults.log
	readback fo
	run -0 verify same in rb.jsonl
	run -0 verify order rb.jsonl K
	assert_output 'ordered 40 keys'
}

# ---- the manual's examples ---------------------------------------------------

# examples: the .Dl lines of EXAMPLES, as a user would type them.
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /s/^\.Dl //p' "$MAN" | sed 's/\\e/\\/g; s/\\-/-/g'
}

@test "every option is described, and used in an EXAMPLES line" {
	ex=$(examples)
	opts=$(kin-write -h | grep -oE -- '--[a-z-]+|\[-[a-zA-Z0-9]+\]|\[-[a-zA-Z] |-[a-zA-Z] ' | tr -d '[] ')
	for o in $opts; do
		if [[ $o == --* ]]; then
			grep -qE -- "^\.It .*Fl -${o#--}( |$)" "$MAN" || { echo "not described: $o"; return 1; }
			# the endpoint's options: the examples use the test's
			# (plain HTTP) endpoint; tls.bats runs --no-verify-ssl
			case $o in --region|--endpoint-url|--profile|--no-verify-ssl) continue ;; esac
			grep -qE -- "(^| )$o( |$)" <<<"$ex" || { echo "no example: $o"; return 1; }
			continue
		fi
		for ((i = 1; i < ${#o}; i++)); do
			c=${o:i:1}
			grep -qE -- "^\.It Fl $c( |$)" "$MAN" || { echo "not described: -$c"; return 1; }
			case $c in h|V) continue ;; esac
			grep -qE -- "(^| )-$c( |$)" <<<"$ex" || { echo "no example: -$c"; return 1; }
		done
	done
}

@test "every EXAMPLES line runs against the local Kinesis" {
	mkstream stocktrading-ingest-stream 2
	mkstream stocktrading-output-stream 2
	ran=0
	while IFS= read -r line; do
		run bash -c "set -o pipefail; $line" </dev/null
		[ "$status" -eq 0 ] || { echo "example failed ($status): $line"; echo "$output"; return 1; }
		ran=$((ran + 1))
	done < <(examples)
	[ "$ran" -ge 12 ]
	readback stocktrading-output-stream
	[ "$(wc -l <rb.jsonl)" -gt 0 ]
}

@test "resharding: a put landing on a shard the map did not expect refreshes the map" {
	mkstream rs 1
	mkfifo fifo
	kin-write -v -s rs --linger 10ms <fifo 2>err 3>&- &
	pid=$!
	BG+=("$pid")
	exec 5>fifo
	seq 10 >&5
	count10() { [ "$(kinctl get rs shardId-000000000000 | wc -l)" -eq 10 ]; }
	wait_for count10
	kinctl split rs shardId-000000000000 170141183460469231731687303715884105728 >/dev/null
	seq 11 200 >&5
	exec 5>&-
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 0 ] || { cat err; return 1; }
	grep -q "kin-write: shard map of 'rs' refreshed: 2 open shards" err
	grep -q 'kin-write: in 200, acked 200, dead-lettered 0' err
	seq 200 >in
	readback rs
	run -0 verify same in rb.jsonl
	# what came after the refresh went to the children
	[ "$(jq -r .shard rb.jsonl | sort -u | wc -l)" -eq 3 ]
}

@test "faults: an aggregate past its TTL dead-letters each of its records, with its line" {
	mkstream fta 1
	printf '{"k":"a","n":%d}\n' 1 2 3 4 5 >in
	echo 'op=PutRecords records=all' >rules
	start_proxy
	run -1 --separate-stderr kin-write -v -s fta --aggregate -K k --record-ttl 500ms \
		--dead-letter dl.jsonl --endpoint-url "$PROXY" in
	assert_stderr_line 'kin-write: in 5, acked 0, dead-lettered 5'
	run -0 jq -c '[.reason, .line, .key, .data.n]' dl.jsonl
	assert_output '["expired",1,"a",1]
["expired",2,"a",2]
["expired",3,"a",3]
["expired",4,"a",4]
["expired",5,"a",5]'
	# one aggregated record was tried
	grep -q 'action=records failed=1 of=1' faults.log
}
