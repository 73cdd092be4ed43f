// The baseline for bench/read: a bare node:http server answering every request with
// the same bytes and headers the agent sends for one cached value read.
//   node bench/bare-server.ts '<json {body, headers}>'   → prints its port

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const { body, headers } = JSON.parse(process.argv[2]!) as { body: string; headers: Record<string, string> };
const bytes = Buffer.from(body);
const all = { ...headers, 'content-length': String(bytes.length) };
const server = createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
  res.writeHead(200, all);
  res.end(bytes);
}).listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
