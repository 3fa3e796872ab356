// Runs kinesalite for kinesis-local: bound to 127.0.0.1 only (3.3.3 has no
// host flag), streams ACTIVE at once, a shard limit tests never hit. Once it
// listens, it writes the port it got to STATE/port (tmp + rename), so the
// caller never races a half-written file.
// With --dynamo 1 the same process also runs dynalite (DynamoDB, for the
// lease tests) on another free port of 127.0.0.1, written to
// STATE/dynamo-port the same way; one process, so one stop ends both.
// usage: node kinesalite-serve.js --state DIR [--port N] [--data DIR]
//        [--dynamo 1]
'use strict';
const fs = require('fs');
const path = require('path');

const args = { port: '0' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!['state', 'port', 'data', 'dynamo'].includes(k) || argv[i + 1] === undefined) {
    console.error('kinesalite-serve: bad argument: ' + argv[i]);
    process.exit(64);
  }
  args[k] = argv[i + 1];
}
if (!args.state) {
  console.error('kinesalite-serve: --state DIR is required');
  process.exit(64);
}

const opts = {
  createStreamMs: 0,
  deleteStreamMs: 0,
  updateStreamMs: 0,
  shardLimit: 1000,
};
if (args.data) opts.path = args.data; // leveldb on disk; in memory otherwise

const server = require('kinesalite')(opts);
server.on('error', (e) => {
  console.error('kinesalite-serve: cannot listen on 127.0.0.1:' + args.port + ': ' + e.message);
  process.exit(69);
});
server.listen(Number(args.port), '127.0.0.1', () => {
  const port = String(server.address().port);
  const tmp = path.join(args.state, 'port.tmp');
  fs.writeFileSync(tmp, port + '\n');
  fs.renameSync(tmp, path.join(args.state, 'port'));
  console.error('kinesalite-serve: listening on 127.0.0.1:' + port);
});
if (args.dynamo === '1') {
  // tables ACTIVE at once, as streams are; in memory only
  const dyn = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  dyn.on('error', (e) => {
    console.error('kinesalite-serve: dynalite cannot listen on 127.0.0.1: ' + e.message);
    process.exit(69);
  });
  dyn.listen(0, '127.0.0.1', () => {
    const port = String(dyn.address().port);
    const tmp = path.join(args.state, 'dynamo-port.tmp');
    fs.writeFileSync(tmp, port + '\n');
    fs.renameSync(tmp, path.join(args.state, 'dynamo-port'));
    console.error('kinesalite-serve: dynalite listening on 127.0.0.1:' + port);
  });
}
// A server whose state dir is gone was left behind (an interrupted test run
// removes its temporary dirs): nobody can stop it any more, so it goes.
setInterval(() => {
  if (!fs.existsSync(args.state)) process.exit(0);
}, 2000).unref();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
