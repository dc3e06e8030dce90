/**
 * A client's JSON request body, parsed at most once, and the serialiser for bodies built from it. Small
 * bodies take JSON.parse and JSON.stringify, the fastest there is; large ones take the stand-in parser
 * (large-json.ts), whose translated bodies refer to the client's bytes instead of holding copies — the
 * difference between a 10 MB request costing ~3× and ~9× its size in ext-proc memory.
 *
 * A body whose top-level object names a key twice, after decoding escapes, is refused (400
 * `duplicate_key`, see top-level.ts): the object we route on must be the object a provider reads. The
 * large-body parser finds duplicates in its one pass; after JSON.parse, a byte scan of the top-level
 * members does (it skips strings with memchr, so it costs a fraction of the parse).
 */
import { bodyFromString } from '../../protos/body-headroom.ts';
import { errors } from '../errors.ts';
import { parseLargeJson } from './large-json.ts';
import { MARK_OPEN_BYTES, type StandIns } from './stand-ins.ts';
import { checkTopLevelKeys } from './top-level.ts';

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

/** The client's body, parsed on first use. A class, not closures: one is made for every request. */
export class RequestJson {
  #parsed: { value: unknown; standIns?: StandIns | undefined } | undefined;

  constructor(
    readonly raw: Buffer,
    private readonly options: RequestJsonOptions = DEFAULT_REQUEST_JSON_OPTIONS,
  ) {}

  /**
   * The parsed body; a 400 AgentRouterError when it is not JSON (`invalid_json`) or names a top-level key
   * twice (`duplicate_key`).
   */
  value(): unknown {
    return this.#parse().value;
  }

  /**
   * The parsed body as the object every OpenAI request is; a 400 `invalid_request` when it is JSON of
   * another kind (`null`, an array, a string). Both filter levels read it so, each on its own: the
   * per-attempt phase must not depend on the router-level phase having refused such a body.
   */
  object(): Record<string, unknown> {
    const value = this.value();
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw errors.invalidBody('The request body must be a JSON object.');
    return value as Record<string, unknown>;
  }

  /** JSON bytes of a body built from `value()` — content it carried over is copied from `raw` once. */
  encode(body: unknown): Buffer {
    const standIns = this.#parse().standIns;
    return standIns ? standIns.encode(body) : bodyFromString(JSON.stringify(body));
  }

  /**
   * Whether `body` carries a stand-in marker: it was serialised some other way than `encode`. The
   * client's body never holds the marker's bytes (large-json.ts refuses stand-ins then), so a marker
   * in a translated body is one of ours that JSON.stringify let through.
   */
  leaksStandIn(body: Buffer): boolean {
    return this.#parsed?.standIns !== undefined && body.indexOf(MARK_OPEN_BYTES) >= 0;
  }

  #parse(): { value: unknown; standIns?: StandIns | undefined } {
    if (this.#parsed) return this.#parsed;
    const raw = this.raw;
    try {
      const large =
        raw.length >= this.options.largeBodyBytes
          ? parseLargeJson(raw, this.options.longStringBytes)
          : undefined;
      if (large) {
        if (large.duplicateKey !== undefined) throw errors.duplicateKey(large.duplicateKey);
        this.#parsed = large;
      } else {
        const value: unknown = JSON.parse(raw.toString('utf8'));
        checkTopLevelKeys(raw);
        this.#parsed = { value };
      }
    } catch (error) {
      if (error instanceof SyntaxError) throw errors.malformedJson(error.message);
      throw error;
    }
    return this.#parsed;
  }
}

export function requestJson(
  raw: Buffer,
  options: RequestJsonOptions = DEFAULT_REQUEST_JSON_OPTIONS,
): RequestJson {
  return new RequestJson(raw, options);
}
