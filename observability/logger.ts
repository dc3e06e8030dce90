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

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const config: pino.LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: options.name ? { service: options.name } : null,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

export type { Logger };
