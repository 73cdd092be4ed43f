// Tells the app that its files changed, after they are on disk: a POST to a reload URL
// (retried with backoff) or a signal to a named process. Debounced, so a burst of
// changes within the window ends in one notification.

import { createNodeHttpTransport } from '../http/node-http-transport.ts';
import { discard, type HttpTransport } from '../http/transport.ts';
import { describeError, errorCode, NotifyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { retryWithBackoff, type BackoffPolicy } from '../sync/backoff.ts';
import { findProcesses } from './find-processes.ts';

export type NotifierOptions = {
  readonly debounceMs: number;
  readonly reloadUrl: URL | undefined;
  readonly reloadSignal: NodeJS.Signals;
  readonly reloadProcess: string | undefined;
  readonly backoff: BackoffPolicy;
  /** How long one notification keeps retrying the reload URL. */
  readonly retryForMs: number;
  readonly logger: Logger;
  readonly procRoot?: string;
};

export class ChangeNotifier {
  readonly #o: NotifierOptions;
  #timer: NodeJS.Timeout | undefined;
  #revision = 0;
  #running: Promise<void> = Promise.resolve();
  readonly #abort = new AbortController();
  #transport: HttpTransport | undefined;

  constructor(options: NotifierOptions) {
    this.#o = options;
  }

  get enabled(): boolean {
    return this.#o.reloadUrl !== undefined || this.#o.reloadProcess !== undefined;
  }

  /** Files of `revision` are on disk; notify once the debounce window is quiet. */
  filesChanged(revision: number): void {
    if (!this.enabled) return;
    this.#revision = revision;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#running.then(() => this.#notify(this.#revision));
    }, this.#o.debounceMs);
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('notifier closed'));
    await this.#running.catch(() => undefined);
    await this.#transport?.close();
  }

  async #notify(revision: number): Promise<void> {
    if (this.#o.reloadUrl) await this.#post(this.#o.reloadUrl, revision);
    if (this.#o.reloadProcess) await this.#signal(this.#o.reloadProcess, revision);
  }

  async #post(url: URL, revision: number): Promise<void> {
    const { logger } = this.#o;
    try {
      await retryWithBackoff(
        async () => {
          this.#transport ??= createNodeHttpTransport(url, {
            tls: { rejectUnauthorized: true },
            connectTimeoutMs: 10_000,
            connections: 1,
            // Under the 5 s idle timeout of common servers (Node's among them): a POST is not
            // retried on a connection the app had closed meanwhile, so keep none that long.
            keepAliveMs: 1_000,
          });
          const response = await this.#transport.exchange({
            method: 'POST',
            path: `${url.pathname}${url.search}`,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ revision }),
            headersTimeoutMs: 10_000,
            bodyTimeoutMs: 10_000,
            signal: this.#abort.signal,
          });
          await discard(response.body);
          if (response.statusCode >= 300)
            throw new NotifyError(`reload URL answered ${response.statusCode}; it must answer 2xx`, response.statusCode);
        },
        {
          policy: this.#o.backoff,
          signal: this.#abort.signal,
          maxRetryTimeMs: this.#o.retryForMs,
          onRetry: (error, attempt, delayMs) => {
            // Say what happened: an answer with an error status is not "not reached".
            const status = error instanceof NotifyError ? error.status : undefined;
            logger.warn(
              { url: url.href, attempt, delayMs, code: errorCode(error), status, err: describeError(error) },
              status === undefined ? 'reload URL not reached; retrying' : `reload URL answered ${status}; retrying`,
            );
          },
        },
      );
      logger.info({ url: url.href, revision }, 'app notified (reload URL)');
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const failure =
        error instanceof NotifyError
          ? error
          : new NotifyError(`reload URL not reached: ${describeError(error)}`, undefined, { cause: error });
      logger.error(
        { url: url.href, revision, code: failure.code, status: failure.status, err: failure.message },
        failure.status === undefined
          ? 'app NOT notified: reload URL unreachable; files are updated on disk regardless'
          : 'app NOT notified: reload URL refused the notification; files are updated on disk regardless',
      );
    }
  }

  async #signal(name: string, revision: number): Promise<void> {
    const { logger, reloadSignal } = this.#o;
    const pids = await findProcesses(name, this.#o.procRoot);
    if (pids.length === 0) {
      logger.error(
        { process: name, revision },
        'app NOT notified: no process of that name is visible (does the pod set shareProcessNamespace: true?)',
      );
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, reloadSignal);
        logger.info({ process: name, pid, signal: reloadSignal, revision }, 'app notified (signal)');
      } catch (error) {
        logger.error({ process: name, pid, signal: reloadSignal, err: describeError(error) }, 'app NOT notified: signal failed');
      }
    }
  }
}
