// Listening and closing. The Unix socket is created 0660 (0666 with --readable-by=all),
// a stale one left by a crash is replaced, a live one (another agent) is refused, and the
// file is removed on close. Connections that arrive over a Unix socket are remembered,
// so that the local API can tell them from loopback TCP (the Host/Origin rule applies to
// TCP only: a browser cannot reach a socket). Closing stops accepting, lets in-flight
// requests finish within the grace period, then cuts what is left.

import type { IncomingMessage, RequestListener, Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { chmod, lstat, rm, stat, access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { InvalidSettingError } from '../src/errors.ts';
import type { ListenAddress } from '../src/options/parsers.ts';

// Not `import { createServer } from 'node:http'`: an ES import of node:http evaluates
// all its exports, and Node 24's include WebSocket, CloseEvent and MessageEvent, which
// load Node's bundled undici (fetch, WebSocket): +12 MiB RSS on a bare server
// (docs/sizing.md; test/e2e/lazy-modules.test.ts).
const { createServer } = process.getBuiltinModule('node:http');

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

const unixConnections = new WeakSet<Socket>();

/** True when the request came in over a Unix socket this module listens on. */
export function viaUnixSocket(req: IncomingMessage): boolean {
  return unixConnections.has(req.socket);
}

/** Listens on a Unix socket; `mode` 0o660 (group, the default) or 0o666 (all). */
export async function listenSocket(handler: RequestListener, path: string, mode = 0o660): Promise<Server> {
  await checkSocketDirectory(path);
  await replaceStaleSocket(path);
  const server = newServer(handler);
  server.on('connection', (socket: Socket) => unixConnections.add(socket));
  server.listen(path);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]).catch(
    (error: unknown) => {
      throw new InvalidSettingError('--socket', path, `a socket path this process can create (${(error as NodeJS.ErrnoException).code})`, {
        cause: error,
      });
    },
  );
  await chmod(path, mode);
  return server;
}

/**
 * Whoever can write the socket's directory can rename the socket away and bind their
 * own, then read every client's requests (bearer tokens included). Like ssh-agent and
 * gpg-agent, refuse a directory another uid controls: one owned by a uid other than this
 * process's or root, or one of ours that group or others can write without the sticky
 * bit. A root-owned directory is root's decision and only root can make one: kubelet
 * makes the injected emptyDir 0777 (2777 with fsGroup) owned by root, and only the pod's
 * own containers can reach it, so that stays accepted.
 */
export async function checkSocketDirectory(path: string, uid = process.getuid?.()): Promise<void> {
  const dir = dirname(path);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InvalidSettingError('--socket', path, `a path in an existing directory (${dir} does not exist)`);
  await access(dir, constants.W_OK).catch(() => {
    throw new InvalidSettingError('--socket', path, `a path in a writable directory (${dir} is not writable)`);
  });
  if (uid === undefined || info.uid === 0) return;
  const takeover = 'who could replace the socket and read the requests of its clients, tokens included';
  if (info.uid !== uid) {
    throw new InvalidSettingError(
      '--socket',
      path,
      `a path in a directory owned by this agent's uid (${uid}) or root (${dir} is owned by uid ${info.uid}, ${takeover})`,
    );
  }
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) {
    const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
    throw new InvalidSettingError(
      '--socket',
      path,
      `a path in a directory only its owner can write, or a sticky one (${dir} is mode ${mode}: writable by group or others, ${takeover})`,
    );
  }
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
