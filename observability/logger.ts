import pino, { type Logger } from 'pino';

/**
 * Structured logs. Secrets are redacted here, by configuration, not at call sites: any field that could
 * hold a key or an auth header is censored wherever it appears in a logged object.
 */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'x-api-key',
  '*["x-api-key"]',
  '*.*["x-api-key"]',
  'api-key',
  '*["api-key"]',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
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
