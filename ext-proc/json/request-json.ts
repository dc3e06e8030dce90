/**
 * A client's JSON request body, parsed at most once, and the serialiser for bodies built from it. Small
 * bodies take JSON.parse and JSON.stringify, the fastest there is; large ones take the stand-in parser
 * (large-json.ts), whose translated bodies refer to the client's bytes instead of holding copies — the
 * difference between a 10 MB request costing ~3× and ~9× its size in ext-proc memory.
 */
import { bodyFromString } from '../../protos/body-headroom.ts';
import { errors } from '../errors.ts';
import { parseLargeJson } from './large-json.ts';
import { MARK_OPEN_BYTES, type StandIns } from './stand-ins.ts';

export interface RequestJsonOptions {
  /** Bodies of at least this many bytes are parsed with stand-ins. */
  largeBodyBytes: number;
  /** In a large body, content strings of at least this many escaped bytes become stand-ins. */
  longStringBytes: number;
}

export const DEFAULT_REQUEST_JSON_OPTIONS: RequestJsonOptions = {
  largeBodyBytes: 256 * 1024,
  longStringBytes: 1024,
};

export interface RequestJson {
  readonly raw: Buffer;
  /** The parsed body; a 400 `invalid_json` AgentRouterError when it is not JSON. */
  value(): unknown;
  /** JSON bytes of a body built from `value()` — content it carried over is copied from `raw` once. */
  encode(body: unknown): Buffer;
  /** Whether `body` carries a stand-in marker: it was serialised some other way than `encode`. */
  leaksStandIn(body: Buffer): boolean;
}

export function requestJson(
  raw: Buffer,
  options: RequestJsonOptions = DEFAULT_REQUEST_JSON_OPTIONS,
): RequestJson {
  let parsed: { value: unknown; standIns?: StandIns } | undefined;
  const parse = () => {
    if (parsed) return parsed;
    try {
      const large =
        raw.length >= options.largeBodyBytes ? parseLargeJson(raw, options.longStringBytes) : undefined;
      parsed = large ?? { value: JSON.parse(raw.toString('utf8')) };
    } catch (error) {
      if (error instanceof SyntaxError) throw errors.malformedJson(error.message);
      throw error;
    }
    return parsed;
  };
  return {
    raw,
    value: () => parse().value,
    encode: (body) => {
      const standIns = parse().standIns;
      return standIns ? standIns.encode(body) : bodyFromString(JSON.stringify(body));
    },
    // The client's body never holds the marker's bytes (large-json.ts refuses stand-ins then), so a
    // marker in a translated body is one of ours that JSON.stringify let through.
    leaksStandIn: (body) => parsed?.standIns !== undefined && body.indexOf(MARK_OPEN_BYTES) >= 0,
  };
}
