/**
 * The fast reader of seed 004's `{"image": [numbers]}` (src/serving/json-image.ts): what it
 * reads equals `Float32Array.from(JSON.parse(body).image)` bit for bit, and every body it is not
 * sure of is left to the ordinary parser (null).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readImageBody } from '../../../src/serving/json-image.ts';

const reference = (text: string): Float32Array => Float32Array.from((JSON.parse(text) as { image: number[] }).image);
const read = (text: string): Float32Array | null => readImageBody(Buffer.from(text));

const expectSame = (text: string): void => {
  const got = read(text);
  expect(got, text.slice(0, 80)).not.toBeNull();
  const want = reference(text);
  expect(got!.length).toBe(want.length);
  // Bit for bit (Object.is tells -0 from 0).
  for (let i = 0; i < want.length; i++) if (!Object.is(got![i], want[i])) expect([i, got![i]]).toEqual([i, want[i]]);
};

describe('readImageBody', () => {
  it("reads seed 004's body and pixel / 255 images as JSON.parse does", () => {
    expectSame(JSON.stringify({ image: Array.from({ length: 784 }, (_, i) => ((i * 31) % 97) / 96) }));
    expectSame(JSON.stringify({ image: Array.from({ length: 784 }, (_, i) => (i % 256) / 255) }));
    expectSame('{"image":[]}');
    expectSame(' \n{ "image" :\t[ 0 , -0 , 1e3 , 2E-7 , -1.5e+2, 123456789012345678901234567890, 1e-30, 5e300, 0.1e1 ] }\r\n');
  });

  it('equals JSON.parse for any doubles, as JSON.stringify spells them or in exponent form', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fc.array(finite, { maxLength: 40 }), fc.boolean(), (values, exponents) => {
        const text = exponents ? `{"image":[${values.map((v) => v.toExponential()).join(',')}]}` : JSON.stringify({ image: values });
        expectSame(text);
      }),
      { numRuns: 500 },
    );
  });

  it('equals JSON.parse near float32 rounding boundaries (17+ digit mantissas)', () => {
    // Halfway between two float32s, nudged by less than a double's precision can tell apart.
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), fc.integer({ min: -3, max: 3 }), (f, nudge) => {
        const next = new Float32Array([f]);
        new Uint32Array(next.buffer)[0]! += 1;
        const half = (f + next[0]!) / 2;
        const digits = half.toPrecision(17 + Math.abs(nudge)).replace('e+', 'e');
        expectSame(`{"image":[${digits}, ${half}]}`);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves every other body to the ordinary parser', () => {
    for (const body of [
      '',
      '   ',
      '{}',
      '{"image": 1}',
      '{"image": [[1, 2]]}',
      '{"image": [1, "2"]}',
      '{"image": [1, 2], "inputs": [1]}',
      '{"inputs": [1, 2]}',
      '{"image": [1, 2],}',
      '{"image": [1, 2,]}',
      '{"image": [,1]}',
      '{"image": [01]}',
      '{"image": [1.]}',
      '{"image": [.5]}',
      '{"image": [+1]}',
      '{"image": [1e]}',
      '{"image": [-]}',
      '{"image": [NaN]}',
      '{"image": [1 2]}',
      '{"image": [1]',
      '{"image": [1]} x',
      '{"image": [1]}}',
      '\uFEFF{"image": [1]}',
      '{"imagex": [1]}',
      '{"image" [1]}',
      '{"image": [1, true]}',
      // Infinity to JSON.parse, which the tensor check refuses (INVALID_TENSOR): not read here.
      '{"image": [1e400]}',
      '{"image": [-1e309]}',
    ]) expect(read(body), body).toBeNull();
  });
});
