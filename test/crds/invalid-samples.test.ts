import { describe, expect, it } from 'vitest';
import { validateManifest } from '../../config/validate.ts';
import { type FieldError, formatFieldError, RULES_NOT_CHECKED, rulesOf } from './crd-validator.ts';
import {
  documents,
  loadCRD,
  OUR_CRD_FILES,
  UPSTREAM_CRD_FILES,
  validatorFor,
  yamlFiles,
} from './project-crds.ts';

const DIR = 'test/fixtures/crds/invalid';

interface Expectation {
  /** The one error the API server reports (besides its note that it skipped the CEL rules). */
  crd: Pick<FieldError, 'type' | 'field' | 'detail'>;
  /**
   * What config/validate.ts (file mode) says about the same document: the field path of its problem,
   * or 'accepts' where only the API server catches the mistake today. Every 'accepts' is a place
   * where file mode and the cluster disagree; when validate.ts learns the rule, this table says so.
   */
  fileMode: { path: string } | 'accepts';
}

const invalid = (field: string, detail: string): Expectation['crd'] => ({
  type: 'FieldValueInvalid',
  field,
  detail,
});

const EXPECTED: Record<string, Expectation> = {
  'routeconfig-duplicate-route-names.yaml': {
    crd: invalid(
      'spec.routes',
      'route names must be unique within a RouteConfig; rename one of the entries that share a name',
    ),
    fileMode: { path: 'spec.routes[1].name' },
  },
  'routeconfig-empty-routes.yaml': {
    crd: invalid(
      'spec.routes',
      'a RouteConfig needs at least one route entry in spec.routes, or MCP servers in spec.mcp',
    ),
    fileMode: 'accepts',
  },
  'routeconfig-mcp-duplicate-server-names.yaml': {
    crd: invalid(
      'spec.mcp.servers',
      'each MCP server name (name, or serverRef.name without it) may appear only once',
    ),
    fileMode: { path: 'spec.mcp.servers[1].name' },
  },
  'routeconfig-mcp-empty-match.yaml': {
    crd: invalid(
      'spec.mcp.servers[0].match',
      'match needs at least one header or attribute condition; omit match to give the server to every key',
    ),
    fileMode: { path: 'spec.mcp.servers[0].match' },
  },
  'mcpserver-url-not-http.yaml': {
    crd: invalid('spec.url', 'url must be an http(s) URL, e.g. http://tools.mcp.svc:8080/mcp'),
    fileMode: { path: 'spec.url' },
  },
  'mcpserver-url-with-fragment.yaml': {
    crd: invalid('spec.url', "url must not carry a #fragment; give the endpoint's path only"),
    fileMode: { path: 'spec.url' },
  },
  'mcpserver-forwards-authorization.yaml': {
    crd: invalid('spec.forwardHeaders[1]', 'this header is set by the gateway and cannot be forwarded'),
    fileMode: { path: 'spec.forwardHeaders[1]' },
  },
  'routeconfig-missing-routes.yaml': {
    crd: { type: 'FieldValueRequired', field: 'spec.routes', detail: '' },
    fileMode: { path: 'spec.routes' },
  },
  'routeconfig-negative-weight.yaml': {
    crd: invalid(
      'spec.routes[0].weight',
      'spec.routes[0].weight in body should be greater than or equal to 0',
    ),
    fileMode: { path: 'spec.routes[0].weight' },
  },
  'routeconfig-priority-out-of-range.yaml': {
    crd: invalid(
      'spec.routes[0].priority',
      'spec.routes[0].priority in body should be less than or equal to 1000',
    ),
    fileMode: { path: 'spec.routes[0].priority' },
  },
  'routeconfig-empty-match.yaml': {
    crd: invalid(
      'spec.routes[0].match',
      'match needs at least one header or attribute condition; omit match for an unconditional entry',
    ),
    fileMode: { path: 'spec.routes[0].match' },
  },
  'routeconfig-regex-value-with-exact-type.yaml': {
    crd: invalid(
      'spec.routes[0].match.headers[0].value',
      'value looks like a regular expression (it starts with ^, ends with $ or contains .*) but type is Exact; set type RegularExpression, or write the literal value',
    ),
    fileMode: 'accepts',
  },
  'routeconfig-unknown-match-type.yaml': {
    crd: {
      type: 'FieldValueNotSupported',
      field: 'spec.routes[0].match.attributes[0].type',
      detail: 'supported values: "Exact", "RegularExpression"',
    },
    fileMode: { path: 'spec.routes[0].match.attributes[0].type' },
  },
  'routeconfig-bad-duration.yaml': {
    crd: invalid(
      'spec.fallback.perAttemptTimeout',
      'perAttemptTimeout must be a number with unit ms, s or m, e.g. 500ms, 30s or 2m',
    ),
    fileMode: { path: 'spec.fallback.perAttemptTimeout' },
  },
  'routeconfig-bad-retry-on.yaml': {
    crd: invalid('spec.fallback.retryOn[1]', 'retryOn entries must be connect-failure, 5xx, 429 or timeout'),
    fileMode: { path: 'spec.fallback.retryOn[1]' },
  },
  'routeconfig-too-many-attempts.yaml': {
    crd: invalid(
      'spec.fallback.attempts',
      'spec.fallback.attempts in body should be less than or equal to 10',
    ),
    fileMode: { path: 'spec.fallback.attempts' },
  },
  'routeconfig-unknown-field.yaml': {
    crd: {
      type: 'UnknownField',
      field: 'spec.routes[0].wieght',
      detail: 'strict decoding error: unknown field "spec.routes[0].wieght"',
    },
    fileMode: 'accepts',
  },
  'routeconfig-rollout-duplicate-model.yaml': {
    crd: invalid(
      'spec.rollouts',
      'each model may have only one rollout; merge the rollouts that name the same model',
    ),
    fileMode: { path: 'spec.rollouts[1].model' },
  },
  'routeconfig-rollout-last-step-not-100.yaml': {
    crd: invalid('spec.rollouts[0].steps', 'the last step must be 100 (the candidate takes all traffic)'),
    fileMode: { path: 'spec.rollouts[0].steps' },
  },
  'routeconfig-rollout-repeated-step.yaml': {
    crd: invalid('spec.rollouts[0].steps', 'steps must be distinct and rising, e.g. [5, 20, 50, 100]'),
    fileMode: { path: 'spec.rollouts[0].steps[2]' },
  },
  'routeconfig-rollout-bad-step-duration.yaml': {
    crd: invalid(
      'spec.rollouts[0].stepDuration',
      'stepDuration must be whole seconds, minutes or hours, e.g. 30s, 10m or 1h',
    ),
    fileMode: { path: 'spec.rollouts[0].stepDuration' },
  },
  'routeconfig-backendref-kind-service.yaml': {
    crd: {
      type: 'FieldValueNotSupported',
      field: 'spec.routes[0].backendRef.kind',
      detail: 'supported values: "ProviderBackend", "InferencePool"',
    },
    fileMode: { path: 'spec.routes[0].backendRef.kind' },
  },
  'routeconfig-invalid-route-name.yaml': {
    crd: invalid(
      'spec.routes[0].name',
      "spec.routes[0].name in body should match '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'",
    ),
    fileMode: { path: 'spec.routes[0].name' },
  },
  'routeconfig-two-baselines.yaml': {
    crd: invalid(
      'spec.routes',
      'at most one route entry per model may set baseline; keep baseline true on one entry of that model and remove it from the others',
    ),
    fileMode: { path: 'spec.routes[1].baseline' },
  },
  'routeconfig-baseline-not-boolean.yaml': {
    crd: {
      type: 'FieldValueTypeInvalid',
      field: 'spec.routes[0].baseline',
      detail: 'spec.routes[0].baseline in body must be of type boolean: "string"',
    },
    fileMode: { path: 'spec.routes[0].baseline' },
  },
  'providerbackend-unknown-provider.yaml': {
    crd: {
      type: 'FieldValueNotSupported',
      field: 'spec.provider',
      detail:
        'supported values: "OpenAI", "OpenAICompatible", "AzureOpenAI", "Anthropic", "Gemini", "VertexAI", "VertexAnthropic", "Bedrock", "Mistral"',
    },
    fileMode: { path: 'spec.provider' },
  },
  'providerbackend-openai-compatible-without-baseurl.yaml': {
    crd: invalid(
      'spec.baseURL',
      'baseURL is required for providers OpenAICompatible and AzureOpenAI, e.g. http://vllm.models.svc:8000/v1 or https://my-resource.openai.azure.com',
    ),
    fileMode: { path: 'spec.baseURL' },
  },
  'providerbackend-azure-without-baseurl.yaml': {
    crd: invalid(
      'spec.baseURL',
      'baseURL is required for providers OpenAICompatible and AzureOpenAI, e.g. http://vllm.models.svc:8000/v1 or https://my-resource.openai.azure.com',
    ),
    fileMode: 'accepts',
  },
  'providerbackend-bedrock-without-region.yaml': {
    crd: invalid(
      'spec.region',
      'region is required for providers Bedrock, VertexAI and VertexAnthropic, e.g. eu-central-1 for Bedrock, europe-west4 or global for Vertex AI',
    ),
    fileMode: 'accepts',
  },
  'providerbackend-bedrock-with-api-key.yaml': {
    crd: invalid(
      'spec.credentials.type',
      'provider Bedrock signs requests with AWS SigV4, so credentials.type must be AWSAccessKey (or be left out)',
    ),
    fileMode: 'accepts',
  },
  'providerbackend-aws-key-for-openai.yaml': {
    crd: invalid(
      'spec.credentials.type',
      'credentials.type AWSAccessKey is only for provider Bedrock; use APIKey (or leave type out) for other providers',
    ),
    fileMode: 'accepts',
  },
  'providerbackend-service-account-for-anthropic.yaml': {
    crd: invalid(
      'spec.credentials.type',
      'credentials.type GCPServiceAccount is only for providers Gemini, VertexAI and VertexAnthropic; use APIKey (or leave type out) for other providers',
    ),
    fileMode: 'accepts',
  },
  'providerbackend-baseurl-with-query.yaml': {
    crd: invalid(
      'spec.baseURL',
      'baseURL must be an http:// or https:// URL without query or fragment, e.g. https://api.openai.com/v1',
    ),
    fileMode: { path: 'spec.baseURL' },
  },
  'providerbackend-max-tokens-zero.yaml': {
    crd: invalid(
      'spec.defaults.maxTokens',
      'spec.defaults.maxTokens in body should be greater than or equal to 1',
    ),
    fileMode: { path: 'spec.defaults.maxTokens' },
  },
  'providerbackend-negative-price.yaml': {
    crd: invalid(
      'spec.pricing[0].inputPerMillionTokens',
      'spec.pricing[0].inputPerMillionTokens in body should be greater than or equal to 0',
    ),
    fileMode: { path: 'spec.pricing[0].inputPerMillionTokens' },
  },
  'providerbackend-model-priced-twice.yaml': {
    crd: invalid('spec.pricing', 'each model is priced once; remove the duplicate entry'),
    fileMode: { path: 'spec.pricing[1].model' },
  },
  'providerbackend-stream-usage-not-boolean.yaml': {
    crd: {
      type: 'FieldValueTypeInvalid',
      field: 'spec.streamUsage',
      detail: 'spec.streamUsage in body must be of type boolean: "string"',
    },
    fileMode: { path: 'spec.streamUsage' },
  },
  'providerbackend-credentials-without-secretref.yaml': {
    crd: { type: 'FieldValueRequired', field: 'spec.credentials.secretRef', detail: '' },
    fileMode: { path: 'spec.credentials.secretRef' },
  },
  'apikey-missing-routeconfigref.yaml': {
    crd: { type: 'FieldValueRequired', field: 'spec.routeConfigRef', detail: '' },
    fileMode: { path: 'spec.routeConfigRef' },
  },
  'apikey-numeric-attribute.yaml': {
    crd: {
      type: 'FieldValueTypeInvalid',
      field: 'spec.attributes[tier]',
      detail: 'spec.attributes[tier] in body must be of type string: "integer"',
    },
    fileMode: { path: 'spec.attributes.tier' },
  },
  'apikey-duplicate-provider-credentials.yaml': {
    crd: invalid(
      'spec.providerCredentials',
      'each ProviderBackend may appear only once in providerCredentials; merge the entries that name the same backendRef',
    ),
    fileMode: 'accepts',
  },
  'apikey-disabled-not-boolean.yaml': {
    crd: {
      type: 'FieldValueTypeInvalid',
      field: 'spec.disabled',
      detail: 'spec.disabled in body must be of type boolean: "string"',
    },
    fileMode: { path: 'spec.disabled' },
  },
  'inferencepool-duplicate-target-ports.yaml': {
    crd: invalid('spec.targetPorts', 'port number must be unique'),
    fileMode: 'accepts',
  },
  'inferencepool-picker-without-port.yaml': {
    crd: invalid(
      'spec.endpointPickerRef',
      "port is required when kind is 'Service' or unspecified (defaults to 'Service')",
    ),
    fileMode: 'accepts',
  },
  'inferencepool-port-out-of-range.yaml': {
    crd: invalid(
      'spec.targetPorts[0].number',
      'spec.targetPorts[0].number in body should be less than or equal to 65535',
    ),
    fileMode: { path: 'spec.targetPorts[0].number' },
  },
  'inferencepool-unknown-failure-mode.yaml': {
    crd: {
      type: 'FieldValueNotSupported',
      field: 'spec.endpointPickerRef.failureMode',
      detail: 'supported values: "FailOpen", "FailClose"',
    },
    fileMode: { path: 'spec.endpointPickerRef.failureMode' },
  },
};

