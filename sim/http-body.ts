import type { IncomingMessage } from 'node:http';
import { payloadTooLarge } from './errors.ts';

/** vLLM and OpenAI both accept large multimodal bodies; 32 MiB bounds memory per request in the simulator. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Reads the whole request body. An oversized body is still drained (but not kept) before the 413 is thrown:
 * a client that is still uploading would otherwise see a connection reset instead of the status.
 */
export async function readBody(req: IncomingMessage, limitBytes: number = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers['content-length']) > limitBytes;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw payloadTooLarge(limitBytes);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
