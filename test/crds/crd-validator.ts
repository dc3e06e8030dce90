/**
 * What the Kubernetes API server does with a custom resource on create, for one version of a CRD
 * (k8s.io/apiextensions-apiserver, registry/customresource): strict field validation (an unknown field
 * is an error, as `kubectl apply` requests by default), pruning of nulls, structural defaulting, OpenAPI
 * v3 schema validation, then every x-kubernetes-validations CEL rule, which the API server skips when
 * the schema already reported a required, type, enum or size error (hasBlockingErr in strategy.go).
 * Error paths and wording follow the API server's field errors closely enough to assert on. Only the
 * create path is modelled: rules never see oldSelf.
 */
import { readFileSync } from 'node:fs';
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

/** apiextensions.k8s.io/v1 JSONSchemaProps, as far as structural schemas use it. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: JSONSchemaProps };
  subresources?: { status?: Record<string, never>; scale?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
}

export interface CustomResourceDefinition {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: CRDVersion[];
  };
}

/** The API server's field error types (k8s.io/apimachinery/pkg/util/validation/field). */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueDuplicate'
  | 'UnknownField';

export interface FieldError {
  type: FieldErrorType;
  /** Path in the API server's notation, e.g. spec.routes[0].weight; empty for the whole object. */
  field: string;
  value?: unknown;
  detail: string;
}

export interface Admission {
  /** The object as the API server would store it (pruned and defaulted); undefined when decoding failed. */
  object?: Record<string, unknown>;
  errors: FieldError[];
}

/** The API server's note when it skips the CEL rules (strategy.go, hasBlockingErr). */
export const RULES_NOT_CHECKED =
  'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

const BLOCKING: ReadonlySet<FieldErrorType> = new Set([
  'FieldValueRequired',
  'FieldValueTypeInvalid',
  'FieldValueNotSupported',
  'FieldValueTooLong',
  'FieldValueTooMany',
]);

/** All YAML documents of a file, empty ones skipped. */
export function readDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

export function readCRD(path: string): CustomResourceDefinition {
  const docs = readDocuments(path);
  if (docs.length !== 1)
    throw new Error(`${path}: expected one CustomResourceDefinition, found ${docs.length}`);
  return docs[0] as CustomResourceDefinition;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function childSchema(schema: JSONSchemaProps, key: string): JSONSchemaProps | undefined {
  const prop = schema.properties?.[key];
  if (prop) return prop;
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

function childPath(parent: string, schema: JSONSchemaProps, key: string): string {
  if (schema.properties?.[key] || typeof schema.additionalProperties !== 'object')
    return parent ? `${parent}.${key}` : key;
  return `${parent}[${key}]`;
}

/**
 * Structural defaulting (apiextensions-apiserver pkg/apiserver/schema/defaulting): a missing property
 * with a default gets a copy of it, then defaulting descends into every present value, so the
 * defaults of an object's fields apply inside a defaulted `{}` too.
 */
export function applyDefaults(value: unknown, schema: JSONSchemaProps): void {
  if (isPlainObject(value)) {
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      if (prop.default !== undefined && !(key in value)) value[key] = structuredClone(prop.default);
    }
    for (const [key, child] of Object.entries(value)) {
      const sub = childSchema(schema, key);
      if (sub) applyDefaults(child, sub);
    }
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(item, schema.items);
  }
}

/**
 * Removes what the API server would not store and collects unknown fields (strict field validation
 * reports them; without it they are silently dropped). Nulls of non-nullable properties are dropped
 * before defaulting, as the API server does.
 */
function prune(
  value: unknown,
  schema: JSONSchemaProps,
  path: string,
  unknown: string[],
  root: boolean,
): void {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items) for (const [i, item] of value.entries()) prune(item, items, `${path}[${i}]`, unknown, false);
    return;
  }
  if (!isPlainObject(value)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    // The API server validates ObjectMeta itself; the schema of metadata only says "object".
    if (root && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    const sub = childSchema(schema, key);
    const here = childPath(path, schema, key);
    if (!sub) {
      if (!preserve) {
        unknown.push(here);
        delete value[key];
      }
      continue;
    }
    if (value[key] === null && sub.nullable !== true) {
      delete value[key];
      continue;
    }
    prune(value[key], sub, here, unknown, false);
  }
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The OpenAPI v3 schema as JSON Schema for ajv: Kubernetes extensions resolved or dropped. */
function toJsonSchema(schema: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const copy = [
    'enum',
    'format',
    'pattern',
    'minimum',
    'maximum',
    'multipleOf',
    'minLength',
    'maxLength',
    'minItems',
    'maxItems',
    'minProperties',
    'maxProperties',
    'uniqueItems',
    'required',
  ] as const;
  for (const key of copy) if (schema[key] !== undefined) out[key] = schema[key];
  // OpenAPI v3.0 exclusive bounds are flags on minimum/maximum.
  if (schema.exclusiveMinimum && schema.minimum !== undefined) {
    out.exclusiveMinimum = schema.minimum;
    delete out.minimum;
  }
  if (schema.exclusiveMaximum && schema.maximum !== undefined) {
    out.exclusiveMaximum = schema.maximum;
    delete out.maximum;
  }
  if (schema['x-kubernetes-int-or-string']) {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  } else if (schema.type) {
    out.type = schema.nullable ? [schema.type, 'null'] : schema.type;
    if (schema.nullable && schema.enum) out.enum = [...schema.enum, null];
  }
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, prop]) => [key, toJsonSchema(prop)]),
    );
  }
  if (typeof schema.additionalProperties === 'object')
    out.additionalProperties = toJsonSchema(schema.additionalProperties);
  if (schema.items) out.items = toJsonSchema(schema.items);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (list) out[key] = list.map(toJsonSchema);
  }
  if (schema.not) out.not = toJsonSchema(schema.not);
  return out;
}