const FILES = yamlFiles(DIR).map((f) => f.slice(DIR.length + 1));

function only(file: string): Record<string, unknown> {
  const docs = documents(`${DIR}/${file}`);
  expect(docs).toHaveLength(1);
  return docs[0] as Record<string, unknown>;
}

describe('invalid samples', () => {
  it('has one expectation per fixture file, and a fixture for every expectation', () => {
    expect(FILES).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(FILES)('the API server rejects %s with the expected message', (file) => {
    const doc = only(file);
    const { errors } = validatorFor(doc)!.admit(doc);
    const reported = errors.filter((e) => e.detail !== RULES_NOT_CHECKED);
    expect(
      reported.map(({ type, field, detail }) => ({ type, field, detail })),
      errors.map(formatFieldError).join('\n'),
    ).toEqual([EXPECTED[file]!.crd]);
    // The API server skips the CEL rules exactly when the schema found a required, type, enum or size error.
    const blocking = ['FieldValueRequired', 'FieldValueTypeInvalid', 'FieldValueNotSupported'].includes(
      EXPECTED[file]!.crd.type,
    );
    expect(errors.length).toBe(blocking ? 2 : 1);
  });

  it.each(FILES)('file mode (config/validate.ts) agrees with the API server on %s', (file) => {
    const expected = EXPECTED[file]!.fileMode;
    const { problems } = validateManifest(only(file), { source: file, document: 1 });
    if (expected === 'accepts') {
      expect(problems, 'validate.ts now rejects this: record its path in EXPECTED').toEqual([]);
    } else {
      expect(problems.map((p) => p.path)).toEqual([expected.path]);
    }
  });

  it('exercises every CEL rule of every CRD with at least one fixture', () => {
    const messages = new Set(Object.values(EXPECTED).map((e) => e.crd.detail));
    for (const file of [...OUR_CRD_FILES, ...UPSTREAM_CRD_FILES]) {
      const schema = loadCRD(file).spec.versions[0]!.schema.openAPIV3Schema;
      for (const rule of rulesOf(schema))
        expect(messages.has(rule.message!), `${file} ${rule.location}: ${rule.rule}`).toBe(true);
    }
  });
});
