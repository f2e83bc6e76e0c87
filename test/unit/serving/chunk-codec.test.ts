import { describe, expect, it } from 'vitest';
import { chunkAnswerText, decodeBinaryChunk, decodeJsonChunk, encodeChunkAnswer } from '../../../src/serving/sessions/chunk-codec.ts';
import type { TensorMap, TensorSpec } from '../../../src/serving/types.ts';

const X: TensorSpec = { name: 'x', dtype: 'float32', shape: ['batch', 3] };
const ID: TensorSpec = { name: 'id', dtype: 'int64', shape: ['batch', 2] };

describe('session chunk codec', () => {
  it('takes a row one dimension short as one row, and rows as rows', () => {
    expect(decodeJsonChunk([X], { inputs: [1, 2, 3] }).x).toMatchObject({ shape: [1, 3], data: Float32Array.from([1, 2, 3]) });
    expect(decodeJsonChunk([X], { inputs: [[1, 2, 3], [4, 5, 6]] }).x!.shape).toEqual([2, 3]);
    expect(decodeJsonChunk([X, ID], { inputs: { id: [7, 8] } }).id).toMatchObject({ shape: [1, 2], data: BigInt64Array.from([7n, 8n]) });
  });

  it('refuses, naming the input: empty, ragged, not numbers, a fraction for an integer input', () => {
    expect(() => decodeJsonChunk([X], { inputs: [] })).toThrow(/input "x": expected a non-empty array/);
    expect(() => decodeJsonChunk([X], { inputs: [[1, 2, 3], [4, 5]] })).toThrow(/input "x".*ragged/);
    expect(() => decodeJsonChunk([X], { inputs: [1, 'two', 3] })).toThrow(/input "x".*"two"/);
    expect(() => decodeJsonChunk([ID], { inputs: [1.5, 2] })).toThrow(/input "id".*1\.5.*not a int64/);
    expect(() => decodeJsonChunk([X], { input: [1, 2, 3] })).toThrow(/expected \{"inputs"/);
  });

  it('reads a binary frame as whole float32 rows and refuses a partial row', () => {
    const bytes = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    expect(decodeBinaryChunk([X], bytes).x).toMatchObject({ shape: [2, 3] });
    expect(() => decodeBinaryChunk([X], bytes.subarray(0, 8))).toThrow(/8 bytes is not whole rows of 3 float32/);
  });

  it('answers outputs as nested arrays with the argmax of a 2-D first output', () => {
    const out = encodeChunkAnswer(4, { y: { dtype: 'float32', shape: [1, 3], data: Float32Array.from([0.1, 0.7, 0.2]) } });
    expect(out).toMatchObject({ seq: 4, prediction: 1 });
    expect((out.outputs as { y: number[][] }).y[0]).toHaveLength(3);
  });

  it('views an aligned binary frame in place and copies an unaligned one', () => {
    const whole = Buffer.from(new Uint8Array(Float32Array.from([9, 1, 2, 3]).buffer));
    const aligned = decodeBinaryChunk([X], whole.subarray(4)).x!;
    expect(Array.from(aligned.data as Float32Array)).toEqual([1, 2, 3]);
    expect((aligned.data as Float32Array).buffer).toBe(whole.buffer);
    const odd = Buffer.alloc(13);
    Buffer.from(Float32Array.from([4, 5, 6]).buffer).copy(odd, 1);
    const copied = decodeBinaryChunk([X], odd.subarray(1)).x!;
    expect(Array.from(copied.data as Float32Array)).toEqual([4, 5, 6]);
  });

  it('writes the answer text JSON.stringify writes for it, for every rank, dtype and non-finite value', () => {
    const cases: TensorMap[] = [
      { logits: { dtype: 'float32', shape: [1, 3], data: Float32Array.from([0.1, 0.7, 0.2]) }, extra: { dtype: 'float32', shape: [1], data: Float32Array.from([-0]) } },
      { y: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1e-7, NaN, Infinity, -3.5]) } },
      { y: { dtype: 'float64', shape: [2, 1, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6.25]) } },
      { 'a"b': { dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, -2n, 2n ** 40n]) }, z: { dtype: 'uint8', shape: [0, 4], data: new Uint8Array(0) } },
      { s: { dtype: 'int32', shape: [], data: Int32Array.from([7]) } },
    ];
    for (const [i, outputs] of cases.entries()) expect(chunkAnswerText(i + 1, outputs)).toBe(JSON.stringify(encodeChunkAnswer(i + 1, outputs)));
  });
});