/** An ajv instance path (/spec/routes/0/name) in the API server's notation (spec.routes[0].name). */
function fieldOf(instancePath: string, root: JSONSchemaProps): string {
  let path = '';
  let schema: JSONSchemaProps | undefined = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (schema?.type === 'array') {
      path += `[${segment}]`;
      schema = schema.items;
    } else if (schema) {
      path = childPath(path, schema, segment);
      schema = childSchema(schema, segment);
    } else {
      path = path ? `${path}.${segment}` : segment;
    }
  }
  return path;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * x-kubernetes-list-type set and map: no two items (sets) or no two items with the same keys (maps),
 * as the API server checks (apiextensions-apiserver pkg/apiserver/schema/listtype).
 */
function listDuplicates(value: unknown, schema: JSONSchemaProps, path: string, errors: FieldError[]): void {
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    for (const [i, item] of value.entries()) {
      const identity =
        listType === 'map' && isPlainObject(item)
          ? JSON.stringify(keys.map((k) => item[k]))
          : listType === 'set'
            ? JSON.stringify(item)
            : undefined;
      if (identity !== undefined) {
        if (seen.has(identity))
          errors.push({ type: 'FieldValueDuplicate', field: `${path}[${i}]`, value: item, detail: '' });
        seen.add(identity);
      }
      if (schema.items) listDuplicates(item, schema.items, `${path}[${i}]`, errors);
    }
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const sub = childSchema(schema, key);
      if (sub) listDuplicates(child, sub, childPath(path, schema, key), errors);
    }
  }
}

/** One ajv error in the API server's (kube-openapi validate) wording; undefined for an anyOf branch. */
function schemaError(e: ErrorObject, root: JSONSchemaProps): FieldError | undefined {
  // Branch errors of an int-or-string anyOf; the anyOf error itself says it once.
  if (/\/anyOf\/\d+\//.test(e.schemaPath)) return undefined;
  const field = fieldOf(e.instancePath, root);
  const p = e.params as Record<string, unknown>;
  const value = e.data;
  const error = (type: FieldErrorType, detail: string): FieldError => ({ type, field, value, detail });
  const body = `${field} in body`;
  switch (e.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      return { type: 'FieldValueRequired', field: field ? `${field}.${missing}` : missing, detail: '' };
    }
    case 'type':
      return error(
        'FieldValueTypeInvalid',
        `${body} must be of type ${String(p.type)}: "${describeType(value)}"`,
      );
    case 'anyOf':
      return error(
        'FieldValueTypeInvalid',
        `${body} must be of type integer or string: "${describeType(value)}"`,
      );
    case 'format':
      return error(
        'FieldValueTypeInvalid',
        `${body} must be of type ${String(p.format)}: ${JSON.stringify(value)}`,
      );
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map((v) => JSON.stringify(v));
      return error('FieldValueNotSupported', `supported values: ${allowed.join(', ')}`);
    }
    case 'minimum':
      return error('FieldValueInvalid', `${body} should be greater than or equal to ${String(p.limit)}`);
    case 'exclusiveMinimum':
      return error('FieldValueInvalid', `${body} should be greater than ${String(p.limit)}`);
    case 'maximum':
      return error('FieldValueInvalid', `${body} should be less than or equal to ${String(p.limit)}`);
    case 'exclusiveMaximum':
      return error('FieldValueInvalid', `${body} should be less than ${String(p.limit)}`);
    case 'minLength':
      return error('FieldValueInvalid', `${body} should be at least ${String(p.limit)} chars long`);
    case 'maxLength':
      return error('FieldValueTooLong', `may not be more than ${String(p.limit)} bytes`);
    case 'pattern':
      return error('FieldValueInvalid', `${body} should match '${String(p.pattern)}'`);
    case 'minItems':
      return error('FieldValueInvalid', `${body} should have at least ${String(p.limit)} items`);
    case 'minProperties':
      return error('FieldValueInvalid', `${body} should have at least ${String(p.limit)} properties`);
    case 'maxItems':
    case 'maxProperties':
      return error('FieldValueTooMany', `must have at most ${String(p.limit)} items`);
    default:
      return error('FieldValueInvalid', e.message ?? e.keyword);
  }
}

