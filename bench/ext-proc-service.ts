import type * as grpc from '@grpc/grpc-js';
import { EXT_PROC_SERVICE, extProcPackageDefinition } from '../protos/envoy.ts';

/** `envoy.service.ext_proc.v3.ExternalProcessor` from the package definition ext-proc itself serves. */
export function extProcService(): grpc.ServiceDefinition {
  return extProcPackageDefinition()[EXT_PROC_SERVICE] as unknown as grpc.ServiceDefinition;
}
