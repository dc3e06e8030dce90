/**
 * A raw ext_proc client for protocol tests: sends Envoy's messages as given and records every response,
 * so tests can assert on the exact wire-level answers (decoded with Envoy's protos).
 */
import * as grpc from '@grpc/grpc-js';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../../protos/envoy.ts';
import type { HeaderMap, ProcessingRequest, ProcessingResponse } from '../../protos/ext-proc-messages.ts';

export interface RawStream {
  send(message: ProcessingRequest): void;
  /** Resolves with the next response (waits if none yet). */
  next(): Promise<ProcessingResponse>;
  received: ProcessingResponse[];
  end(): void;
  cancel(): void;
  done: Promise<void>;
  /** How the server ended the stream (OK, or the gRPC status of a failed one). */
  status: Promise<grpc.StatusObject>;
}

export function rawClient(target: string) {
  const Client = grpc.makeGenericClientConstructor(
    extProcPackageDefinition()[EXT_PROC_SERVICE] as grpc.ServiceDefinition,
    'ExternalProcessor',
  );
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Process(md: grpc.Metadata): grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;
  };
  return {
    /** `metadata`: more initial metadata, as Envoy adds (e.g. the trace context of its ext_proc span). */
    open(level: 'router' | 'upstream' = 'router', metadata: Record<string, string> = {}): RawStream {
      const md = new grpc.Metadata();
      md.set('x-agent-router-filter', level);
      for (const [key, value] of Object.entries(metadata)) md.set(key, value);
      const call = client.Process(md);
      const received: ProcessingResponse[] = [];
      let cursor = 0;
      const waiters: (() => void)[] = [];
      call.on('data', (r: ProcessingResponse) => {
        received.push(r);
        waiters.shift()?.();
      });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      const done = new Promise<void>((resolve) => {
        call.on('end', () => resolve());
        call.on('error', () => resolve());
      });
      return {
        send: (m) => call.write(m),
        async next() {
          while (cursor >= received.length) await new Promise<void>((r) => waiters.push(r));
          return received[cursor++]!;
        },
        received,
        end: () => call.end(),
        cancel: () => call.cancel(),
        done,
        status,
      };
    },
    close: () => client.close(),
  };
}

export function headerMap(headers: Record<string, string>): HeaderMap {
  return { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
}

/** Header mutations of a response as a plain name → value map. */
export function setHeaders(
  response:
    | {
        header_mutation?: {
          set_headers?: { header: { key: string; raw_value?: Uint8Array | string; value?: string } }[];
        };
      }
    | undefined,
) {
  const out: Record<string, string> = {};
  for (const h of response?.header_mutation?.set_headers ?? [])
    out[h.header.key] =
      h.header.raw_value === undefined ? (h.header.value ?? '') : Buffer.from(h.header.raw_value).toString();
  return out;
}
