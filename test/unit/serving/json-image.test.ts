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

  it('equals JSON.parse for digit runs of every length (read 8 and 4 digits at a time)', () => {
    const digits = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), digits(0, 24), fc.option(digits(1, 26)), fc.option(fc.integer({ min: -30, max: 30 })), fc.boolean(), (first, rest, fraction, exp, negative) => {
        const number = `${negative ? '-' : ''}${first}${rest}${fraction === null ? '' : `.${fraction}`}${exp === null ? '' : `e${exp}`}`;
        expectSame(`{"image":[${number},${number}]}`);
        expectSame(`{"image":[${number}]}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('tells digits from the bytes beside them in a word', () => {
    // ASCII neighbours of the digits ('/' 0x2F, ':' 0x3A …), bytes whose high nibble is 3, and
    // ones with the high bit set, at every position of the 8- and 4-digit words.
    for (const byte of ['/', ':', ';', '?', '0', ' ', ',', ']', '.', 'e', '\u00b9', '\u0660']) {
      for (let at = 0; at <= 12; at++) {
        const number = `1${'2345678901234'.slice(0, at)}${byte}${'5678901234'.slice(0, 12 - at)}`;
        const text = `{"image":[${number}]}`;
        let finite = false;
        try {
          finite = (JSON.parse(text) as { image: number[] }).image.every(Number.isFinite);
        } catch {
          // not JSON: null below
        }
        // Not JSON, or past a double's range (1e5678901234 is Infinity): the ordinary path's.
        if (!finite) expect(read(text), text).toBeNull();
        else expectSame(text);
      }
    }
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
