import pino, { type Logger } from 'pino';
import { LineDestination } from './log-destination.ts';

/**
 * Structured logs. Secrets are redacted here, by configuration, not at call sites. The paths are
 * explicit (no wildcards): wildcard redaction costs on every line, and the objects we log have known
 * shapes — top-level fields and a `headers` object. Secrets held in config are SecretValue objects,
 * which serialise as "[redacted]" wherever they end up, as a second line of defence.
 */
export const REDACT_PATHS = [
  'authorization',
  'x-api-key',
  'api-key',
  'apiKey',
  'key',
  'secret',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'headers["x-goog-api-key"]',
  'headers.cookie',
];

/** Log bytes held at most while the destination (a pipe to the container runtime) is not keeping up. */
const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Where log lines go by default: `dest` (a file descriptor or path), the lines of one event-loop turn
 * in one asynchronous write (observability/log-destination.ts), bounded at LOG_BUFFER_MAX_BYTES.
 */
export function logDestination(dest: number | string = 1): pino.DestinationStream {
  return new LineDestination(dest, LOG_BUFFER_MAX_BYTES);
}

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const config: pino.LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: options.name ? { service: options.name } : null,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(config, options.destination ?? logDestination());
}

export type { Logger };
