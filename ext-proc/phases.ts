/**
 * The contract between the ext_proc protocol state machine (stream.ts) and the policy it applies
 * (router-phase.ts, upstream-phase.ts). Phases see plain values and return plain values; they never
 * see gRPC messages or processing modes.
 */
import type { AgentRouterError } from './errors.ts';

const NO_NAMES: readonly string[] = Object.freeze([]);

export class HttpHead {
  /** A head made from a map of values (tests, heads protobufjs decoded); undefined for a lazy head. */
  readonly #map: ReadonlyMap<string, string> | undefined;
  /** A lazy head: the names as the message lists them (a name may repeat), values still bytes. */
  readonly #names: readonly string[];
  readonly #buffer: Buffer | undefined;
  readonly #bounds: readonly number[] | undefined;
  /** Values read so far, by the index of their name (a name that occurs once). */
  #values: (string | undefined)[] | undefined;
  /** The distinct names in order, once asked for and only if a name repeats. */
  #distinct: readonly string[] | undefined;

  constructor(
    headers: ReadonlyMap<string, string>,
    names: readonly string[] = NO_NAMES,
    buffer?: Buffer,
    bounds?: readonly number[],
  ) {
    this.#map = buffer === undefined ? headers : undefined;
    this.#names = names;
    this.#buffer = buffer;
    this.#bounds = bounds;
  }

  /**
   * A head whose values stay bytes in `buffer` (value i at bounds[2i]..bounds[2i+1]) until read, as
   * protos/request-decoder.ts leaves them: most headers of a message are never looked at. The names are
   * searched in place, not put in a Map: a Map of a message's 10 to 20 names cost more to fill than
   * every lookup a request makes of it (about 450 ns a head; the decoder interns names, so they compare
   * fast).
   */
  static lazy(names: readonly string[], buffer: Buffer, bounds: readonly number[]): HttpHead {
    return new HttpHead(EMPTY_HEADERS, names, buffer, bounds);
  }

  #text(index: number): string {
    return this.#buffer!.toString('utf8', this.#bounds![2 * index], this.#bounds![2 * index + 1]);
  }

  /** Header value by lower-case name; repeated headers are joined with ", ". */
  get(name: string): string | undefined {
    if (this.#map !== undefined) return this.#map.get(name);
    const names = this.#names;
    let first = -1;
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== name) continue;
      if (first >= 0) return this.#joined(name, first);
      first = i;
    }
    if (first < 0) return undefined;
    this.#values ??= new Array<string | undefined>(names.length);
    const values = this.#values;
    let text = values[first];
    if (text === undefined) {
      text = this.#text(first);
      values[first] = text;
    }
    return text;
  }

  /** Every value of a repeated name, in order, joined (rare: not remembered). */
  #joined(name: string, first: number): string {
    let text = this.#text(first);
    for (let i = first + 1; i < this.#names.length; i++)
      if (this.#names[i] === name) text = `${text}, ${this.#text(i)}`;
    return text;
  }

  /** Whether the head has the header, without reading its value. */
  has(name: string): boolean {
    if (this.#map !== undefined) return this.#map.has(name);
    return this.#names.includes(name);
  }

  /** The distinct names, in the order they first occur. */
  names(): Iterable<string> {
    if (this.#map !== undefined) return this.#map.keys();
    if (this.#distinct === undefined) {
      const names = this.#names;
      let repeats = false;
      for (let i = 1; i < names.length && !repeats; i++) repeats = names.lastIndexOf(names[i]!, i - 1) >= 0;
      this.#distinct = repeats ? [...new Set(names)] : names;
    }
    return this.#distinct;
  }
}

const EMPTY_HEADERS: ReadonlyMap<string, string> = new Map();

export type ResponseBodyMode = 'NONE' | 'BUFFERED' | 'STREAMED';

export interface PhaseResult {
  setHeaders?: readonly (readonly [string, string])[];
  removeHeaders?: readonly string[];
  /** Replacement body (request body phase or buffered response body). */
  body?: Buffer;
  clearRouteCache?: boolean;
  /** From request headers: the phase needs the whole request body. */
  needsBody?: boolean;
  /** From response headers: how the phase wants the response body. */
  responseBodyMode?: ResponseBodyMode;
  /** Answer the client directly with this JSON (e.g. GET /v1/models), without going upstream. */
  respond?: { status: number; body: unknown };
  /** Namespaced dynamic metadata for later filters and access logs. */
  dynamicMetadata?: Record<string, Record<string, unknown>>;
}

export interface StreamOutcome {
  /** HTTP status sent to the client (the immediate response's, or the response headers'). */
  status: number | undefined;
  error?: AgentRouterError;
  /** The stream ended before the response completed (client gone, gateway reset). */
  cancelled: boolean;
}

/** Reads the filter metadata Envoy sent with a message (metadata_context), one namespace at a time. */
export type MetadataReader = (namespace: string) => Record<string, unknown> | undefined;

export interface Phases {
  requestHeaders(head: HttpHead, endOfStream: boolean, metadata: MetadataReader): PhaseResult;
  /** May work asynchronously (minting a token, signing); later messages wait for it. */
  requestBody(body: Buffer): PhaseResult | Promise<PhaseResult>;
  responseHeaders(head: HttpHead, endOfStream: boolean, metadata: MetadataReader): PhaseResult;
  responseBody(body: Buffer): PhaseResult;
  /** A streamed response chunk; returns a replacement, or undefined to forward it unchanged. */
  responseChunk(chunk: Buffer, endOfStream: boolean): Buffer | undefined;
  finish(outcome: StreamOutcome): void;
  /** The body a gateway error is answered with, in the client's API's shape; by default the OpenAI object. */
  clientError?(error: AgentRouterError): unknown;
}

export const NO_CHANGE: PhaseResult = Object.freeze({});
