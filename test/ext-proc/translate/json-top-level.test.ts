import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spliceValues, topLevelValues } from '../../../ext-proc/translate/json-top-level.ts';

const MODEL = new Set(['model']);
const replaceModel = (text: string, model: string) =>
  JSON.parse(
    spliceValues(Buffer.from(text), topLevelValues(Buffer.from(text), MODEL), () =>
      JSON.stringify(model),
    ).toString(),
  );

describe('top-level JSON value splicing', () => {
  it('replaces the top-level model and leaves nested "model" keys and look-alike strings alone', () => {
    const text = JSON.stringify({
      messages: [{ role: 'user', content: '"model": "fake", {"model":1}' }],
      tools: [{ function: { name: 'f', parameters: { properties: { model: { type: 'string' } } } } }],
      model: 'chat-model',
      metadata: { model: 'inner' },
    });
    const out = replaceModel(text, 'provider/model-1');
    expect(out.model).toBe('provider/model-1');
    expect(out.metadata.model).toBe('inner');
    expect(out.messages[0].content).toBe('"model": "fake", {"model":1}');
    expect(out.tools[0].function.parameters.properties.model).toEqual({ type: 'string' });
  });

  it('handles whitespace, escapes and a model that is not the last key', () => {
    const text = '{ "stream" : true ,\n  "model"  :\t"a\\"b" , "x": [1, {"model": 2}] }';
    expect(replaceModel(text, 'm')).toEqual({ stream: true, model: 'm', x: [1, { model: 2 }] });
  });

  it('gives the same object as parse-and-set for any JSON object with a string model', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string(),
        fc.string(),
        fc.integer({ min: 0, max: 10 }),
        (rest, model, target, position) => {
          const entries = Object.entries(rest).filter(([k]) => k !== 'model' && k !== '__proto__');
          entries.splice(Math.min(position, entries.length), 0, ['model', model]);
          const text = JSON.stringify(Object.fromEntries(entries), null, position % 3 === 0 ? 2 : undefined);
          const expected = { ...JSON.parse(text), model: target };
          expect(replaceModel(text, target)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
