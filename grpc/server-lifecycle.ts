/**
 * Binding and draining a gRPC server, shared by ext-proc and the endpoint picker: a drain lets open
 * streams finish (Envoy keeps its ext_proc streams until the request ends) and forces the rest closed
 * after the grace period.
 */
import * as grpc from '@grpc/grpc-js';

/** Binds "host:port" (port 0 picks one) or "unix:/path"; resolves with the bound port. */
export function bindInsecure(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });
}

/** Stops accepting streams, waits up to `graceMs` for open ones, then closes whatever is left. */
export function drain(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
