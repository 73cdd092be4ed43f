// A raw HTTP/1.1 exchange over TCP or a Unix socket, returning the exact bytes of the
// answer (with the Date header blanked), so two transports can be compared byte for byte.

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
    socket.write(request.replace(/\n/g, '\r\n'));
  });
}

export function get(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const lines = Object.entries({ host: 'agent', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\n${lines.join('\n')}\n\n`;
}
