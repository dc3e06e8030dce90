/**
 * grpc.health.v1.Health on the lean transport (server.ts), with the semantics of grpc-health-check's
 * HealthImplementation, which both services served before: Check answers NOT_FOUND for a service it
 * does not know; Watch answers the current status (SERVICE_UNKNOWN for an unknown service, without
 * ending the call) and then every change; List answers every status, RESOURCE_EXHAUSTED above 100
 * (grpc/grpc-proto grpc/health/v1/health.proto, the proto grpc-health-check ships).
 */
import { protoPath } from 'grpc-health-check';
import protobuf from 'protobufjs';
import type { GrpcServer, ServerCall } from './server.ts';
import { frameOf, Status } from './wire.ts';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const SERVICE = 'grpc.health.v1.Health';
/** What grpc-health-check's List answers RESOURCE_EXHAUSTED above. */
const LIST_LIMIT = 100;

let types:
  | { request: protobuf.Type; response: protobuf.Type; listResponse: protobuf.Type; statuses: protobuf.Enum }
  | undefined;

function healthTypes(): NonNullable<typeof types> {
  if (types) return types;
  const root = protobuf.loadSync(protoPath);
  types = {
    request: root.lookupType(`grpc.health.v1.HealthCheckRequest`),
    response: root.lookupType(`grpc.health.v1.HealthCheckResponse`),
    listResponse: root.lookupType(`grpc.health.v1.HealthListResponse`),
    statuses: root.lookupEnum('grpc.health.v1.HealthCheckResponse.ServingStatus'),
  };
  return types;
}

type Watcher = (status: ServingStatus) => void;

export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(initial: Record<string, ServingStatus>) {
    for (const [service, status] of Object.entries(initial)) this.#statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const watcher of this.#watchers.get(service) ?? []) watcher(status);
  }

  addToServer(server: GrpcServer): void {
    const { request, response, listResponse, statuses } = healthTypes();
    const decode = (buffer: Buffer) => (request.decode(buffer) as unknown as { service: string }).service;
    const frameStatus = (status: ServingStatus) =>
      frameOf(response.encode({ status: statuses.values[status] }).finish());
    server.addMethod<string, ServingStatus>(`/${SERVICE}/Check`, {
      decode,
      frame: frameStatus,
      handler: (call) =>
        unary(call, (service) => {
          const status = this.#statuses.get(service);
          if (status) call.write(status);
          else call.end(Status.NOT_FOUND, `Health status unknown for service ${service}`);
        }),
    });
    server.addMethod<string, ServingStatus>(`/${SERVICE}/Watch`, {
      decode,
      frame: frameStatus,
      handler: (call) =>
        unary(
          call,
          (service) => {
            const watcher: Watcher = (status) => call.write(status);
            const watchers = this.#watchers.get(service) ?? new Set<Watcher>();
            this.#watchers.set(service, watchers);
            watchers.add(watcher);
            call.once('close', () => watchers.delete(watcher));
            call.write(this.#statuses.get(service) ?? 'SERVICE_UNKNOWN');
          },
          true,
        ),
    });
    server.addMethod<unknown, null>(`/${SERVICE}/List`, {
      decode: () => null,
      frame: () => {
        const all: Record<string, { status: number }> = {};
        for (const [service, status] of this.#statuses) all[service] = { status: statuses.values[status]! };
        return frameOf(listResponse.encode({ statuses: all }).finish());
      },
      handler: (call) =>
        unary(call, () => {
          if (this.#statuses.size > LIST_LIMIT)
            call.end(Status.RESOURCE_EXHAUSTED, 'Too many services to list.');
          else call.write(null);
        }),
    });
  }
}

/**
 * One request message, then the client's half-close: `answer` writes (and may end with a status);
 * a unary call then ends OK, a server-streaming one stays open until the client goes.
 */
function unary<Request, Response>(
  call: ServerCall<Request, Response>,
  answer: (request: Request) => void,
  streaming = false,
): void {
  let request: { value: Request } | undefined;
  call.on('data', (message: Request) => {
    if (request) call.end(Status.UNIMPLEMENTED, 'received a second request message for a unary method');
    else request = { value: message };
  });
  call.on('end', () => {
    if (!request) {
      call.end(Status.UNIMPLEMENTED, 'received no request message for a unary method');
      return;
    }
    answer(request.value);
    if (!streaming) call.end();
  });
}
