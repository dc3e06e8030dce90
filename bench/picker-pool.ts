/**
 * The endpoint picker benchmark's pool: one InferencePool and N ready Pod manifests, in the shape file
 * mode reads (as test/endpoint-picker/protocol.test.ts writes them). Every pod has its own loopback
 * address (Linux routes all of 127.0.0.0/8 to `lo`), all on the pool's one target port, so the picker's
 * real scraper can reach each pod's `/metrics` (bench/pod-metrics.ts serves them).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const POOL_NAMESPACE = 'default';
export const POOL_NAME = 'vllm-bench';

/** Per /24: 1–250, clear of the network and broadcast numbers out of habit. */
const HOSTS_PER_SUBNET = 250;
/** 127.77.x.y: clear of 127.0.0.x, which tests and local stacks use. */
const FIRST_SUBNET = 1;

export const MAX_PODS = HOSTS_PER_SUBNET * (254 - FIRST_SUBNET);

/** The loopback IP of pod `index`: 127.77.1.1, 127.77.1.2, …, 127.77.1.250, 127.77.2.1, … */
export function podIp(index: number): string {
  if (!(Number.isInteger(index) && index >= 0 && index < MAX_PODS))
    throw new RangeError(`pod index ${index} is outside 0..${MAX_PODS - 1}`);
  const subnet = FIRST_SUBNET + Math.floor(index / HOSTS_PER_SUBNET);
  return `127.77.${subnet}.${(index % HOSTS_PER_SUBNET) + 1}`;
}

/** The pod's name as the picker knows it (`namespace/name`, what session tokens encode). */
export function podName(index: number): string {
  return `${POOL_NAMESPACE}/vllm-${index}`;
}

/** InferencePool + `pods` Pod manifests (YAML stream), every pod Running and Ready on `port`. */
export function poolManifests(pods: number, port: number): string {
  const parts = [
    `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: ${POOL_NAME}, namespace: ${POOL_NAMESPACE} }
spec:
  selector: { matchLabels: { app: vllm-bench } }
  targetPorts: [{ number: ${port} }]
  endpointPickerRef: { name: ${POOL_NAME}-epp, port: { number: 9002 }, failureMode: FailClose }
`,
  ];
  for (let i = 0; i < pods; i++) {
    parts.push(`apiVersion: v1
kind: Pod
metadata: { name: vllm-${i}, namespace: ${POOL_NAMESPACE}, labels: { app: vllm-bench } }
status: { podIP: ${podIp(i)}, phase: Running, conditions: [{ type: Ready, status: "True" }] }
`);
  }
  return parts.join('---\n');
}

/** Writes the manifests to a fresh temporary file and returns its path. */
export function writePoolManifests(pods: number, port: number): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-pool-')), `pool-${pods}.yaml`);
  writeFileSync(file, poolManifests(pods, port));
  return file;
}
