import { describe, expect, it } from 'vitest';
import { commonRows, concatRows, sliceRows } from '../../../src/serving/gateway/tensor-rows.ts';
import type { TensorMap } from '../../../src/serving/types.ts';

const map = (rows: number, base: number): TensorMap => ({
  a: { dtype: 'float32', shape: [rows, 2, 2], data: new Float32Array(rows * 4).map((_, i) => base + i) },
  b: { dtype: 'int64', shape: [rows], data: new BigInt64Array(rows).map((_, i) => BigInt(base + i)) },
});

describe('tensor rows', () => {
  it('slices and concatenates along dim 0, every input alike', () => {
    const whole = map(5, 0);
    const parts = [sliceRows(whole, 0, 2), sliceRows(whole, 2, 1), sliceRows(whole, 3, 2)];
    expect(parts.map(commonRows)).toEqual([2, 1, 2]);
    expect(Array.from(parts[1]!.a!.data as Float32Array)).toEqual([8, 9, 10, 11]);
    const back = concatRows(parts);
    expect(back.a!.shape).toEqual([5, 2, 2]);
    expect(back.a!.data).toEqual(whole.a!.data);
    expect(back.b!.data).toBeInstanceOf(BigInt64Array);
    expect(back.b!.data).toEqual(whole.b!.data);
  });

  it('a slice is a copy: it holds only its own rows and does not change with the batch', () => {
    // A session keeps its state slice for up to its idle timeout: a view would pin the batch's frame.
    const batch = map(4, 0);
    const part = sliceRows(batch, 2, 1);
    const a = part.a!.data as Float32Array;
    expect(a.buffer.byteLength).toBe(4 * Float32Array.BYTES_PER_ELEMENT);
    (batch.a!.data as Float32Array).fill(-1);
    expect(Array.from(a)).toEqual([8, 9, 10, 11]);
  });

  it('refuses rows outside the tensor and parts that disagree', () => {
    expect(() => sliceRows(map(2, 0), 1, 2)).toThrow(/outside its 2 rows/);
    const other: TensorMap = { ...map(1, 0), a: { dtype: 'float32', shape: [1, 4], data: new Float32Array(4) } };
    expect(() => concatRows([map(1, 0), other])).toThrow(/"a": the parts disagree/);
    expect(commonRows({ ...map(2, 0), b: map(3, 0).b! })).toBeNull();
  });
});
