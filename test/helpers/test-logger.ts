// pino-style test logging: a real pino logger writing to an in-memory stream, with
// the JSON lines parsed for assertions.

import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.ts';

export type LogLine = Record<string, unknown> & { level: string; msg?: string };

export function testLogger(level = 'debug'): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(text);
        lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  return { logger: createLogger({ level, name: 'test', destination }), lines, raw };
}
