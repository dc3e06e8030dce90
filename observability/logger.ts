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
  const destination = options.destination ?? logDestination();
  const logger = pino(config, destination);
  linesOf.set(logger, {
    destination,
    bindings: options.name ? `,"service":${JSON.stringify(options.name)}` : '',
  });
  return logger;
}

/** Where a logger made by createLogger writes, and its base bindings as JSON members. */
const linesOf = new WeakMap<Logger, { destination: pino.DestinationStream; bindings: string }>();

/** Top-level names the redaction paths act on: a line carrying any of them goes through pino. */
const REDACTED_TOP_LEVEL: ReadonlySet<string> = new Set(REDACT_PATHS.map((path) => path.split(/[.[]/)[0]!));

/** pino's numeric level of `info` (pino.levels.values.info). */
const INFO = 30;

/**
 * Writes info lines of one fixed kind (the per-request line) as pino would write them for `logger`:
 * `{"level":30,"time":"<ISO>",<bindings>,<fields>,"msg":"<msg>"}`, the same members in the same order,
 * with one JSON.stringify of the fields instead of pino's member-by-member serialisation, which was
 * most of the request line's cost. Only for a logger createLogger made (its destination and bindings
 * are known); any other (a child, a test's own) gets `logger.info`. Fields under a redacted name also
 * go through pino, so redaction holds whichever path a line takes.
 */
export function infoLineWriter(logger: Logger): (fields: Record<string, unknown>, msg: string) => void {
  const write = infoMembersWriter(logger);
  if (!write) return (fields, msg) => logger.info(fields, msg);
  return (fields, msg) => {
    if (!logger.isLevelEnabled('info')) return;
    for (const name in fields) {
      if (REDACTED_TOP_LEVEL.has(name)) {
        logger.info(fields, msg);
        return;
      }
    }
    const members = JSON.stringify(fields);
    write(members.length > 2 ? members.slice(1, -1) : '', msg);
  };
}

/** The ISO-8601 text of the last second a line was written in, without its milliseconds. */
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(ms).toISOString()`, from a prefix made once per second: toISOString costs about 440 ns,
 * once per request line (Date.now about 45).
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Always ".mmmZ" at the end, whatever the year's width (ECMA-262, Date Time String Format).
    isoPrefix = iso.slice(0, -4);
    isoSecond = second;
  }
  const millis = ms - second * 1000;
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/**
 * The line frame of infoLineWriter for members the caller has already serialised (`"a":1,"b":2`, no
 * braces; '' for none), so a line built from an object's own JSON needs no copy of the object first.
 * It redacts nothing: use it only for members whose names are never redacted (isRedactedName), as the
 * caller's type must guarantee. Undefined for a logger createLogger did not make.
 */
export function infoMembersWriter(logger: Logger): ((members: string, msg: string) => void) | undefined {
  const lines = linesOf.get(logger);
  if (!lines) return undefined;
  const { destination, bindings } = lines;
  let lastMsg = '';
  let lastMsgJson = '""';
  return (members, msg) => {
    if (!logger.isLevelEnabled('info')) return;
    // One kind of line per writer in practice: its message is serialised once.
    if (msg !== lastMsg) {
      lastMsg = msg;
      lastMsgJson = JSON.stringify(msg);
    }
    const time = isoTime(Date.now());
    destination.write(
      `{"level":${INFO},"time":"${time}"${bindings}${members === '' ? '' : `,${members}`},"msg":${lastMsgJson}}\n`,
    );
  };
}

/** Whether a top-level field of this name goes through pino's redaction (REDACT_PATHS). */
export function isRedactedName(name: string): boolean {
  return REDACTED_TOP_LEVEL.has(name);
}

export type { Logger };
