// A small HTTPS double of exactly the Kubernetes API paths the webhook uses — not a
// Kubernetes API server:
//   GET   /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}
//   PATCH /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}  (application/json-patch+json;
//         a failed `test` op is 422 like the API server; every change bumps metadata.resourceVersion)
//   GET|PUT /api/v1/namespaces/{ns}/secrets/{name}, POST /api/v1/namespaces/{ns}/secrets
//   GET|PUT /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}, POST …/leases
//         (404 when absent, 409 AlreadyExists on create, 409 Conflict on a stale resourceVersion)
//   GET   /api/v1/namespaces                     (NamespaceList)
//   GET   /api/v1/namespaces?watch=true&…        (watch stream: one JSON event per line)
//   POST  /apis/authentication.k8s.io/v1/tokenreviews  (answers from `tokenReviews`; unknown tokens are not authenticated)
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
import { defer } from './cleanup.ts';

type Namespace = { metadata: { name: string; annotations?: Record<string, string>; resourceVersion?: string } };
export type RecordedRequest = { method: string; path: string; contentType: string | undefined; body: unknown };

export class KubeApiDouble {
  readonly requests: RecordedRequest[] = [];
  readonly webhookConfigs = new Map<string, Record<string, unknown>>();
  /** Tokens the double's TokenReview accepts, with the user it reports; audiences default to the API server's own. */
  readonly tokenReviews = new Map<string, { username: string; audiences?: string[]; extra?: Record<string, string[]> }>();
  /** Secrets and Leases by `secrets/{ns}/{name}` or `leases/{ns}/{name}`. */
  readonly objects = new Map<string, Record<string, any>>();
  /** Awaited before each answer: lets a test hold requests back to force an interleaving. */
  beforeAnswer: ((request: RecordedRequest) => Promise<void>) | undefined;
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

  /** Deletes a namespace; watchers get a DELETED event. */
  deleteNamespace(name: string): void {
    const object = this.#namespaces.get(name);
    if (object === undefined) return;
    this.#namespaces.delete(name);
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#revision) } };
    for (const watcher of this.#watchers) watcher.write(`${JSON.stringify({ type: 'DELETED', object: deleted })}\n`);
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
      await this.beforeAnswer?.(this.requests.at(-1)!);
      const stored = /^\/(?:api|apis\/coordination\.k8s\.io)\/v1\/namespaces\/([^/]+)\/(secrets|leases)(?:\/([^/]+))?$/.exec(url.pathname);
      if (stored && (stored[2] === 'secrets') === url.pathname.startsWith('/api/v1/'))
        return this.#storedObject(req.method ?? '', stored, text, res);
      const mwc = /^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/([^/]+)$/.exec(url.pathname);
      if (mwc) {
        const current = this.webhookConfigs.get(mwc[1]!) as Record<string, any> | undefined;
        if (!current) return json(res, 404, { kind: 'Status', code: 404, message: `mutatingwebhookconfigurations "${mwc[1]}" not found` });
        current.metadata = { resourceVersion: String(this.#revision), ...current.metadata }; // as the API server stores it
        if (req.method === 'GET') return json(res, 200, current);
        if (req.method === 'PATCH' && req.headers['content-type'] === 'application/json-patch+json') {
          let next: Record<string, any>;
          try {
            next = fastJsonPatch.applyPatch(structuredClone(current), JSON.parse(text), true, false).newDocument;
          } catch (error) {
            return json(res, 422, { kind: 'Status', code: 422, reason: 'Invalid', message: (error as Error).message });
          }
          next.metadata = { ...next.metadata, resourceVersion: String(++this.#revision) };
          this.webhookConfigs.set(mwc[1]!, next);
          return json(res, 200, next);
        }
        return json(res, 415, { kind: 'Status', code: 415, message: 'unsupported patch type' });
      }
      if (url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews' && req.method === 'POST') {
        const spec = ((JSON.parse(text) as { spec?: { token?: string; audiences?: string[] } }).spec ?? {}) as {
          token?: string;
          audiences?: string[];
        };
        const known = this.tokenReviews.get(spec.token ?? '');
        const audiences = known?.audiences ?? ['https://kubernetes.default.svc'];
        const ok = known !== undefined && (spec.audiences ?? []).every((a) => audiences.includes(a));
        const status = ok
          ? { authenticated: true, user: { username: known.username, extra: known.extra ?? {} }, audiences: spec.audiences ?? audiences }
          : { authenticated: false, error: known ? 'token audiences do not match' : 'invalid bearer token' };
        return json(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status });
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

  /** GET, POST (create) and PUT (replace with resourceVersion check) of a Secret or Lease. */
  #storedObject(method: string, match: RegExpExecArray, text: string, res: ServerResponse): void {
    const [, namespace, resource, name] = match;
    const status = (code: number, reason: string, message: string) => json(res, code, { kind: 'Status', code, reason, message });
    if (method === 'POST' && name === undefined) {
      const body = JSON.parse(text) as Record<string, any>;
      const key = `${resource}/${namespace}/${body.metadata?.name}`;
      if (this.objects.has(key)) return status(409, 'AlreadyExists', `${resource} "${body.metadata?.name}" already exists`);
      const created = { ...body, metadata: { ...body.metadata, namespace, resourceVersion: String(++this.#revision) } };
      this.objects.set(key, created);
      return json(res, 201, created);
    }
    const key = `${resource}/${namespace}/${name}`;
    const current = this.objects.get(key);
    if (name === undefined || !['GET', 'PUT'].includes(method)) return status(405, 'MethodNotAllowed', 'not served by this double');
    if (!current) return status(404, 'NotFound', `${resource} "${name}" not found`);
    if (method === 'GET') return json(res, 200, current);
    const body = JSON.parse(text) as Record<string, any>;
    if (body.metadata?.resourceVersion !== current.metadata.resourceVersion)
      return status(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified`);
    const replaced = { ...body, metadata: { ...body.metadata, namespace, resourceVersion: String(++this.#revision) } };
    this.objects.set(key, replaced);
    json(res, 200, replaced);
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

/**
 * A started KubeApiDouble, stopped when `t` ends, holding MutatingWebhookConfiguration
 * `injector` with the chart's two webhooks, both calling Service llm-config/injector at /mutate.
 */
export async function startKubeApiWithInjector(t: Parameters<typeof defer>[0]): Promise<KubeApiDouble> {
  const api = new KubeApiDouble();
  await api.start();
  defer(t, () => api.stop());
  api.webhookConfigs.set('injector', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'injector' },
    webhooks: ['inject.config.llm-dev-ops.io', 'templates.config.llm-dev-ops.io'].map((name) => ({
      name,
      clientConfig: { service: { name: 'injector', namespace: 'llm-config', path: '/mutate' } },
    })),
  });
  return api;
}
