// A raw HTTP/1.1 exchange over TCP or a Unix socket, returning the exact bytes of the
// answer (with the Date header blanked), so two transports can be compared byte for byte.
//
// A request without a Host header gets the one a real client of that transport sends:
// over TCP the loopback address and port it connects to (what fetch and curl send; the
// agent refuses any other Host over TCP, its DNS-rebinding guard), over the socket
// `localhost` (what curl --unix-socket sends; any Host is accepted there). Callers need
// not know the rule; a test about Host sets its own.

import { connect } from 'node:net';

export type Target =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'socket'; readonly path: string };

export function rawRequest(target: Target, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = target.kind === 'tcp' ? connect(target.port, target.host) : connect(target.path);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () =>
      resolve(
        Buffer.concat(chunks)
          .toString('utf8')
          .replace(/^Date: .*\r\n/m, 'Date: -\r\n'),
      ),
    );
    socket.write(withHost(target, request.replace(/\n/g, '\r\n')));
  });
}

/** The request text (headers joined by `\n`); no Host unless given, so `rawRequest` adds the transport's own. */
export function get(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const lines = Object.entries({ connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\n${lines.join('\n')}\n\n`;
}

/** The Host a client of this transport sends by default. */
export function defaultHost(target: Target): string {
  if (target.kind === 'socket') return 'localhost';
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

function withHost(target: Target, request: string): string {
  const end = request.indexOf('\r\n\r\n');
  const head = end === -1 ? request : request.slice(0, end);
  if (/\r\nhost:/i.test(head)) return request;
  const firstLine = request.indexOf('\r\n');
  return `${request.slice(0, firstLine)}\r\nhost: ${defaultHost(target)}${request.slice(firstLine)}`;
}
