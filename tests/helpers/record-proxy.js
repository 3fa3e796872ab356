// record-proxy.js: a loopback HTTP proxy in front of the local Kinesis that
// appends each request's headers (one JSON object a line) to LOG, so a test
// can see what went over the wire, e.g. the real SigV4 signature.
//
// usage: node record-proxy.js TARGET_URL LOG PORTFILE
// Listens on 127.0.0.1 on a free port and writes it to PORTFILE when ready.
'use strict';
const http = require('http');
const fs = require('fs');

const [target, log, portfile] = process.argv.slice(2);
const u = new URL(target);

const srv = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		fs.appendFileSync(log, JSON.stringify(req.headers) + '\n');
		const up = http.request({
			host: u.hostname, port: u.port, method: req.method,
			path: req.url, headers: req.headers,
		}, (r) => {
			res.writeHead(r.statusCode, r.headers);
			r.pipe(res);
		});
		up.on('error', () => { res.writeHead(502); res.end(); });
		up.end(Buffer.concat(chunks));
	});
});
srv.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portfile + '.tmp', String(srv.address().port));
	fs.renameSync(portfile + '.tmp', portfile);
});
