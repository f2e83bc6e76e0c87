/**
 * The serving codecs (src/serving/tensor.ts) and the /infer frame (runtimes/serving/protocol.mjs):
 * each format round-trips, and every malformed request is INVALID_TENSOR naming the input and
 * the shape the model expects.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../../runtimes/serving/protocol.mjs';
import { LakerayError } from '../../../src/domain/errors.ts';
import arrow, { type Vector } from '../../../src/lake/arrow.ts';
import {
  checkInputs, decodeArrow, decodeImage, decodeJsonInputs, decodeRaw, encodeArrow, encodeRaw, imageAnswer, isImageRequest, jsonAnswer,
} from '../../../src/serving/tensor.ts';
import type { ModelSignature, Tensor } from '../../../src/serving/types.ts';

const CNN: ModelSignature = {
  inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
};
const GRU: ModelSignature = {
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3] }, { name: 'h0', dtype: 'float32', shape: ['batch', 2] }],
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 4] }, { name: 'hn', dtype: 'float32', shape: ['batch', 2] }],
};
const X_HEAD = 'input "x": expected [batch, 3] float32, ';
const H0_HEAD = 'input "h0": expected [batch, 2] float32, ';

const invalid = (f: () => unknown, message: string | RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LakerayError);
  expect((err as LakerayError).code).toBe('INVALID_TENSOR');
  expect((err as LakerayError).status).toBe(400);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
};

const f32 = (shape: number[], values?: number[]): Tensor => ({
  dtype: 'float32', shape, data: Float32Array.from(values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 10)),
});

describe('checkInputs', () => {
  it('accepts any batch size for a symbolic first dim and returns the rows', () => {
    expect(checkInputs(GRU, { x: f32([5, 3]), h0: f32([5, 2]) })).toBe(5);
    expect(checkInputs(CNN, { input: f32([1, 1, 28, 28]) })).toBe(1);
  });

  it('refuses wrong rank, wrong fixed dim, wrong dtype, missing, unknown, mismatched rows and short data', () => {
    invalid(() => checkInputs(CNN, { input: f32([1, 784]) }), 'input "input": expected [batch, 1, 28, 28] float32, got [1, 784] float32');
    invalid(() => checkInputs(GRU, { x: f32([2, 4]), h0: f32([2, 2]) }), `${X_HEAD}got [2, 4] float32`);
    invalid(() => checkInputs(GRU, { x: { dtype: 'int32', shape: [2, 3], data: new Int32Array(6) }, h0: f32([2, 2]) }), `${X_HEAD}got [2, 3] int32`);
    invalid(() => checkInputs(GRU, { x: f32([2, 3]) }), `${H0_HEAD}got nothing (the request lacks this input)`);
    invalid(() => checkInputs(GRU, { x: f32([2, 3]), h0: f32([2, 2]), y: f32([2, 1]) }), 'input "y": the model has no such input (its inputs: x [batch, 3] float32, h0 [batch, 2] float32)');
    invalid(() => checkInputs(GRU, { x: f32([2, 3]), h0: f32([3, 2]) }), `${H0_HEAD}got [3, 2] float32: 3 rows where input "x" has 2`);
    invalid(() => checkInputs(GRU, { x: f32([0, 3]), h0: f32([0, 2]) }), `${X_HEAD}got [0, 3] float32`);
    invalid(() => checkInputs(GRU, { x: { ...f32([2, 3]), data: new Float32Array(5) }, h0: f32([2, 2]) }), `${X_HEAD}got [2, 3] float32 with 5 values`);
  });
});

describe('JSON', () => {
  it('round-trips named inputs, and takes bare arrays for a one-input model', () => {
    const body = { inputs: { x: [[1, 2, 3], [4, 5, 6]], h0: [[0, 0], [0.5, -1]] } };
    const tensors = decodeJsonInputs(GRU, body);
    expect(tensors.x).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(jsonAnswer(tensors, 'gru', 3)).toEqual({ outputs: body.inputs, model: 'gru', model_version: 3 });
    const image = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => (r * 28 + c) / 1024));
    const one = decodeJsonInputs(CNN, { inputs: [[image]] });
    expect(one.input!.shape).toEqual([1, 1, 28, 28]);
    expect(jsonAnswer(one, 'cnn', 1).outputs.input).toEqual([[image]]);
  });

  it('converts to integer dtypes and refuses values that do not fit them', () => {
    const sig: ModelSignature = { inputs: [{ name: 'ids', dtype: 'int64', shape: ['batch', 2] }], outputs: [] };
    expect(decodeJsonInputs(sig, { inputs: [[1, 2]] }).ids!.data).toEqual(BigInt64Array.from([1n, 2n]));
    invalid(() => decodeJsonInputs(sig, { inputs: [[1, 2.5]] }), 'input "ids": expected [batch, 2] int64, got 2.5 among the values (not a int64)');
  });

  it('refuses ragged arrays, non-numbers, overflowing numbers, missing and unknown inputs, and a bare array for several inputs', () => {
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 2, 3], [4, 5]], h0: [[0, 0], [0, 0]] } }), `${X_HEAD}got a ragged array ([1] has 2 values where its first sibling has 3)`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 2, 3], [4, 5, [6]]], h0: [[0, 0], [0, 0]] } }), `${X_HEAD}got a ragged array ([1][2] is nested deeper than the first element)`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 'NaN', 3]], h0: [[0, 0]] } }), `${X_HEAD}got "NaN" among the values (not a float32)`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, null, 3]], h0: [[0, 0]] } }), `${X_HEAD}got null among the values (not a float32)`);
    invalid(() => decodeJsonInputs(GRU, JSON.parse('{"inputs": {"x": [[1, 1e999, 3]], "h0": [[0, 0]]}}')), `${X_HEAD}got null among the values (not a float32)`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 2, 3]] } }), `${H0_HEAD}got nothing (the request lacks this input)`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 2, 3]], h0: [[0, 0]], h1: [[0]] } }), /^input "h1": the model has no such input \(its inputs: x \[batch, 3\] float32, h0 \[batch, 2\] float32\)$/);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [[1, 2, 3]], h0: [[0, 0], [0, 0]] } }), `${H0_HEAD}got [2, 2] float32: 2 rows where input "x" has 1`);
    invalid(() => decodeJsonInputs(GRU, { inputs: { x: [1, 2, 3], h0: [[0, 0]] } }), `${X_HEAD}got [3] float32`);
    invalid(() => decodeJsonInputs(GRU, { inputs: [[1, 2, 3]] }), /must name each input .*\(x \[batch, 3\] float32, h0 \[batch, 2\] float32\)/);
    invalid(() => decodeJsonInputs(GRU, { data: [] }), /needs "inputs".* x \[batch, 3\] float32/);
  });
});

describe("seed 004's {image}", () => {
  it('clips an image bit for bit as Math.min(1, Math.max(0, v)) does (-0 to 0, NaN kept)', () => {
    const specials = [-0, 0, Number.NaN, Infinity, -Infinity, 1, Math.fround(1 + 2 ** -23), Math.fround(2 ** -149), -(2 ** -149), 0.5, -0.5, 3];
    const value = fc.oneof(fc.constantFrom(...specials), fc.float());
    fc.assert(
      fc.property(fc.array(value, { minLength: 784, maxLength: 784 }), (values) => {
        const image = Float32Array.from(values);
        const want = Float32Array.from(values, (v) => Math.min(1, Math.max(0, v)));
        const got = decodeImage(CNN, { image }).input!.data as Float32Array;
        for (let i = 0; i < 784; i++) if (!Object.is(got[i], want[i])) expect([i, values[i], got[i]]).toEqual([i, values[i], want[i]]);
      }),
      { numRuns: 50 },
    );
  });

  it('reshapes 784 numbers or 28×28 to one row, clipped to [0, 1], and answers as mnist_serve', () => {
    const flat = Array.from({ length: 784 }, (_, i) => (i % 3) - 0.5);
    expect(isImageRequest({ image: flat })).toBe(true);
    expect(isImageRequest({ inputs: flat })).toBe(false);
    const t = decodeImage(CNN, { image: flat }).input!;
    expect(t.shape).toEqual([1, 1, 28, 28]);
    expect(Array.from(t.data as Float32Array).slice(0, 3)).toEqual([0, 0.5, 1]);
    const square = Array.from({ length: 28 }, (_, r) => flat.slice(r * 28, r * 28 + 28));
    expect(decodeImage(CNN, { image: square })).toEqual(decodeImage(CNN, { image: flat }));

    const logits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 20];
    const answer = imageAnswer(CNN, { logits: f32([1, 10], logits) });
    const sum = logits.reduce((a, v) => a + Math.exp(v - 20), 0);
    expect(answer.prediction).toBe(9);
    expect(answer.label).toBe('9');
    expect(answer.confidence).toBeCloseTo(1 / sum, 6);
    expect(answer.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(answer.label_names).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(imageAnswer(CNN, { logits: f32([1, 10], logits) }, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'boot']).label).toBe('boot');
  });

  it('refuses other sizes, non-numbers and models without one 784-value input', () => {
    invalid(() => decodeImage(CNN, { image: [1, 2, 3] }), 'input "input": expected [batch, 1, 28, 28] float32, got an image of shape [3] (send 784 numbers, or 28 rows of 28)');
    invalid(() => decodeImage(CNN, { image: Array(784).fill('x') }), 'input "input": expected [batch, 1, 28, 28] float32, got "x" among the values (not a float32)');
    invalid(() => decodeImage(GRU, { image: Array(784).fill(0) }), /needs a model with one input of 784 values per row; this one has x \[batch, 3\] float32/);
  });
});

describe('raw float32', () => {
  it('round-trips one input by X-Lakeray-Shape and answers the first output (or a named one) with shape and dtype', () => {
    const values = Float32Array.from({ length: 2 * 784 }, (_, i) => i);
    const t = decodeRaw(CNN, Buffer.from(values.buffer), '2, 1, 28, 28').input!;
    expect(t).toEqual({ dtype: 'float32', shape: [2, 1, 28, 28], data: values });
    const raw = encodeRaw(CNN, { logits: f32([2, 10]) });
    expect(raw.headers).toEqual({ 'content-type': 'application/octet-stream', 'x-lakeray-shape': '2,10', 'x-lakeray-dtype': 'float32' });
    expect(new Float32Array(raw.body.buffer.slice(raw.body.byteOffset, raw.body.byteOffset + raw.body.length))).toEqual(f32([2, 10]).data);
    expect(encodeRaw(GRU, { logits: f32([1, 4]), hn: f32([1, 2], [7, 8]) }, 'hn').headers['x-lakeray-shape']).toBe('1,2');
  });

  it('refuses a missing or bad shape, a byte count that does not match, a wrong shape and a multi-input model', () => {
    const body = Buffer.alloc(784 * 4);
    invalid(() => decodeRaw(CNN, body, undefined), /^input "input": expected \[batch, 1, 28, 28\] float32, got X-Lakeray-Shape null/);
    invalid(() => decodeRaw(CNN, body, '1,a,28'), /^input "input": expected \[batch, 1, 28, 28\] float32, got X-Lakeray-Shape "1,a,28"/);
    invalid(() => decodeRaw(CNN, body, '2,1,28,28'), 'input "input": expected [batch, 1, 28, 28] float32, got 3136 bytes for X-Lakeray-Shape [2, 1, 28, 28] (float32: 6272 bytes)');
    invalid(() => decodeRaw(CNN, body, '1,784'), 'input "input": expected [batch, 1, 28, 28] float32, got [1, 784] float32');
    invalid(() => decodeRaw(CNN, body, '1,1,28,28', 'img'), /^input "img": the model has no such input/);
    invalid(() => decodeRaw(GRU, Buffer.alloc(12), '1,3'), /X-Lakeray-Input naming one of the inputs \(its inputs: x \[batch, 3\] float32/);
    invalid(() => decodeRaw(GRU, Buffer.alloc(12), '1,3', 'x'), /^input "x": expected \[batch, 3\] float32, got a raw body, which carries one input/);
  });
});

describe('Arrow IPC', () => {
  it('round-trips one FixedSizeList column per tensor', () => {
    const tensors = { x: f32([2, 3]), h0: f32([2, 2], [1, 2, 3, 4]) };
    const back = decodeArrow(GRU, encodeArrow(tensors));
    expect(back).toEqual(tensors);
  });

  it('reads List columns and float64 values as the input dtype', () => {
    const table = new arrow.Table({
      x: arrow.vectorFromArray([[1, 2, 3], [4, 5, 6]], new arrow.List(new arrow.Field('item', new arrow.Float64(), false))),
      h0: arrow.vectorFromArray([[0, 0], [1, 1]], new arrow.List(new arrow.Field('item', new arrow.Float64(), false))),
    });
    const back = decodeArrow(GRU, arrow.tableToIPC(table, 'stream'));
    expect(back.x).toEqual({ dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  });

  it('refuses rows of the wrong size, unknown or missing columns, nulls and bytes that are not Arrow', () => {
    const list = (rows: (number[] | null)[]) => arrow.vectorFromArray(rows, new arrow.List(new arrow.Field('item', new arrow.Float32(), true)));
    const ipc = (cols: Record<string, Vector>) => arrow.tableToIPC(new arrow.Table(cols), 'stream');
    invalid(() => decodeArrow(GRU, ipc({ x: list([[1, 2, 3], [4, 5]]), h0: list([[0, 0], [0, 0]]) })), `${X_HEAD}got 2 values in a row where each row has 3`);
    invalid(() => decodeArrow(GRU, ipc({ x: list([[1, 2, 3]]), h0: list([[0, 0]]), z: list([[1]]) })), /^input "z": the model has no such input/);
    invalid(() => decodeArrow(GRU, ipc({ x: list([[1, 2, 3]]) })), `${H0_HEAD}got nothing (the request lacks this input)`);
    invalid(() => decodeArrow(GRU, ipc({ x: list([[1, 2, 3], null]), h0: list([[0, 0], [0, 0]]) })), `${X_HEAD}got null values in its column`);
    invalid(() => decodeArrow(GRU, ipc({ x: arrow.vectorFromArray([1, 2], new arrow.Float32()), h0: list([[0, 0], [0, 0]]) })), `${X_HEAD}got a column of scalars; send each row's 3 values as a FixedSizeList or List`);
    invalid(() => decodeArrow(GRU, new Uint8Array([1, 2, 3, 4])), /^the body is not an Arrow IPC stream.*x \[batch, 3\] float32/);
  });
});

describe('the /infer frame', () => {
  it('round-trips tensors of every dtype at aligned offsets', () => {
    const tensors = {
      a: f32([1, 3]),
      b: { dtype: 'float64', shape: [2], data: Float64Array.from([1.5, -2]) },
      c: { dtype: 'int64', shape: [1, 2], data: BigInt64Array.from([1n, -(2n ** 40n)]) },
      d: { dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 2, 255]) },
      e: { dtype: 'bool', shape: [1], data: Uint8Array.from([1]) },
      f: { dtype: 'int32', shape: [1], data: Int32Array.from([-7]) },
    } as const;
    const frame = encodeFrame(tensors as never, 'outputs');
    expect(decodeFrame(frame)).toEqual(tensors);
    // A frame received at an odd offset inside a larger buffer is copied, not misread.
    const shifted = Buffer.concat([Buffer.alloc(3), frame]).subarray(3);
    expect(decodeFrame(shifted)).toEqual(tensors);
  });

  it('refuses truncated frames and entries that do not fit their bytes', () => {
    const frame = encodeFrame({ a: f32([2, 3]) });
    expect(() => decodeFrame(frame.subarray(0, 2))).toThrow(/shorter than its header length/);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 4))).toThrow(/tensor "a" \[2,3\] float32 does not fit its bytes/);
  });
});