/**
 * A value as CEL sees it under a schema: integers are CEL ints (BigInt), numbers doubles; absent
 * fields stay absent, so has() works as in the API server.
 */
function toCel(value: unknown, schema: JSONSchemaProps | undefined): unknown {
  if (typeof value === 'number') {
    if (schema?.type === 'number') return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value))
      out[key] = toCel(child, schema ? childSchema(schema, key) : undefined);
    return out;
  }
  return value;
}

/** Where each rule of a schema is, for reports and coverage. */
export interface LocatedRule extends ValidationRule {
  /** Schema location, e.g. spec.routes[*].match. */
  location: string;
}

export function rulesOf(schema: JSONSchemaProps, location = ''): LocatedRule[] {
  const out: LocatedRule[] = (schema['x-kubernetes-validations'] ?? []).map((r) => ({ ...r, location }));
  for (const [key, prop] of Object.entries(schema.properties ?? {}))
    out.push(...rulesOf(prop, location ? `${location}.${key}` : key));
  if (typeof schema.additionalProperties === 'object')
    out.push(...rulesOf(schema.additionalProperties, `${location}[*]`));
  if (schema.items) out.push(...rulesOf(schema.items, `${location}[*]`));
  return out;
}

const celEnvironment = new Environment().registerVariable('self', 'dyn');

/** Parses a rule as the API server compiles it: `self` is the value the rule is attached to. */
export function parseRule(rule: string): ParseResult {
  return celEnvironment.parse(rule);
}

/**
 * One structural schema applied to a value: unknown fields, null pruning, defaulting, OpenAPI
 * validation and CEL rules. The API server does the same to a whole object and, when a CRD is created,
 * to each default value (which must be pruned and valid, rules included).
 */
export class SchemaValidator {
  private readonly validateSchema: ValidateFunction;
  private readonly compiled = new Map<string, ParseResult>();

  constructor(readonly schema: JSONSchemaProps) {
    const ajv = new Ajv({
      allErrors: true,
      verbose: true,
      strict: true,
      strictTypes: false,
      // kube-openapi checks string formats only; int32/int64 are informational.
      formats: { 'date-time': DATE_TIME, int32: true, int64: true },
    });
    this.validateSchema = ajv.compile(toJsonSchema(schema));
    for (const { rule, messageExpression } of rulesOf(schema)) {
      this.compiled.set(rule, parseRule(rule));
      if (messageExpression) this.compiled.set(messageExpression, parseRule(messageExpression));
    }
  }

  /**
   * The value as it would be stored, and every error. `root` marks a whole object, whose apiVersion,
   * kind and metadata the API server handles itself.
   */
  admit(input: unknown, root = false): { value?: unknown; errors: FieldError[] } {
    const value = structuredClone(input);
    const unknown: string[] = [];
    prune(value, this.schema, '', unknown, root);
    if (unknown.length > 0) {
      return {
        errors: unknown.map((field) => ({
          type: 'UnknownField' as const,
          field,
          detail: `strict decoding error: unknown field "${field}"`,
        })),
      };
    }
    applyDefaults(value, this.schema);
    const errors: FieldError[] = [];
    if (!this.validateSchema(value)) {
      for (const e of this.validateSchema.errors ?? []) {
        const error = schemaError(e, this.schema);
        if (error) errors.push(error);
      }
    }
    listDuplicates(value, this.schema, '', errors);
    if (errors.some((e) => BLOCKING.has(e.type))) {
      errors.push({ type: 'FieldValueInvalid', field: '', detail: RULES_NOT_CHECKED });
    } else {
      this.checkRules(value, this.schema, '', errors);
    }
    return { value, errors };
  }

