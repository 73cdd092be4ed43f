// Listening and closing. The Unix socket is created 0660, a stale one left by a crash
// is replaced, a live one (another agent) is refused, and the file is removed on close.
// Closing stops accepting, lets in-flight requests finish within the grace period,
// then cuts what is left.

import { createServer, type RequestListener, type Server } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { chmod, lstat, rm, stat, access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { InvalidSettingError } from '../src/errors.ts';
import type { ListenAddress } from '../src/options/parsers.ts';

function newServer(handler: RequestListener): Server {
  return createServer({ maxHeaderSize: 16 * 1024, keepAliveTimeout: 65_000, headersTimeout: 10_000 }, handler);
}

export async function listenTcp(
  handler: RequestListener,
  address: ListenAddress,
  setting: string,
): Promise<{ server: Server; bound: string }> {
  const server = newServer(handler);
  server.listen(address.port, address.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InvalidSettingError(setting, `${address.host}:${address.port}`, `an address this process can listen on (${code})`, {
      cause: error,
    });
  }
  const bound = server.address() as AddressInfo;
  return { server, bound: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` };
}

export async function listenSocket(handler: RequestListener, path: string): Promise<Server> {
  await checkSocketDirectory(path);
  await replaceStaleSocket(path);
  const server = newServer(handler);
  server.listen(path);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]).catch(
    (error: unknown) => {
      throw new InvalidSettingError('--socket', path, `a socket path this process can create (${(error as NodeJS.ErrnoException).code})`, {
        cause: error,
      });
    },
  );
  await chmod(path, 0o660);
  return server;
}

async function checkSocketDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InvalidSettingError('--socket', path, `a path in an existing directory (${dir} does not exist)`);
  await access(dir, constants.W_OK).catch(() => {
    throw new InvalidSettingError('--socket', path, `a path in a writable directory (${dir} is not writable)`);
  });
}

async function replaceStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isSocket())
    throw new InvalidSettingError('--socket', path, 'a free path or a socket (a non-socket file is there; not removing it)');
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path)
      .once('connect', () => {
        probe.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false));
  });
  if (live) throw new InvalidSettingError('--socket', path, 'a path no other process is serving (another agent is listening there)');
  await rm(path, { force: true });
}

/** Stop accepting; wait for in-flight requests up to `graceMs`; then close what remains. */
export async function closeGracefully(servers: readonly Server[], graceMs: number): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  // A keep-alive connection goes idle only after its last answer is written, which may
  // be after close() was called: keep closing idle ones until all are gone.
  const closeIdle = (): void => {
    for (const s of servers) s.closeIdleConnections();
  };
  closeIdle();
  const sweeper = setInterval(closeIdle, 25);
  const timer = setTimeout(() => {
    for (const s of servers) s.closeAllConnections();
  }, graceMs);
  await Promise.all(closed);
  clearInterval(sweeper);
  clearTimeout(timer);
}
