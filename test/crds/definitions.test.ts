import { describe, expect, it } from 'vitest';
import {
  type CustomResourceDefinition,
  formatFieldError,
  type JSONSchemaProps,
  parseRule,
  rulesOf,
  SchemaValidator,
} from './crd-validator.ts';
import { loadCRD, OUR_CRD_FILES, UPSTREAM_CRD_FILES } from './project-crds.ts';

const ALL_FILES = [...OUR_CRD_FILES, ...UPSTREAM_CRD_FILES];
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** Keywords a structural schema may not use (apiextensions-apiserver pkg/apiserver/schema/validation.go). */
const FORBIDDEN = [
  '$ref',
  '$schema',
  'definitions',
  'dependencies',
  'id',
  'patternProperties',
  'additionalItems',
];
/**
 * Functions and macros of the API server's CEL environment our rules may call: the CEL standard ones
 * and the Kubernetes list/string libraries (kubernetes.io/docs/reference/using-api/cel/).
 */
const K8S_CEL_FUNCTIONS = new Set([
  'has',
  'all',
  'exists',
  'exists_one',
  'map',
  'filter',
  'size',
  'type',
  'int',
  'uint',
  'double',
  'string',
  'bool',
  'dyn',
  'matches',
  'startsWith',
  'endsWith',
  'contains',
  'indexOf',
  'lastIndexOf',
  'lowerAscii',
  'upperAscii',
  'substring',
  'trim',
  'split',
  'join',
  'isSorted',
  'sum',
  'min',
  'max',
]);

interface Node {
  path: string;
  schema: JSONSchemaProps;
}

/** Every schema node with its path, e.g. spec.routes[*].match. */
function nodes(schema: JSONSchemaProps, path = ''): Node[] {
  const out: Node[] = [{ path, schema }];
  for (const [key, prop] of Object.entries(schema.properties ?? {}))
    out.push(...nodes(prop, path ? `${path}.${key}` : key));
  if (typeof schema.additionalProperties === 'object')
    out.push(...nodes(schema.additionalProperties, `${path}[*]`));
  if (schema.items && !Array.isArray(schema.items)) out.push(...nodes(schema.items, `${path}[*]`));
  return out;
}

function rootSchema(crd: CustomResourceDefinition): JSONSchemaProps {
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** What the API server would refuse in a CRD's schema, as "<path>: <problem>" lines. */
function structuralProblems(root: JSONSchemaProps): string[] {
  const problems: string[] = [];
  const add = (path: string, problem: string) => problems.push(`${path || '<root>'}: ${problem}`);
  if (root.type !== 'object') add('', 'the root must be of type object');
  const metadata = root.properties?.metadata;
  if (metadata && (metadata.type !== 'object' || Object.keys(metadata).some((k) => k !== 'type')))
    add('metadata', 'may only say type: object');
  for (const { path, schema } of nodes(root)) {
    const raw = schema as Record<string, unknown>;
    const intOrString = schema['x-kubernetes-int-or-string'] === true;
    if (intOrString && schema.type) add(path, 'x-kubernetes-int-or-string forbids type');
    if (!schema.type && !intOrString && schema['x-kubernetes-preserve-unknown-fields'] !== true)
      add(path, 'must have a type');
    if (schema.type && !TYPES.has(schema.type)) add(path, `unknown type ${schema.type}`);
    for (const key of FORBIDDEN) if (key in raw) add(path, `${key} is forbidden`);
    for (const key of ['allOf', 'anyOf', 'oneOf', 'not'])
      if (key in raw) add(path, `${key} is not used here`);
    if (schema.uniqueItems === true) add(path, 'uniqueItems: true is forbidden');
    if (Array.isArray(raw.items)) add(path, 'items must be one schema');
    if (schema.type === 'array' && !schema.items) add(path, 'an array needs items');
    if (schema.properties && schema.additionalProperties !== undefined)
      add(path, 'properties and additionalProperties are mutually exclusive');
    if (typeof schema.additionalProperties === 'boolean') add(path, 'additionalProperties must be a schema');
    const listType = schema['x-kubernetes-list-type'];
    const mapKeys = schema['x-kubernetes-list-map-keys'];
    if (mapKeys && listType !== 'map')
      add(path, 'x-kubernetes-list-map-keys needs x-kubernetes-list-type: map');
    if (listType === 'map') {
      if (!mapKeys?.length) add(path, 'x-kubernetes-list-type: map needs x-kubernetes-list-map-keys');
      for (const key of mapKeys ?? []) {
        const prop = schema.items?.properties?.[key];
        if (!prop || prop.type === 'object' || prop.type === 'array')
          add(path, `map key ${key} must be a scalar property`);
        if (!schema.items?.required?.includes(key) && prop?.default === undefined)
          add(path, `map key ${key} must be required or defaulted`);
      }
    }
    if (schema.default !== undefined) {
      if (path === '' || path.startsWith('metadata')) add(path, 'defaults are not allowed here');
      const { errors } = new SchemaValidator(schema).admit(schema.default);
      for (const e of errors) add(path, `default: ${formatFieldError(e)}`);
    }
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      try {
        parseRule(rule.rule);
      } catch (error) {
        add(path, `rule ${rule.rule} does not parse: ${(error as Error).message.split('\n')[0]}`);
      }
      if (rule.message !== undefined && /[\r\n]/.test(rule.message)) add(path, 'rule messages are one line');
      if (rule.fieldPath !== undefined) {
        const [, ...segments] = rule.fieldPath.split('.');
        let target: JSONSchemaProps | undefined = schema;
        for (const segment of segments) target = target?.properties?.[segment];
        if (!rule.fieldPath.startsWith('.') || !target)
          add(path, `fieldPath ${rule.fieldPath} names no field`);
      }
    }
  }
  return problems;
}

