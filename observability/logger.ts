import pino, { type Logger } from 'pino';

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
 * Where log lines go by default: `dest` (a file descriptor or path) written asynchronously. Each line
 * starts a write at once when none is in flight, so a quiet process logs as promptly as a synchronous
 * one; under load the lines that arrive during a write go out together in the next, instead of one
 * write(2) per request line on the request's own stack (about 14 µs each to /dev/null here, more into a
 * pipe). Bounded: beyond LOG_BUFFER_MAX_BYTES unwritten, lines are dropped rather than letting a stalled
 * stdout grow the heap. pino flushes what is left synchronously when the process exits.
 */
export function logDestination(dest: number | string = 1): pino.DestinationStream {
  return pino.destination({ dest, sync: false, minLength: 0, maxLength: LOG_BUFFER_MAX_BYTES });
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
