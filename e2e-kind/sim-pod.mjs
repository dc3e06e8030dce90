// A simulated vLLM model server as a Kubernetes pod, for the kind suite. `agent-router sim` serves pods
// on loopback addresses only (it is built for the laptop stack), so this runs it on 127.0.0.1:<port+1>
// from a one-pod manifest, and relays the pod's real port to it: the endpoint picker scrapes /metrics
// and Envoy sends requests to <pod IP>:<port>, exactly as with a real model server.
// Env: SIM_PORT (default 8000), SIM_SEED, SIM_LABEL (the pool selector value), POD_NAME, POD_NAMESPACE,
// SIM_ANNOTATIONS (JSON of extra agentrouter.dev/sim-* annotations).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const port = Number(process.env.SIM_PORT ?? 8000);
const inner = port + 1;
const name = process.env.POD_NAME ?? 'sim';
const namespace = process.env.POD_NAMESPACE ?? 'default';
const annotations = {
  'agentrouter.dev/simulated': process.env.SIM_SEED ?? '1',
  ...JSON.parse(process.env.SIM_ANNOTATIONS ?? '{}'),
};
const manifest = [
  {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name: 'sim', namespace },
    spec: {
      selector: { matchLabels: { sim: 'this-pod' } },
      targetPorts: [{ number: inner }],
      endpointPickerRef: { name: 'none', port: { number: 9002 } },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { sim: 'this-pod' }, annotations },
    status: { podIP: '127.0.0.1', phase: 'Running' },
  },
];
const file = path.join(process.env.TMPDIR ?? '/tmp', 'sim-pod.yaml');
writeFileSync(file, manifest.map((m) => JSON.stringify(m)).join('\n---\n'));

const child = spawn(process.execPath, ['bin/agent-router.mjs', 'sim', '--config', file], {
  stdio: 'inherit',
});
child.on('exit', (code) => process.exit(code ?? 1));

const relay = net.createServer((downstream) => {
  const upstream = net.connect(inner, '127.0.0.1');
  downstream.pipe(upstream).pipe(downstream);
  const close = () => {
    downstream.destroy();
    upstream.destroy();
  };
  downstream.on('error', close);
  upstream.on('error', close);
});
relay.listen(port, '0.0.0.0');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    relay.close();
    child.kill(signal);
  });
}
