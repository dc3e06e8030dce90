/**
 * Binding a gRPC server to a Unix socket, shared by every listener of grpc/server.ts (draining is
 * GrpcServer.close: open streams finish, Envoy keeps its ext_proc streams until the request ends, and
 * the rest are closed after the grace period).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Removes a socket file nobody listens on. A sidecar restarted in its pod finds the socket its previous
 * run left in the shared emptyDir, and listen() on an existing path fails with EADDRINUSE; a socket
 * some live process still answers on is never taken over.
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  if (await isStaleSocket(socketPath)) unlinkSync(socketPath);
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
