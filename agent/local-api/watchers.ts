// Local change notification without values: `GET /v1/watch?index=N&wait=30s`
// (long-poll on the local revision) and `GET /v1/events` (SSE). Both are tracked so
// that shutdown can answer or close them at once instead of waiting out their timers,
// and counted against a cap (--max-watchers): each held request costs a socket, its
// buffers and a subscription (about 20 KB measured; 9,100 of them took an agent from 87
// to 243 MB), so beyond the cap new ones are refused with 503 rather than growing the
// agent into its memory limit. Answers given at once hold nothing and are never refused.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDurationMs } from '../../src/durations.ts';
import type { ChangeLog, RevisionRecord } from '../../src/sync/change-log.ts';
import type { ConfigStore } from '../../src/store/config-store.ts';
import { jsonAnswer, errorAnswer, type Answer } from './answers.ts';

const MAX_WAIT_MS = 5 * 60_000;
const PING_MS = 15_000;

export class Watchers {
  readonly #store: ConfigStore;
  readonly #log: ChangeLog;
  readonly #open = new Set<() => void>();
  readonly #max: number;

  constructor(store: ConfigStore, log: ChangeLog, options: { maxOpen: number }) {
    this.#store = store;
    this.#log = log;
    this.#max = options.maxOpen;
  }

  /** The 503 for a request that would be held while the cap is reached; undefined when there is room. */
  #full(): Answer | undefined {
    if (this.#open.size < this.#max) return undefined;
    return errorAnswer(
      503,
      'Service Unavailable',
      `${this.#open.size} watches and event streams are open, the most this agent holds (--max-watchers=${this.#max}); retry later, or share one stream per process`,
    );
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** Ends every open watch now (shutdown): long-polls answer with the current index. */
  closeAll(): void {
    for (const close of [...this.#open]) close();
  }

  /** Long-poll. Resolves with the answer to send; `query` is the raw query string. */
  longPoll(query: URLSearchParams, req: IncomingMessage): Promise<Answer> {
    const indexText = query.get('index') ?? '0';
    const waitText = query.get('wait') ?? '30s';
    const index = /^\d{1,15}$/.test(indexText) ? Number(indexText) : Number.NaN;
    const waitMs = parseDurationMs(waitText);
    if (Number.isNaN(index))
      return Promise.resolve(errorAnswer(400, 'Bad Request', `index=${indexText}: a whole number (the X-Config-Revision you last saw)`));
    if (waitMs === undefined || waitMs > MAX_WAIT_MS)
      return Promise.resolve(errorAnswer(400, 'Bad Request', `wait=${waitText}: a duration up to 5m (e.g. 30s)`));
    const answer = (): Answer => {
      const current = this.#store.view.revision;
      // An index from the future was handed out by another life of this agent (a cold
      // restart begins again at 0): nothing it knew can be trusted, so reset at once.
      const records = index > current ? undefined : this.#log.since(index, current);
      return jsonAnswer(200, {
        index: current,
        changed: current !== index,
        // null: the log does not reach back to `index` (or `index` is not ours); reload everything you use.
        changes: records === undefined ? null : records.flatMap((r) => r.changes),
      });
    };
    if (this.#store.view.revision !== index) return Promise.resolve(answer());
    const full = this.#full();
    if (full !== undefined) return Promise.resolve(full);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        unsubscribe();
        req.off('close', finish);
        this.#open.delete(finish);
        resolve(answer());
      };
      const timer = setTimeout(finish, waitMs);
      const unsubscribe = this.#log.subscribe(finish);
      req.once('close', finish);
      this.#open.add(finish);
    });
  }

  /** SSE: a `revision` event per applied change set, resumable with Last-Event-ID. An answer when refused. */
  events(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Answer | 'streaming' {
    const full = req.method === 'HEAD' ? undefined : this.#full();
    if (full !== undefined) return full;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') {
      res.end(); // the headers of the stream, without the stream
      return 'streaming';
    }
    const current = this.#store.view.revision;
    const last = Number(req.headers['last-event-id']);
    // A Last-Event-ID from the future belongs to another life of this agent: reset.
    const missed = Number.isSafeInteger(last) && last >= 0 && last <= current ? this.#log.since(last, current) : undefined;
    if (missed === undefined) res.write(`event: reset\nid: ${current}\ndata: ${JSON.stringify({ revision: current })}\n\n`);
    else for (const record of missed) res.write(formatRevision(record));
    const unsubscribe = this.#log.subscribe((record) => res.write(formatRevision(record)));
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    const close = (): void => {
      clearInterval(ping);
      unsubscribe();
      this.#open.delete(close);
      res.end();
    };
    this.#open.add(close);
    req.once('close', close);
    return 'streaming';
  }
}

function formatRevision(record: RevisionRecord): string {
  return `event: revision\nid: ${record.revision}\ndata: ${JSON.stringify(record)}\n\n`;
}