/** Function and macro names a rule calls. */
function calledFunctions(rule: string): Set<string> {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (typeof value !== 'object' || value === null || !('op' in value)) return;
    const { op, args } = value as { op: string; args: unknown };
    if ((op === 'call' || op === 'rcall') && Array.isArray(args)) names.add(String(args[0]));
    visit(args);
  };
  visit(parseRule(rule).ast);
  return names;
}

/** The schema a printer column's JSONPath reads, or undefined; metadata is opaque to the schema. */
function columnTarget(root: JSONSchemaProps, jsonPath: string): JSONSchemaProps | 'metadata' | undefined {
  const segments = jsonPath
    .replace(/\[[^\]]*\]/g, '')
    .split('.')
    .slice(1);
  if (segments[0] === 'metadata') return 'metadata';
  let schema: JSONSchemaProps | undefined = root;
  for (const segment of segments) {
    if (schema?.type === 'array') schema = schema.items;
    schema = schema?.properties?.[segment];
  }
  return schema;
}

const COLUMN_TYPE_OF_SCHEMA_TYPE: Record<string, string> = {
  integer: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean',
};

describe.each(ALL_FILES)('CRD %s', (file) => {
  const crd = loadCRD(file);
  const { group, names, versions } = crd.spec;
  const root = rootSchema(crd);

  it('is an apiextensions.k8s.io/v1 CustomResourceDefinition named <plural>.<group>, in <group>_<plural>.yaml', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${names.plural}.${group}`);
    expect(file).toBe(`${group}_${names.plural}.yaml`);
    expect(group).toMatch(DNS_SUBDOMAIN);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(names.plural).toMatch(DNS_LABEL);
    expect(names.singular).toMatch(DNS_LABEL);
    expect(names.plural).toBe(names.plural.toLowerCase());
    expect(names.kind).toMatch(/^[A-Z][A-Za-z0-9]*$/);
    expect(names.listKind).toBe(`${names.kind}List`);
    for (const short of names.shortNames ?? []) {
      expect(short).toMatch(DNS_LABEL);
      expect([names.plural, names.singular]).not.toContain(short);
    }
    for (const category of names.categories ?? []) expect(category).toMatch(DNS_LABEL);
    // Groups under k8s.io and kubernetes.io must say who approved the API (KEP-1111).
    if (/(^|\.)(k8s|kubernetes)\.io$/.test(group))
      expect(crd.metadata.annotations?.['api-approved.kubernetes.io']).toBeTruthy();
  });

  it('serves one version, which is the storage version, with a status subresource', () => {
    expect(versions).toHaveLength(1);
    const [version] = versions;
    expect(version).toMatchObject({ served: true, storage: true, subresources: { status: {} } });
    expect(version!.name).toMatch(DNS_LABEL);
    expect(root.properties?.status?.type).toBe('object');
  });

  it('has a structural schema the API server accepts, defaults and rules included', () => {
    expect(structuralProblems(root)).toEqual([]);
  });

  it('describes every field, so kubectl explain has something to say', () => {
    const undescribed = nodes(root)
      .filter(({ path, schema }) => path !== 'metadata' && !schema.description?.trim())
      .map(({ path }) => path || '<root>');
    expect(undescribed).toEqual([]);
  });

  it('bounds every list, as the API server needs to estimate the cost of the CEL rules', () => {
    const unbounded = nodes(root)
      .filter(({ schema }) => schema.type === 'array' && schema.maxItems === undefined)
      .map(({ path }) => path);
    expect(unbounded).toEqual([]);
  });

  it("calls only functions of the API server's CEL environment in its rules", () => {
    for (const { rule } of rulesOf(root))
      for (const name of calledFunctions(rule))
        expect(K8S_CEL_FUNCTIONS, `${name} in ${rule}`).toContain(name);
  });

  it('prints columns that read fields of its schema, with matching types', () => {
    for (const column of versions[0]!.additionalPrinterColumns ?? []) {
      expect(column.jsonPath.startsWith('.'), column.name).toBe(true);
      const target = columnTarget(root, column.jsonPath);
      if (column.type === 'date') {
        expect(target, column.name).toBe('metadata');
        continue;
      }
      expect(target, `${column.name}: ${column.jsonPath}`).toBeTypeOf('object');
      if (typeof target === 'object')
        expect(COLUMN_TYPE_OF_SCHEMA_TYPE[target.type!], column.name).toBe(column.type);
    }
  });
});

describe.each(OUR_CRD_FILES)('our CRD %s', (file) => {
  const crd = loadCRD(file);
  const root = rootSchema(crd);
  const upstream = rootSchema(loadCRD(UPSTREAM_CRD_FILES[0]));

  it('is agentrouter.dev/v1alpha1, with a short name and the agentrouter category', () => {
    expect(crd.spec.group).toBe('agentrouter.dev');
    expect(crd.spec.versions[0]!.name).toBe('v1alpha1');
    expect(crd.spec.names.shortNames?.length).toBeGreaterThan(0);
    expect(crd.spec.names.categories).toContain('agentrouter');
  });

  it('reports Kubernetes conditions (the metav1.Condition schema) and observedGeneration in its status', () => {
    const status = root.properties!.status!;
    expect(status.properties?.observedGeneration).toMatchObject({
      type: 'integer',
      format: 'int64',
      minimum: 0,
    });
    const conditions = status.properties!.conditions!;
    expect(conditions).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
    // controller-gen's metav1.Condition, as the upstream InferencePool CRD carries it.
    const upstreamCondition =
      upstream.properties!.status!.properties!.parents!.items!.properties!.conditions!.items;
    expect(conditions.items).toEqual(upstreamCondition);
  });

  it('shows whether the object was accepted, and its age, in kubectl get', () => {
    const columns = crd.spec.versions[0]!.additionalPrinterColumns ?? [];
    expect(columns.find((c) => c.name === 'Accepted')?.jsonPath).toBe(
      '.status.conditions[?(@.type=="Accepted")].status',
    );
    expect(columns.at(-1)).toEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
  });

  it('gives every CEL rule a message a person can act on', () => {
    for (const rule of rulesOf(root)) {
      expect(rule.message, rule.rule).toBeTruthy();
      expect(rule.message!.length, rule.rule).toBeGreaterThan(30);
    }
  });
});