  private checkRules(value: unknown, schema: JSONSchemaProps, path: string, errors: FieldError[]): void {
    if (value === undefined || value === null) return;
    const rules = schema['x-kubernetes-validations'];
    if (rules) {
      const self = toCel(value, schema);
      for (const r of rules) {
        const field = r.fieldPath ? `${path}${r.fieldPath}` : path;
        try {
          if (this.compiled.get(r.rule)!({ self }) === true) continue;
          let detail = r.message ?? `failed rule: ${r.rule}`;
          if (r.messageExpression) {
            const message = this.compiled.get(r.messageExpression)!({ self });
            if (typeof message === 'string' && message !== '') detail = message;
          }
          errors.push({ type: 'FieldValueInvalid', field, value: schema.type ?? '', detail });
        } catch (error) {
          const reason = (error as Error).message.split('\n')[0];
          errors.push({
            type: 'FieldValueInvalid',
            field,
            value: schema.type ?? '',
            detail: `${reason} evaluating rule: ${r.rule}`,
          });
        }
      }
    }
    if (Array.isArray(value)) {
      const items = schema.items;
      if (items)
        for (const [i, item] of value.entries()) this.checkRules(item, items, `${path}[${i}]`, errors);
    } else if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) {
        const sub = childSchema(schema, key);
        if (sub) this.checkRules(child, sub, childPath(path, schema, key), errors);
      }
    }
  }
}

/** A custom resource's create request against one version of its CRD (the storage version by default). */
export class CustomResourceValidator {
  readonly version: CRDVersion;
  private readonly body: SchemaValidator;

  constructor(
    readonly crd: CustomResourceDefinition,
    versionName?: string,
  ) {
    const version = versionName
      ? crd.spec.versions.find((v) => v.name === versionName)
      : crd.spec.versions.find((v) => v.storage);
    if (!version) throw new Error(`${crd.metadata.name}: no version ${versionName ?? '(storage)'}`);
    this.version = version;
    this.body = new SchemaValidator(version.schema.openAPIV3Schema);
  }

  get apiVersion(): string {
    return `${this.crd.spec.group}/${this.version.name}`;
  }

  get kind(): string {
    return this.crd.spec.names.kind;
  }

  /** The object as the API server would store it, and every error it reports. */
  admit(input: unknown): Admission {
    if (!isPlainObject(input))
      return { errors: [{ type: 'FieldValueInvalid', field: '', detail: 'the object must be a map' }] };
    const errors: FieldError[] = [];
    if (input.apiVersion !== this.apiVersion)
      errors.push({
        type: 'FieldValueInvalid',
        field: 'apiVersion',
        value: input.apiVersion,
        detail: `must be ${this.apiVersion}`,
      });
    if (input.kind !== this.kind)
      errors.push({
        type: 'FieldValueInvalid',
        field: 'kind',
        value: input.kind,
        detail: `must be ${this.kind}`,
      });
    const meta = input.metadata;
    if (!isPlainObject(meta) || typeof meta.name !== 'string' || meta.name === '')
      errors.push({
        type: 'FieldValueRequired',
        field: 'metadata.name',
        detail: 'name or generateName is required',
      });
    if (errors.length > 0) return { errors };
    const { value, errors: bodyErrors } = this.body.admit(input, true);
    return value === undefined
      ? { errors: bodyErrors }
      : { object: value as Record<string, unknown>, errors: bodyErrors };
  }
}

/** One error as the API server prints it, e.g. `spec.routes[1].weight: Invalid value: -1: ...`. */
export function formatFieldError(e: FieldError): string {
  const field = e.field || '<nil>';
  const value = typeof e.value === 'string' ? JSON.stringify(e.value) : JSON.stringify(e.value ?? null);
  switch (e.type) {
    case 'UnknownField':
      return e.detail;
    case 'FieldValueRequired':
      return `${field}: Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueNotSupported':
      return `${field}: Unsupported value: ${value}: ${e.detail}`;
    case 'FieldValueTooLong':
      return `${field}: Too long: ${e.detail}`;
    case 'FieldValueDuplicate':
      return `${field}: Duplicate value: ${value}`;
    case 'FieldValueTooMany':
      return `${field}: Too many: ${e.detail}`;
    default:
      return `${field}: Invalid value: ${value}: ${e.detail}`;
  }
}
