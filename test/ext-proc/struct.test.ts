import { describe, expect, it } from 'vitest';
import { fromStruct, toStruct } from '../../ext-proc/struct.ts';
import { extProcRoot } from '../../protos/envoy.ts';
import { frameEncoder } from '../../protos/frame-encoder.ts';

/** An object whose own member is named "__proto__", as JSON.parse makes it. */
const withProtoKey = () => JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;

describe('Struct conversion', () => {
  it('keeps a member named "__proto__" as a member, not as the object’s prototype', () => {
    const struct = toStruct(withProtoKey());
    expect(Object.keys(struct.fields!)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(struct.fields!)).toBe(Object.prototype);
    const back = fromStruct(struct);
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('encodes such metadata as protobufjs does (the property test found the difference)', () => {
    const type = extProcRoot().lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
    // An own "__proto__" member: built as fast-check's dictionaries build it.
    const metadata: Record<string, unknown> = {};
    Object.defineProperty(metadata, '__proto__', {
      value: 0,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const message = { request_body: {}, dynamic_metadata: toStruct({ 'agent-router': metadata }) };
    const frame = frameEncoder(type)(message)!;
    expect(frame.subarray(5).equals(Buffer.from(type.encode(message).finish()))).toBe(true);
  });

  it('gives a frozen object one frozen Struct, made once; any other object a new one', () => {
    const frozen = Object.freeze({ ns: Object.freeze({ a: 'x', n: 1 }) });
    const struct = toStruct(frozen);
    expect(toStruct(frozen)).toBe(struct);
    expect(Object.isFrozen(struct)).toBe(true);
    expect(Object.isFrozen(struct.fields!.ns!.structValue!.fields)).toBe(true);
    expect(fromStruct(struct)).toEqual({ ns: { a: 'x', n: 1 } });
    const open = { ns: { a: 'x' } };
    expect(toStruct(open)).not.toBe(toStruct(open));
    expect(Object.isFrozen(toStruct(open))).toBe(false);
  });
});
