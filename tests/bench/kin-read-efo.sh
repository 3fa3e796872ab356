#!/usr/bin/env bash
# Bench for kin-read --efo (issue 11): latency from the PutRecords
# acknowledgement to the line on stdout at a steady 50 records/s, polling
# (GetRecords, the default --idle-wait 200ms) and --efo (SubscribeToShard
# over HTTP/2) reading the same stream in the same run, against kinesis-mock
# (infra/local/kinesis-mock, a state dir of its own).  One Node process
# puts one record every 20 ms (PutRecords on the mock's plain port, 8 keys
# over 2 shards), spawns both readers (-o latest -J, on the TLS port, the
# mock's certificate as CA) and timestamps every line each prints, on one
# clock.  Prints n, median, p99 and max in ms for both.
# kinesis-mock hands a subscription its records 1 to 2 s after they were
# put (efoctl, the library's own reader, sees the same), where the service
# pushes them as they arrive (~70 ms): this shows kin-read's path over the
# mock works at a steady rate and adds nothing of its own, not what
# enhanced fan-out gives on AWS.  No target.
#   tests/bench/kin-read-efo.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd -P)
unset PYTHONUNBUFFERED

KR=${KR:-$root/kin-read/kin-read}
SECONDS_RUN=${1:-20}
[ -x "$KR" ] || { echo "kin-read-efo.sh: $KR not built (run make)" >&2; exit 1; }
command -v node >/dev/null || { echo "kin-read-efo.sh: node not found" >&2; exit 1; }
# shellcheck source=tests/bench/server.bash
. "$root/tests/bench/server.bash"
bench_server kinesis-mock

"$root/build/plain/helpers/kinctl" create lat 2 >/dev/null || exit 1

cat >"$tmp/latency.js" <<'EOF'
// latency.js STREAM SECONDS KIN-READ: put one record every 20 ms; run
// KIN-READ polling and with --efo; time each record from its PutRecords
// acknowledgement to its line on each reader's stdout.
'use strict';
const path = require('path');
const nm = path.join(process.env.KIN_ROOT, 'infra/local/node_modules');
const K = require(path.join(nm, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(nm, '@smithy/node-http-handler'));
const http = require('http');
const { spawn } = require('child_process');
const readline = require('readline');
const { performance } = require('perf_hooks');
const c = new K.KinesisClient({
  requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true }) }),
  endpoint: process.env.KIN_MOCK_PLAIN_URL, region: process.env.AWS_REGION });
const [stream, seconds, bin] = process.argv.slice(2);
const total = Math.round(+seconds * 50);
const acked = new Map();
const readers = {
  polling: ['-s', stream, '-o', 'latest', '-J'],
  efo: ['-s', stream, '-o', 'latest', '-J', '--efo', 'latency-bench'],
};
const seen = {}, procs = {}, warmSeen = {};
let warm = 0, done = false;
for (const [name, args] of Object.entries(readers)) {
  seen[name] = new Map();
  const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs[name] = p;
  readline.createInterface({ input: p.stdout }).on('line', (l) => {
    const id = JSON.parse(l).data.ID;
    if (id < 0) { warmSeen[name] = 1; return; }
    if (!seen[name].has(id)) seen[name].set(id, performance.now());
    if (Object.values(seen).every((m) => m.size >= total)) finish();
  });
}
function put(id) {
  return c.send(new K.PutRecordsCommand({ StreamName: stream, Records: [{
    PartitionKey: 'k' + ((id < 0 ? -id : id) % 8), Data: Buffer.from(JSON.stringify({ ID: id })) }] }));
}
function q(lat, p) { return lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]; }
function finish() {
  if (done) return; done = true;
  for (const name of Object.keys(readers)) {
    const lat = [];
    for (const [id, t] of acked) if (seen[name].has(id)) lat.push(seen[name].get(id) - t);
    lat.sort((a, b) => a - b);
    if (lat.length === 0) { console.log(name + ': nothing arrived'); continue; }
    console.log(name.padEnd(8) + ' n ' + lat.length + '  median ' + q(lat, 0.5).toFixed(0) +
      ' ms  p99 ' + q(lat, 0.99).toFixed(0) + ' ms  max ' + lat[lat.length - 1].toFixed(0) + ' ms');
  }
  let left = Object.keys(procs).length;
  for (const p of Object.values(procs)) { p.on('exit', () => { if (--left === 0) process.exit(0); }); p.kill('SIGTERM'); }
}
// warm up: a record every 100 ms until both readers print one (they read
// from LATEST, so only then is nothing of the timed run missed)
async function warmup() {
  while (Object.keys(warmSeen).length < Object.keys(procs).length) {
    await put(-(++warm));
    await new Promise((r) => setTimeout(r, 100));
  }
}
warmup().then(() => {
  const t0 = performance.now();
  let i = 0;
  function tick() {
    while (i < total && performance.now() >= t0 + i * 20) {
      const id = i++;
      put(id).then(() => acked.set(id, performance.now()),
        (e) => { console.error(e); process.exit(1); });
    }
    if (i < total) setTimeout(tick, Math.max(0, t0 + i * 20 - performance.now()));
  }
  tick();
});
setTimeout(() => { console.error('latency.js: not every record arrived'); finish(); },
  (+seconds + 90) * 1000);
EOF

echo "latency, put acknowledgement to line on stdout, 50 records/s for ${SECONDS_RUN}s, kinesis-mock:"
node "$tmp/latency.js" lat "$SECONDS_RUN" "$KR"
