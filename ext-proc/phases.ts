/**
 * The contract between the ext_proc protocol state machine (stream.ts) and the policy it applies
 * (router-phase.ts, upstream-phase.ts). Phases see plain values and return plain values; they never
 * see gRPC messages or processing modes.
 */
import type { AgentRouterError } from './errors.ts';

export class HttpHead {
  /** By name: the value, or (a head from the request decoder) the index of its bytes not yet read. */
  readonly #values: Map<string, string | number>;
  readonly #buffer: Buffer | undefined;
  readonly #bounds: readonly number[] | undefined;

  constructor(headers: ReadonlyMap<string, string>, buffer?: Buffer, bounds?: readonly number[]) {
    this.#values = headers as Map<string, string | number>;
    this.#buffer = buffer;
    this.#bounds = bounds;
  }

  /**
   * A head whose values stay bytes in `buffer` (value i at bounds[2i]..bounds[2i+1]) until read, as
   * protos/request-decoder.ts leaves them: most headers of a message are never looked at.
   */
  static lazy(names: readonly string[], buffer: Buffer, bounds: readonly number[]): HttpHead {
    const values = new Map<string, string | number>();
    const head = new HttpHead(values as Map<string, string>, buffer, bounds);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const previous = values.get(name);
      if (previous === undefined) values.set(name, i);
      else values.set(name, `${head.#text(previous)}, ${head.#text(i)}`);
    }
    return head;
  }

  #text(value: string | number): string {
    if (typeof value === 'string') return value;
    return this.#buffer!.toString('utf8', this.#bounds![2 * value], this.#bounds![2 * value + 1]);
  }

  /** Header value by lower-case name; repeated headers are joined with ", ". */
  get(name: string): string | undefined {
    const value = this.#values.get(name);
    if (typeof value !== 'number') return value;
    const text = this.#text(value);
    this.#values.set(name, text);
    return text;
  }

  /** Whether the head has the header, without reading its value. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  names(): IterableIterator<string> {
    return this.#values.keys();
  }
}

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
