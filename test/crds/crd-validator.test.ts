import { describe, expect, it } from 'vitest';
import {
  type CustomResourceDefinition,
  CustomResourceValidator,
  type JSONSchemaProps,
  RULES_NOT_CHECKED,
} from './crd-validator.ts';

/** A one-version CRD around a spec schema, for exercising the validator itself. */
function crdWith(spec: JSONSchemaProps): CustomResourceValidator {
  const crd: CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.dev' },
    spec: {
      group: 'example.dev',
      scope: 'Namespaced',
      names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
              },
            },
          },
        },
      ],
    },
  };
  return new CustomResourceValidator(crd);
}

const widget = (spec: unknown) => ({
  apiVersion: 'example.dev/v1',
  kind: 'Widget',
  metadata: { name: 'w' },
  spec,
});

describe('CustomResourceValidator', () => {
  it('applies the defaults of fields inside a defaulted object and inside list items', () => {
    const v = crdWith({
      type: 'object',
      properties: {
        policy: { type: 'object', default: {}, properties: { attempts: { type: 'integer', default: 3 } } },
        items: {
          type: 'array',
          items: { type: 'object', properties: { weight: { type: 'integer', default: 1 } } },
        },
      },
    });
    expect(v.admit(widget({ items: [{}, { weight: 5 }] })).object?.spec).toEqual({
      policy: { attempts: 3 },
      items: [{ weight: 1 }, { weight: 5 }],
    });
  });

  it('drops a null of a non-nullable field and defaults it, but keeps a null where nullable', () => {
    const v = crdWith({
      type: 'object',
      properties: {
        mode: { type: 'string', default: 'auto' },
        note: { type: 'string', nullable: true },
      },
    });
    const { object, errors } = v.admit(widget({ mode: null, note: null }));
    expect(errors).toEqual([]);
    expect(object?.spec).toEqual({ mode: 'auto', note: null });
  });

  it('reports unknown fields by path, map keys in brackets, and stops there as strict decoding does', () => {
    const v = crdWith({
      type: 'object',
      properties: {
        labels: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { a: { type: 'string' } } },
        },
      },
    });
    const { object, errors } = v.admit(widget({ labels: { x: { a: 'ok', b: 1 } }, extra: true }));
    expect(object).toBeUndefined();
    expect(errors.map((e) => e.field)).toEqual(['spec.labels[x].b', 'spec.extra']);
  });

  it('accepts an integer or a string for x-kubernetes-int-or-string, and shows CEL an int', () => {
    const v = crdWith({
      type: 'object',
      properties: {
        port: {
          'x-kubernetes-int-or-string': true,
          'x-kubernetes-validations': [
            { rule: "type(self) == int ? self > 0 : self.startsWith('http')", message: 'positive or named' },
          ],
        },
      },
    });
    expect(v.admit(widget({ port: 8080 })).errors).toEqual([]);
    expect(v.admit(widget({ port: 'http-alt' })).errors).toEqual([]);
    expect(v.admit(widget({ port: -1 })).errors.map((e) => e.detail)).toEqual(['positive or named']);
    expect(v.admit(widget({ port: true })).errors[0]).toMatchObject({
      type: 'FieldValueTypeInvalid',
      field: 'spec.port',
    });
  });

  it('points a rule error at its fieldPath and prefers a messageExpression', () => {
    const v = crdWith({
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'has(self.b)', message: 'b is required', fieldPath: '.b' },
        { rule: 'self.a < 10', messageExpression: "'a is ' + string(self.a) + ', at most 9'" },
      ],
      properties: { a: { type: 'integer' }, b: { type: 'string' } },
    });
    expect(v.admit(widget({ a: 12 })).errors).toEqual([
      { type: 'FieldValueInvalid', field: 'spec.b', value: 'object', detail: 'b is required' },
      { type: 'FieldValueInvalid', field: 'spec', value: 'object', detail: 'a is 12, at most 9' },
    ]);
  });

  it('skips the CEL rules after a type, required, enum or size error, and says so', () => {
    const v = crdWith({
      type: 'object',
      required: ['mode'],
      'x-kubernetes-validations': [{ rule: 'false', message: 'never checked' }],
      properties: { mode: { type: 'string', enum: ['a', 'b'] }, n: { type: 'integer', minimum: 0 } },
    });
    expect(v.admit(widget({ mode: 'c' })).errors.map((e) => e.detail)).toEqual([
      'supported values: "a", "b"',
      RULES_NOT_CHECKED,
    ]);
    // A bound violation does not block the rules.
    expect(v.admit(widget({ mode: 'a', n: -1 })).errors.map((e) => e.detail)).toEqual([
      'spec.n in body should be greater than or equal to 0',
      'never checked',
    ]);
  });

  it('reports a second item with the same key in a list of type map', () => {
    const v = crdWith({
      type: 'object',
      properties: {
        conditions: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['type'],
          items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
        },
      },
    });
    const { errors } = v.admit(
      widget({ conditions: [{ type: 'Accepted' }, { type: 'Ready' }, { type: 'Accepted' }] }),
    );
    expect(errors).toEqual([
      { type: 'FieldValueDuplicate', field: 'spec.conditions[2]', value: { type: 'Accepted' }, detail: '' },
    ]);
  });

  it('refuses an object of another kind or without a name', () => {
    const v = crdWith({ type: 'object' });
    expect(v.admit({ ...widget({}), kind: 'Gadget' }).errors.map((e) => e.field)).toEqual(['kind']);
    expect(v.admit({ ...widget({}), metadata: {} }).errors.map((e) => e.field)).toEqual(['metadata.name']);
  });
});
