// Baseline for bench/webhook: a bare node:https server that reads the request body and
// answers fixed bytes, with the same certificate. Prints its port.
//   node bench/bare-https-server.ts '<json {cert, key, body}>'

import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const { cert, key, body } = JSON.parse(process.argv[2]!) as { cert: string; key: string; body: string };
const bytes = Buffer.from(body);
const server = createServer({ cert, key, minVersion: 'TLSv1.2' }, (req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length }).end(bytes));
}).listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
