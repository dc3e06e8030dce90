import type * as grpc from '@grpc/grpc-js';
import { extProcServerDefinition } from '../protos/ext-proc-codec.ts';

/** `envoy.service.ext_proc.v3.ExternalProcessor` with the very codec ext-proc itself serves it with. */
export function extProcService(): grpc.ServiceDefinition {
  return extProcServerDefinition();
}
