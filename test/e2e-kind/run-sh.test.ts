/**
 * e2e-kind/run.sh's status waits and failure diagnostics, run for real: the script is sourced (it runs
 * main only when executed) with test/e2e-kind/fake-kubectl.sh as `kubectl`, whose "cluster" is a folder
 * of objects shaped like Envoy Gateway's status output and whose JSONPath is evaluated by the real kubectl.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectlBinary } from '../helpers/tools.ts';

const NAMESPACE = 'agent-router-e2e';
const EPP = 'envoypatchpolicy.gateway.envoyproxy.io';
const BACKEND = 'backend.gateway.envoyproxy.io';
const CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';

type Condition = [type: string, status: 'True' | 'False', reason: string, message: string];
const conditions = (list: Condition[]) =>
  list.map(([type, status, reason, message]) => ({ type, status, reason, message, observedGeneration: 1 }));
const ACCEPTED: Condition = ['Accepted', 'True', 'Accepted', 'Policy has been accepted.'];
const PROGRAMMED: Condition = ['Programmed', 'True', 'Programmed', 'Patches have been successfully applied.'];

let root: string;
let cluster: string;
let bin: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'run-sh-'));
  cluster = path.join(root, 'cluster');
  bin = path.join(root, 'bin');
  mkdirSync(cluster);
  mkdirSync(bin);
  writeFileSync(path.join(cluster, 'calls.log'), '');
  const fake = path.resolve('test/e2e-kind/fake-kubectl.sh');
  writeFileSync(path.join(bin, 'kubectl'), `#!/usr/bin/env bash\nexec bash ${JSON.stringify(fake)} "$@"\n`);
  chmodSync(path.join(bin, 'kubectl'), 0o755);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(type: string, name: string, object: Record<string, unknown>) {
  mkdirSync(path.join(cluster, type), { recursive: true });
  writeFileSync(path.join(cluster, type, `${name}.yaml`), stringify(object));
}

/** A policy with Gateway API's PolicyStatus, one entry per ancestor Gateway, as Envoy Gateway writes it. */
function policy(kind: string, name: string, ancestors?: Record<string, Condition[]>) {
  return {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind,
    metadata: { name, namespace: NAMESPACE, generation: 1 },
    ...(ancestors && {
      status: {
        ancestors: Object.entries(ancestors).map(([gateway, list]) => ({
          ancestorRef: {
            group: 'gateway.networking.k8s.io',
            kind: 'Gateway',
            name: gateway,
            namespace: NAMESPACE,
          },
          controllerName: CONTROLLER,
          conditions: conditions(list),
        })),
      },
    }),
  };
}

const backend = (name: string, list: Condition[]) => ({
  apiVersion: 'gateway.envoyproxy.io/v1alpha1',
  kind: 'Backend',
  metadata: { name, namespace: NAMESPACE },
  status: { conditions: conditions(list) },
});

