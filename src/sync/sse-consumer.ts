// Reads one watch connection: SSE framing (eventsource-parser), a heartbeat timer
// reset by every complete event and every comment (ping) — never by bare bytes, so a
// server dripping half an event cannot pass for alive — and typed watch events.
// Returns when the server ends the stream; rejects on stall, protocol error or abort.

import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CentralProtocolError, EntryRefusedError, StreamStalledError } from '../errors.ts';
import { parseEntry, parseEntryAnswer, type Entry, type Refusal } from '../central/entry.ts';

export type WatchEvent =
  | {
      readonly type: 'snapshot';
      readonly id: string | undefined;
      readonly namespaces: ReadonlyMap<string, readonly Entry[]>;
      readonly refused: readonly Refusal[];
      /** The environment the snapshot says it is for, when it says (checked against the question by the store). */
      readonly environment?: string | undefined;
    }
  | { readonly type: 'put'; readonly id: string | undefined; readonly entry: Entry }
  /** A put whose entry was refused (malformed, too deep): skipped, the stream goes on. */
  | { readonly type: 'refused'; readonly id: string | undefined; readonly refusal: Refusal }
  | { readonly type: 'delete'; readonly id: string | undefined; readonly namespace: string; readonly key: string }
  | { readonly type: 'ping' };

/** Longest event id kept as the resume cursor. */
export const MAX_EVENT_ID_LENGTH = 256;

/**
 * Whether a server's event id can be sent back as a Last-Event-ID header: Latin-1
 * printable text (no control characters, no surrounding blanks), at most 256
 * characters. Any other id is not kept: the next reconnect asks for a fresh snapshot.
 */
export function isUsableEventId(id: string | undefined): boolean {
  return (
    id !== undefined && id.length <= MAX_EVENT_ID_LENGTH && /^[\x21-\x7e\xa1-\xff](?:[\x20-\x7e\xa0-\xff]*[\x21-\x7e\xa1-\xff])?$/.test(id)
  );
}

export function decodeWatchEvent(message: EventSourceMessage): WatchEvent | undefined {
  const where = `watch event ${message.event ?? 'message'}${message.id ? ` #${message.id}` : ''}`;
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch (error) {
    throw new CentralProtocolError(`${where}: data is not JSON`, { cause: error });
  }
  const record = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  switch (message.event) {
    case 'snapshot': {
      const raw = record.namespaces;
      if (typeof raw !== 'object' || raw === null) throw new CentralProtocolError(`${where}: no namespaces object`);
      const namespaces = new Map<string, readonly Entry[]>();
      const refused: Refusal[] = [];
      for (const [ns, list] of Object.entries(raw)) {
        const answer = parseEntryAnswer(list, `${where} ${ns}`);
        namespaces.set(ns, answer.entries);
        refused.push(...answer.refused);
      }
      const environment = typeof record.environment === 'string' ? record.environment : undefined;
      return { type: 'snapshot', id: message.id, namespaces, refused, environment };
    }
    case 'put':
      try {
        return { type: 'put', id: message.id, entry: parseEntry(data, where) };
      } catch (error) {
        if (error instanceof EntryRefusedError) return { type: 'refused', id: message.id, refusal: error.refusal };
        throw error;
      }
    case 'delete': {
      const { namespace, key } = record;
      if (typeof namespace !== 'string' || typeof key !== 'string') throw new CentralProtocolError(`${where}: needs namespace and key`);
      return { type: 'delete', id: message.id, namespace, key };
    }
    default:
      return undefined; // an event type from a newer server: ignored, not fatal
  }
}

export async function consumeWatchStream(
  body: Readable,
  options: { heartbeatTimeoutMs: number; maxEventBytes: number; onEvent: (event: WatchEvent) => void },
): Promise<void> {
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    body.destroy(error);
  };
  const parser = createParser({
    maxBufferSize: options.maxEventBytes,
    onEvent: (message) => {
      if (failure) return;
      armHeartbeat();
      try {
        const event = decodeWatchEvent(message);
        if (event) options.onEvent(event);
      } catch (error) {
        fail(error as Error);
      }
    },
    onComment: () => {
      armHeartbeat();
      options.onEvent({ type: 'ping' });
    },
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded')
        fail(new CentralProtocolError(`watch event larger than ${options.maxEventBytes} bytes`));
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const armHeartbeat = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => fail(new StreamStalledError(`no data or ping for ${options.heartbeatTimeoutMs}ms`)),
      options.heartbeatTimeoutMs,
    );
  };
  armHeartbeat();
  try {
    body.setEncoding('utf8');
    for await (const chunk of body as AsyncIterable<string>) {
      parser.feed(chunk);
      if (failure) break;
    }
  } catch (error) {
    throw failure ?? error;
  } finally {
    clearTimeout(timer);
  }
  if (failure) throw failure;
}
