// Local change notification without values: `GET /v1/watch?index=N&wait=30s`
// (long-poll on the local revision) and `GET /v1/events` (SSE). Both are tracked so
// that shutdown can answer or close them at once instead of waiting out their timers.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDurationMs } from '../../src/durations.ts';
import type { ChangeLog, RevisionRecord } from '../../src/sync/change-log.ts';
import type { ConfigStore } from '../../src/sync/store.ts';
import { jsonAnswer, errorAnswer, type Answer } from './answers.ts';

const MAX_WAIT_MS = 5 * 60_000;
const PING_MS = 15_000;

export class Watchers {
  readonly #store: ConfigStore;
  readonly #log: ChangeLog;
  readonly #open = new Set<() => void>();

  constructor(store: ConfigStore, log: ChangeLog) {
    this.#store = store;
    this.#log = log;
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
      const records = this.#log.since(index, current);
      return jsonAnswer(200, {
        index: current,
        changed: current !== index,
        // null: the log no longer reaches back to `index`; reload everything you use.
        changes: records === undefined ? null : records.flatMap((r) => r.changes),
      });
    };
    if (this.#store.view.revision !== index) return Promise.resolve(answer());
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

  /** SSE: a `revision` event per applied change set, resumable with Last-Event-ID. */
  events(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const current = this.#store.view.revision;
    const last = Number(req.headers['last-event-id']);
    const missed = Number.isSafeInteger(last) ? this.#log.since(last, current) : undefined;
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
  }
}

function formatRevision(record: RevisionRecord): string {
  return `event: revision\nid: ${record.revision}\ndata: ${JSON.stringify(record)}\n\n`;
}
