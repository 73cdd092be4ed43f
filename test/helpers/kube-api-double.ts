// A small HTTPS double of exactly the Kubernetes API paths the webhook uses — not a
// Kubernetes API server:
//   GET   /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}
//   PATCH /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}  (application/json-patch+json)
//   GET   /api/v1/namespaces                     (NamespaceList)
//   GET   /api/v1/namespaces?watch=true&…        (watch stream: one JSON event per line)
// Bearer-token auth like the API server; every request is recorded for assertions.

import { createServer, type Server } from 'node:https';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import fastJsonPatch from 'fast-json-patch';
import { stringify } from 'yaml';
import { generateTlsMaterial } from '../../webhook/tls-material.ts';

type Namespace = { metadata: { name: string; annotations?: Record<string, string>; resourceVersion?: string } };
export type RecordedRequest = { method: string; path: string; contentType: string | undefined; body: unknown };

export class KubeApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly webhookConfigs = new Map<string, Record<string, unknown>>();
  readonly #namespaces = new Map<string, Namespace>();
  readonly #watchers = new Set<ServerResponse>();
  #revision = 1;
  #server: Server | undefined;
  caPem = '';
  url = '';
  readonly token = 'double-token';

  setNamespace(namespace: Namespace): void {
    const object = {
      apiVersion: 'v1',
      kind: 'Namespace',
      ...namespace,
      metadata: { ...namespace.metadata, resourceVersion: String(++this.#revision) },
    };
    const type = this.#namespaces.has(namespace.metadata.name) ? 'MODIFIED' : 'ADDED';
    this.#namespaces.set(namespace.metadata.name, object);
    for (const watcher of this.#watchers) watcher.write(`${JSON.stringify({ type, object })}\n`);
  }

  async start(): Promise<void> {
    const tls = await generateTlsMaterial({
      commonName: 'kube-api-double',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
    });
    this.caPem = tls.caPem;
    this.#server = createServer({ cert: tls.certPem, key: tls.keyPem }, async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const url = new URL(req.url ?? '/', 'https://double');
      this.requests.push({
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        contentType: req.headers['content-type'],
        body: text ? JSON.parse(text) : undefined,
      });
      if (req.headers.authorization !== `Bearer ${this.token}`)
        return json(res, 401, { kind: 'Status', code: 401, message: 'Unauthorized' });
      const mwc = /^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/([^/]+)$/.exec(url.pathname);
      if (mwc) {
        const current = this.webhookConfigs.get(mwc[1]!);
        if (!current) return json(res, 404, { kind: 'Status', code: 404, message: `mutatingwebhookconfigurations "${mwc[1]}" not found` });
        if (req.method === 'GET') return json(res, 200, current);
        if (req.method === 'PATCH' && req.headers['content-type'] === 'application/json-patch+json') {
          const next = fastJsonPatch.applyPatch(structuredClone(current), JSON.parse(text), true, false).newDocument;
          this.webhookConfigs.set(mwc[1]!, next);
          return json(res, 200, next);
        }
        return json(res, 415, { kind: 'Status', code: 415, message: 'unsupported patch type' });
      }
      if (url.pathname === '/api/v1/namespaces' && req.method === 'GET') {
        if (url.searchParams.get('watch') === 'true') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders(); // the API server answers a watch at once, then streams events
          this.#watchers.add(res);
          res.on('close', () => this.#watchers.delete(res));
          return;
        }
        return json(res, 200, {
          apiVersion: 'v1',
          kind: 'NamespaceList',
          metadata: { resourceVersion: String(this.#revision) },
          items: [...this.#namespaces.values()],
        });
      }
      json(res, 404, { kind: 'Status', code: 404, message: 'not served by this double' });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig that points at this double, for --kubeconfig. */
  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, 'kubeconfig');
    await writeFile(
      path,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'double',
        clusters: [
          { name: 'double', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } },
        ],
        users: [{ name: 'double', user: { token: this.token } }],
        contexts: [{ name: 'double', context: { cluster: 'double', user: 'double' } }],
      }),
    );
    return path;
  }

  async stop(): Promise<void> {
    for (const watcher of this.#watchers) watcher.end();
    this.#server?.closeAllConnections();
    this.#server?.close();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
