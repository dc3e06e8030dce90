/**
 * The order in which Envoy sends a stream's messages, as a check. Envoy's ext_proc filter sends each
 * phase at most once and in HTTP order — request headers, body chunks up to end_of_stream or trailers,
 * then the response likewise (envoyproxy/envoy source/extensions/filters/http/ext_proc/ext_proc.cc; the
 * response may start before the request body is complete, when an upstream answers early). agent-router
 * always asks for request and response headers (processing_mode SEND), so a body before its headers is
 * no configuration we generate either. A message out of this order is a peer that is not Envoy, or a
 * broken one: the stream is failed, not guessed at.
 */
import type { ProcessingPhase, ProcessingRequest } from '../protos/ext-proc-messages.ts';

export class PhaseOrder {
  #requestHeaders = false;
  #requestEnded = false;
  #responseHeaders = false;
  #responseEnded = false;

  /**
   * Records the message; returns what is wrong with its place in the stream, if anything. `phase` is
   * the message's `request` oneof, read once by the caller (a decoded message computes it per read).
   */
  accept(phase: ProcessingPhase | undefined, message: ProcessingRequest): string | undefined {
    switch (phase) {
      case 'request_headers':
        if (this.#requestHeaders) return 'request_headers arrived twice';
        this.#requestHeaders = true;
        this.#requestEnded = message.request_headers?.end_of_stream === true;
        return undefined;
      case 'request_body':
      case 'request_trailers':
        if (!this.#requestHeaders) return `${phase} arrived before request_headers`;
        if (this.#requestEnded) return `${phase} arrived after the request had ended`;
        this.#requestEnded = phase === 'request_trailers' || message.request_body?.end_of_stream === true;
        return undefined;
      case 'response_headers':
        if (!this.#requestHeaders) return 'response_headers arrived before request_headers';
        if (this.#responseHeaders) return 'response_headers arrived twice';
        this.#responseHeaders = true;
        this.#responseEnded = message.response_headers?.end_of_stream === true;
        return undefined;
      case 'response_body':
      case 'response_trailers':
        if (!this.#responseHeaders) return `${phase} arrived before response_headers`;
        if (this.#responseEnded) return `${phase} arrived after the response had ended`;
        this.#responseEnded = phase === 'response_trailers' || message.response_body?.end_of_stream === true;
        return undefined;
      default:
        return 'a ProcessingRequest with no phase set';
    }
  }
}
