/**
 * Incremental Server-Sent Events parser (WHATWG HTML "server-sent events" parsing rules): bytes in,
 * whole events out, whatever the chunk boundaries. Used to read providers' SSE streams.
 */
export interface SseEvent {
  /** The `event:` field; "message" when absent, per the spec. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
}

export class SseParser {
  #carry = '';
  #event = '';
  #data: string[] = [];
  readonly #decoder = new TextDecoder();

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Buffer): SseEvent[] {
    const text = this.#carry + this.#decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = nextLineBreak(text, start);
      if (nl < 0) break;
      // A \r at the very end may be the first half of \r\n: keep the whole line until more arrives.
      if (text[nl] === '\r' && nl === text.length - 1) break;
      const line = text.slice(start, nl);
      start = nl + (text[nl] === '\r' && text[nl + 1] === '\n' ? 2 : 1);
      this.#line(line, events);
    }
    this.#carry = text.slice(start);
    return events;
  }

  /** Ends the stream: a final event without its blank line is dispatched too (lenient, as browsers are not). */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.#carry) this.#line(this.#carry, events);
    this.#carry = '';
    this.#line('', events);
    return events;
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.#data.length > 0)
        events.push({ event: this.#event || 'message', data: this.#data.join('\n') });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
  }
}

function nextLineBreak(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return -1;
}
