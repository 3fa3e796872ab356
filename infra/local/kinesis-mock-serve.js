// Runs kinesis-mock (npm kinesis-local) for infra/local/kinesis-mock, on
// 127.0.0.1 only. kinesis-mock 0.6.2 binds 0.0.0.0 with no option to change
// it, so every net.Server.listen here is pinned to the loopback address
// before the mock's code loads. Its two ports are asked for as the
// stand-ins 1 (TLS) and 2 (plain); they are bound to the ports wanted (0 =
// any free one), and the ports got are written to STATE/ports ("TLS PLAIN",
// tmp + rename) once both listen. The TLS certificate is STATE/cert.json.
// usage: node kinesis-mock-serve.js --state DIR [--tls-port N] [--plain-port N]
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');

const args = { 'tls-port': '0', 'plain-port': '0' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!['state', 'tls-port', 'plain-port'].includes(k) || argv[i + 1] === undefined) {
    console.error('kinesis-mock-serve: bad argument: ' + argv[i]);
    process.exit(64);
  }
  args[k] = argv[i + 1];
}
if (!args.state) {
  console.error('kinesis-mock-serve: --state DIR is required');
  process.exit(64);
}

const want = { 1: ['tls', Number(args['tls-port'])], 2: ['plain', Number(args['plain-port'])] };
const got = {};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  const cb = typeof a[a.length - 1] === 'function' ? a.pop() : undefined;
  const asked = typeof a[0] === 'object' && a[0] !== null ? a[0].port : a[0];
  const w = want[asked];
  if (w === undefined) {
    console.error('kinesis-mock-serve: unexpected listen on port ' + asked);
    process.exit(70);
  }
  this.once('listening', () => {
    got[w[0]] = this.address().port;
    console.error('kinesis-mock-serve: ' + w[0] + ' port on 127.0.0.1:' + got[w[0]]);
    if (got.tls !== undefined && got.plain !== undefined) {
      const tmp = path.join(args.state, 'ports.tmp');
      fs.writeFileSync(tmp, got.tls + ' ' + got.plain + '\n');
      fs.renameSync(tmp, path.join(args.state, 'ports'));
    }
  });
  this.once('error', (e) => {
    console.error('kinesis-mock-serve: cannot listen on 127.0.0.1:' + w[1] + ': ' + e.message);
    process.exit(69);
  });
  return listen.call(this, w[1], '127.0.0.1', cb);
};

// The mock reads its settings from the environment.
Object.assign(process.env, {
  KINESIS_MOCK_TLS_PORT: '1',
  KINESIS_MOCK_PLAIN_PORT: '2',
  KINESIS_MOCK_CERT_PATH: path.join(args.state, 'cert.json'),
  CREATE_STREAM_DURATION: '0ms',
  DELETE_STREAM_DURATION: '0ms',
  REGISTER_STREAM_CONSUMER_DURATION: '0ms',
  DEREGISTER_STREAM_CONSUMER_DURATION: '0ms',
  MERGE_SHARDS_DURATION: '0ms',
  SPLIT_SHARD_DURATION: '0ms',
  UPDATE_SHARD_COUNT_DURATION: '0ms',
  SHARD_LIMIT: '1000',
  SHOULD_PERSIST_DATA: 'false',
  LOG_LEVEL: process.env.KIN_MOCK_LOG_LEVEL || 'WARN',
});

// Once a subscription was opened the mock no longer exits on SIGTERM;
// these listeners end it regardless (the script still keeps SIGKILL ready).
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
// A server whose state dir is gone was left behind (an interrupted test run
// removes its temporary dirs): nobody can stop it any more, so it goes.
setInterval(() => {
  if (!fs.existsSync(args.state)) process.exit(0);
}, 2000).unref();

require(path.join(__dirname, 'node_modules', 'kinesis-local', 'main.js'));
