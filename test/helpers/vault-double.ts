// A small HTTP double of exactly the Vault endpoints the agent uses — not Vault:
//   POST /v1/auth/kubernetes/login        {role, jwt} → auth.client_token, lease_duration
//   POST /v1/auth/token/renew-self        X-Vault-Token → auth.lease_duration
//   GET  /v1/<mount>/data/<path>          KV v2 read  → data.data, data.metadata.version
//   GET  /v1/<mount>/metadata/<path>      KV v2 metadata → data.current_version, data.versions
//   GET  /v1/sys/health
// Tokens expire after `ttlSeconds`; each role may read the path prefixes it is given.
// Errors are Vault's shape: {"errors": [...]}. Every request is recorded.

import { createServer, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

type Version = { data: Record<string, unknown>; created_time: string; deletion_time: string; destroyed: boolean };

export class VaultDouble {
  readonly requests: Array<{ method: string; path: string }> = [];
  readonly roles = new Map<string, { jwt: string; paths: string[] }>();
  readonly #secrets = new Map<string, Version[]>();
  readonly #tokens = new Map<string, { role: string; expiresAt: number }>();
  ttlSeconds = 60;
  refuseRenewal = false;
  #server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setSecret(path: string, data: Record<string, unknown>): number {
    const versions = this.#secrets.get(path) ?? [];
    versions.push({ data, created_time: new Date().toISOString(), deletion_time: '', destroyed: false });
    this.#secrets.set(path, versions);
    return versions.length;
  }

  /** `vault kv metadata delete`: the secret and all its versions are gone (404). */
  deleteSecret(path: string): void {
    this.#secrets.delete(path);
  }

  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  async start(port = 0): Promise<void> {
    this.#server = createServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const path = (req.url ?? '/').split('?')[0]!;
      this.requests.push({ method: req.method ?? '', path });
      this.#route(req.method ?? '', path, text, String(req.headers['x-vault-token'] ?? ''), res);
    });
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  #route(method: string, path: string, body: string, token: string, res: ServerResponse): void {
    if (path === '/v1/sys/health') return reply(res, 200, { initialized: true, sealed: false, standby: false, version: 'double' });
    if (path === '/v1/auth/kubernetes/login' && method === 'POST') {
      const { role, jwt } = JSON.parse(body || '{}') as { role?: string; jwt?: string };
      const known = role ? this.roles.get(role) : undefined;
      if (!known) return reply(res, 400, { errors: [`invalid role name "${role}"`] });
      if (known.jwt !== jwt) return reply(res, 403, { errors: ['permission denied'] });
      return reply(res, 200, { auth: this.#issue(role!) });
    }
    const session = this.#tokens.get(token);
    if (!session || session.expiresAt <= Date.now()) return reply(res, 403, { errors: ['permission denied'] });
    if (path === '/v1/auth/token/renew-self' && method === 'POST') {
      if (this.refuseRenewal) return reply(res, 403, { errors: ['permission denied'] });
      session.expiresAt = Date.now() + this.ttlSeconds * 1000;
      return reply(res, 200, { auth: { client_token: token, lease_duration: this.ttlSeconds, renewable: true } });
    }
    const kv = /^\/v1\/([^/]+)\/(data|metadata)\/(.+)$/.exec(path);
    if (kv && method === 'GET') {
      const [, mount, kind, secretPath] = kv;
      const full = `${mount}/${secretPath}`;
      if (!this.roles.get(session.role)!.paths.some((prefix) => full.startsWith(prefix)))
        return reply(res, 403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
      const versions = this.#secrets.get(full);
      if (!versions) return reply(res, 404, { errors: [] });
      const current = versions.length;
      if (kind === 'metadata') {
        return reply(res, 200, {
          data: {
            current_version: current,
            oldest_version: 1,
            versions: Object.fromEntries(
              versions.map((v, i) => [
                String(i + 1),
                { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed },
              ]),
            ),
          },
        });
      }
      const latest = versions[current - 1]!;
      return reply(res, 200, {
        data: { data: latest.data, metadata: { version: current, created_time: latest.created_time, deletion_time: '', destroyed: false } },
      });
    }
    reply(res, 404, { errors: [] });
  }

  #issue(role: string) {
    const client_token = `hvs.${randomUUID()}`;
    this.#tokens.set(client_token, { role, expiresAt: Date.now() + this.ttlSeconds * 1000 });
    return { client_token, lease_duration: this.ttlSeconds, renewable: true, policies: ['default'] };
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
