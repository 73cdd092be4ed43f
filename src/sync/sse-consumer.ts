// Reads one watch connection: SSE framing (eventsource-parser), a heartbeat timer
// reset by every byte, and typed watch events. Returns when the server ends the
// stream; rejects on stall, protocol error or abort.

import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CentralProtocolError, StreamStalledError } from '../errors.ts';
import { parseEntry, parseEntryList, type Entry } from '../central/entry.ts';

export type WatchEvent =
  | { readonly type: 'snapshot'; readonly id: string | undefined; readonly namespaces: ReadonlyMap<string, readonly Entry[]> }
  | { readonly type: 'put'; readonly id: string | undefined; readonly entry: Entry }
  | { readonly type: 'delete'; readonly id: string | undefined; readonly namespace: string; readonly key: string }
  | { readonly type: 'ping' };

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
      const namespaces = new Map(Object.entries(raw).map(([ns, list]) => [ns, parseEntryList(list, `${where} ${ns}`)] as const));
      return { type: 'snapshot', id: message.id, namespaces };
    }
    case 'put':
      return { type: 'put', id: message.id, entry: parseEntry(data, where) };
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
      try {
        const event = decodeWatchEvent(message);
        if (event) options.onEvent(event);
      } catch (error) {
        fail(error as Error);
      }
    },
    onComment: () => options.onEvent({ type: 'ping' }),
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
      armHeartbeat();
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
