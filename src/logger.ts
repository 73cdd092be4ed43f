// Structured JSON logs (pino). Configuration values and tokens are never passed to the
// logger; the redaction list is a second line of defence for fields that could carry one.

import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'value',
  '*.value',
  'values',
  'entry.value',
  'token',
  '*.token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'secret',
  '*.secret',
];

export function createLogger(options: { level: string; name: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
