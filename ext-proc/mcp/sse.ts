/**
 * Server-sent events as Streamable HTTP carries JSON-RPC messages (MCP spec 2025-11-25, Transports ›
 * Streamable HTTP: the server "MAY" answer a POST, and answers a GET, with `Content-Type:
 * text/event-stream`). Parsing follows the WHATWG HTML "event stream interpretation" (§9.2.6): lines end
 * in CRLF, LF or CR; `data` lines join with "\n"; `id` without NUL sets the last event id; a line
 * starting with ":" is a comment (keep-alives); an event is dispatched at a blank line.
 * Incremental: chunks may split anywhere, multi-byte characters included.
 */

export interface SseEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  data: string;
  /** The last event id as of this event (the stream's, not only this event's `id:` line). */
  id: string | undefined;
  /** Whether this event itself carried an `id:` field. */
  hasId: boolean;
  retry?: number;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private sawId = false;
  private retry: number | undefined;
  private lastEventId: string | undefined;
  /** A CR ended the previous chunk: an LF opening this one belongs to it. */
  private pendingCr = false;

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: an unterminated event is discarded, as the WHATWG algorithm says. */
  end(): void {
    this.buffer = '';
    this.data = [];
  }

  private feed(text: string): SseEvent[] {
    // Nothing new (an empty chunk, or only part of a character): a CR still waits for its LF.
    if (text === '') return [];
    const out: SseEvent[] = [];
    let start = 0;
    if (this.pendingCr && text.startsWith('\n')) start = 1;
    this.pendingCr = false;
    const all = this.buffer.length > 0 ? this.buffer + text.slice(start) : text.slice(start);
    start = 0;
    for (let i = 0; i < all.length; i++) {
      const c = all.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(all.slice(start, i), out);
      if (c === 13) {
        if (i + 1 === all.length) this.pendingCr = true;
        else if (all.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = all.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0 || this.sawId) {
        const event: SseEvent = {
          event: this.eventType || 'message',
          data: this.data.join('\n'),
          id: this.lastEventId,
          hasId: this.sawId,
        };
        if (this.retry !== undefined) event.retry = this.retry;
        out.push(event);
      }
      this.data = [];
      this.eventType = '';
      this.sawId = false;
      this.retry = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.sawId = true;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
  }
}

/** One `message` event; `data` must hold no line break (JSON.stringify output never does). */
export function sseMessage(data: string, id?: string): string {
  return id === undefined
    ? `event: message\ndata: ${data}\n\n`
    : `event: message\nid: ${id}\ndata: ${data}\n\n`;
}
