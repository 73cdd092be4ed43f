// The last-known-good also in a Kubernetes Secret (--state-secret), for replicas whose
// --state-dir is an emptyDir: a pod scheduled during an upstream outage still starts
// with data. Each replica writes its own keys (`<replica>.<environment>.json.gz`: the
// state file, gzipped), at most once per `minGapMs`; a starting replica restores from
// every key, newest first. Keys not rewritten for a day belong to replicas long gone
// and are dropped. Conflicting writers retry on the Secret's resourceVersion.

import { gunzipSync, gzipSync } from 'node:zlib';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { describeError } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';

type SecretApi = Pick<CoreV1Api, 'readNamespacedSecret' | 'replaceNamespacedSecret' | 'createNamespacedSecret'>;
const FORGET_AFTER_MS = 24 * 3_600_000;
/** Secrets hold at most 1 MiB; leave room for other replicas' keys. */
const MAX_KEY_BYTES = 256 * 1024;

function status(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** `<replica>.<environment>.json.gz`: the keys this writer owns. */
const STATE_KEY = /^(.+)\.([a-z]+)\.json\.gz$/;

export class StateSecret {
  readonly #api: SecretApi;
  readonly #name: string;
  readonly #namespace: string;
  readonly #replica: string;
  readonly #logger: Logger;
  readonly #minGapMs: number;
  readonly #pending = new Map<string, Buffer>();
  #timer: NodeJS.Timeout | undefined;
  #lastWriteAt = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: { api: SecretApi; name: string; namespace: string; replica: string; logger: Logger; minGapMs?: number }) {
    this.#api = options.api;
    this.#name = options.name;
    this.#namespace = options.namespace;
    this.#replica = options.replica.replace(/[^A-Za-z0-9._-]/g, '_');
    this.#logger = options.logger;
    this.#minGapMs = options.minGapMs ?? 10_000;
  }

  /** Every replica's state documents, by key; empty when the Secret is missing or unreadable (logged). */
  async load(): Promise<Map<string, { environment: string; text: string }>> {
    const found = new Map<string, { environment: string; text: string }>();
    let secret: V1Secret;
    try {
      secret = await this.#api.readNamespacedSecret({ name: this.#name, namespace: this.#namespace });
    } catch (error) {
      if (status(error) !== 404)
        this.#logger.warn({ secret: this.#name, err: describeError(error) }, 'state Secret unreadable; not restored from it');
      return found;
    }
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      const match = STATE_KEY.exec(key);
      if (!match) continue;
      try {
        found.set(key, {
          environment: match[2]!,
          text: gunzipSync(Buffer.from(value, 'base64'), { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8'),
        });
      } catch (error) {
        this.#logger.warn({ secret: this.#name, key, err: describeError(error) }, 'state Secret key unreadable; skipped');
      }
    }
    return found;
  }

  /** Schedules this replica's state of `environment` for writing. */
  put(environment: string, text: Buffer): void {
    this.#pending.set(`${this.#replica}.${environment}.json.gz`, gzipSync(text));
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastWriteAt + this.#minGapMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, wait);
    this.#timer.unref();
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return this.#writing;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    this.#lastWriteAt = Date.now();
    this.#writing = this.#writing.then(() =>
      this.#write(batch).catch((error: unknown) => {
        for (const [key, value] of batch) if (!this.#pending.has(key)) this.#pending.set(key, value);
        this.#logger.warn(
          { secret: this.#name, err: describeError(error) },
          'writing the state Secret failed; retried with the next change',
        );
      }),
    );
    return this.#writing;
  }

  async #write(batch: ReadonlyMap<string, Buffer>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let current: V1Secret | undefined;
      try {
        current = await this.#api.readNamespacedSecret({ name: this.#name, namespace: this.#namespace });
      } catch (error) {
        if (status(error) !== 404) throw error;
      }
      const data: Record<string, string> = {};
      const cutoff = Date.now() - FORGET_AFTER_MS;
      // State documents of replicas gone for a day are dropped; any other key is not ours and stays.
      for (const [key, value] of Object.entries(current?.data ?? {}))
        if (!STATE_KEY.test(key) || savedAt(value) >= cutoff) data[key] = value;
      for (const [key, value] of batch) {
        if (value.length > MAX_KEY_BYTES) {
          this.#logger.warn({ secret: this.#name, key, bytes: value.length }, 'state too large for the Secret; kept on disk only');
          continue;
        }
        data[key] = value.toString('base64');
      }
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { ...current?.metadata, name: this.#name, namespace: this.#namespace },
        data,
      };
      try {
        if (current === undefined) await this.#api.createNamespacedSecret({ namespace: this.#namespace, body });
        else await this.#api.replaceNamespacedSecret({ name: this.#name, namespace: this.#namespace, body });
        return;
      } catch (error) {
        // Another replica wrote in between (409 on resourceVersion, or created it first): read again.
        if ((status(error) !== 409 && status(error) !== 404) || attempt >= 3) throw error;
      }
    }
  }
}

/** savedAt of a stored state document (plain JSON even when sealed), 0 when unreadable. */
function savedAt(base64: string): number {
  try {
    const doc = JSON.parse(gunzipSync(Buffer.from(base64, 'base64')).toString('utf8')) as { savedAt?: unknown };
    return Date.parse(String(doc.savedAt)) || 0;
  } catch {
    return 0;
  }
}
