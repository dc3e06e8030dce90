/**
 * Binding and draining a gRPC server, shared by ext-proc and the endpoint picker: a drain lets open
 * streams finish (Envoy keeps its ext_proc streams until the request ends) and forces the rest closed
 * after the grace period.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';

/** Binds "host:port" (port 0 picks one) or "unix:/path"; resolves with the bound port. */
export function bindInsecure(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });
}

/**
 * Binds a Unix socket, first removing a socket file nobody listens on. A sidecar restarted in its pod
 * finds the socket its previous run left in the shared emptyDir, and listen() on an existing path fails
 * with EADDRINUSE; a socket some live process still answers on is never taken over.
 */
export async function bindUnixSocket(server: grpc.Server, socketPath: string): Promise<void> {
  if (await isStaleSocket(socketPath)) unlinkSync(socketPath);
  await bindInsecure(server, `unix:${socketPath}`);
}

async function isStaleSocket(socketPath: string): Promise<boolean> {
  try {
    if (!lstatSync(socketPath).isSocket()) return false;
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
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