function runSh(commands: string, env: Record<string, string> = {}) {
  const result = spawnSync('bash', ['-c', `source e2e-kind/run.sh\n${commands}`], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_CLUSTER: cluster,
      REAL_KUBECTL: kubectlBinary(),
      E2E_STATUS_TIMEOUT: '1',
      ...env,
    },
  });
  const calls = readFileSync(path.join(cluster, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const waits = (calls: string[]) => calls.filter((c) => c.startsWith('wait '));

describe('run.sh waits on Envoy Gateway status', () => {
  it('waits for Accepted and Programmed on every ancestor of the EnvoyPatchPolicy, not only the first', () => {
    put(
      EPP,
      'agent-router-xds',
      policy('EnvoyPatchPolicy', 'agent-router-xds', {
        'agent-router': [ACCEPTED, PROGRAMMED],
        other: [ACCEPTED, PROGRAMMED],
      }),
    );
    const run = runSh(`wait_policy ${EPP} Accepted Programmed`);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const expressions = waits(run.calls).map((c) => /--for=jsonpath=(\S+)=True/.exec(c)?.[1]);
    expect(expressions).toEqual([
      '{.status.ancestors[0].conditions[?(@.type=="Accepted")].status}',
      '{.status.ancestors[0].conditions[?(@.type=="Programmed")].status}',
      '{.status.ancestors[1].conditions[?(@.type=="Accepted")].status}',
      '{.status.ancestors[1].conditions[?(@.type=="Programmed")].status}',
    ]);
  });

  it("fails with Envoy Gateway's reason when a later ancestor's patch did not apply", () => {
    put(
      EPP,
      'agent-router-xds',
      policy('EnvoyPatchPolicy', 'agent-router-xds', {
        'agent-router': [ACCEPTED, PROGRAMMED],
        other: [
          ACCEPTED,
          [
            'Programmed',
            'False',
            'ResourceNotFound',
            'Unable to find xds resources: type.googleapis.com/envoy.config.listener.v3.Listener/x',
          ],
        ],
      }),
    );
    const run = runSh(`wait_policy ${EPP} Accepted Programmed`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${EPP}/agent-router-xds is not Programmed on ancestor 1`);
    expect(run.stderr).toContain(
      'Gateway/other: Accepted=True (Accepted: Policy has been accepted.) Programmed=False (ResourceNotFound: Unable to find xds resources',
    );
  });

  it('fails when a policy is not Accepted, as with the EnvoyPatchPolicy API disabled', () => {
    put(
      EPP,
      'agent-router-xds',
      policy('EnvoyPatchPolicy', 'agent-router-xds', {
        'agent-router': [
          ['Accepted', 'False', 'Disabled', 'EnvoyPatchPolicy is disabled in the EnvoyGateway configuration'],
        ],
      }),
    );
    const run = runSh(`wait_policy ${EPP} Accepted Programmed`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('is not Accepted on ancestor 0');
    expect(run.stderr).toContain('Accepted=False (Disabled: EnvoyPatchPolicy is disabled');
  });

  it('fails when Envoy Gateway never writes ancestors for a policy, and when the chart made none', () => {
    put(EPP, 'agent-router-xds', policy('EnvoyPatchPolicy', 'agent-router-xds'));
    const unprocessed = runSh(`wait_policy ${EPP} Accepted Programmed`);
    expect(unprocessed.status).toBe(1);
    expect(unprocessed.stderr).toContain(`${EPP}/agent-router-xds has no .status.ancestors after 1s`);
    const none = runSh('wait_policy backendtrafficpolicy.gateway.envoyproxy.io Accepted');
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`no backendtrafficpolicy.gateway.envoyproxy.io in ${NAMESPACE}`);
  });

  it('waits for every Backend to be Accepted and names the one that is not', () => {
    put(
      BACKEND,
      'agent-router-ext-proc',
      backend('agent-router-ext-proc', [['Accepted', 'True', 'Accepted', 'The Backend was accepted']]),
    );
    expect(runSh('wait_backends').status).toBe(0);
    // What Envoy Gateway writes when its Backend API is off: no Accepted condition at all.
    put(
      BACKEND,
      'sim-qwen',
      backend('sim-qwen', [
        [
          'Invalid',
          'False',
          'Accepted',
          'The Backend was not accepted since Backend is not enabled in Envoy Gateway Config',
        ],
      ]),
    );
    const run = runSh('wait_backends');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${BACKEND}/sim-qwen is not Accepted`);
    expect(run.stderr).toContain('Backend is not enabled in Envoy Gateway Config');
    expect(waits(run.calls)).toContain(
      `wait ${BACKEND}/agent-router-ext-proc -n ${NAMESPACE} --for=condition=Accepted --timeout=1s`,
    );
  });
});

describe('run.sh on failure', () => {
  it('writes the resources, events, logs and Envoy admin output into E2E_ARTIFACTS from its exit trap', () => {
    const artifacts = path.join(root, 'artifacts');
    const run = runSh('trap on_exit EXIT\nfalse', { E2E_ARTIFACTS: artifacts, KEEP_CLUSTER: '1' });
    expect(run.status).toBe(1);
    for (const file of [
      'gateways.gateway.networking.k8s.io.yaml',
      'httproutes.gateway.networking.k8s.io.yaml',
      'envoypatchpolicies.gateway.envoyproxy.io.yaml',
      'envoyextensionpolicies.gateway.envoyproxy.io.yaml',
      'backendtrafficpolicies.gateway.envoyproxy.io.yaml',
      'backends.gateway.envoyproxy.io.yaml',
      'inferencepools.inference.networking.k8s.io.yaml',
      'pods.yaml',
      'events.yaml',
      'events.txt',
      'logs/envoy-gateway.log',
      // envoy-admin.ts dump ran (and found no proxy pod in the fake cluster).
      'envoy/no-proxy-pods.txt',
    ]) {
      expect(existsSync(path.join(artifacts, file)), file).toBe(true);
    }
    expect(run.calls).toContain(
      'get pods -n envoy-gateway-system -l gateway.envoyproxy.io/owning-gateway-name=agent-router -o name',
    );
    expect(run.stderr).toContain(`diagnostics in ${artifacts}`);
  }, 60_000);

  it('collects nothing when the run succeeds', () => {
    const artifacts = path.join(root, 'artifacts');
    const run = runSh('trap on_exit EXIT\ntrue', { E2E_ARTIFACTS: artifacts, KEEP_CLUSTER: '1' });
    expect(run.status).toBe(0);
    expect(existsSync(artifacts)).toBe(false);
    expect(run.calls).toEqual([]);
  });
});
