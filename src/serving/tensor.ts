/**
 * Tensor codecs of the serving API (docs/serving.md): request bodies → a checked TensorMap,
 * outputs → answer bodies. Formats: JSON nested arrays, seed 004's `{"image": …}`, raw float32
 * with `X-Lakeray-Shape`, and Arrow IPC (one FixedSizeList/List column per tensor).
 *
 * Every refusal is INVALID_TENSOR (400) and names the input and what the model expects, e.g.
 * `input "x": expected [batch, 28] float32, got [1, 784]`: the caller can fix the request
 * from the message alone. Every decoder ends with `checkInputs`, so what one returns fits the
 * model's signature (the predict route does not check a second time).
 */
import { ARRAYS, formatDims, inputProblem, rowsOf } from '../../runtimes/serving/protocol.mjs';
import { LakerayError } from '../domain/errors.ts';
import type { Data } from 'apache-arrow';
import arrow, { type DataType, type Table, type Vector } from '../lake/arrow.ts';
import type { DType, ModelSignature, Tensor, TensorData, TensorMap, TensorSpec } from './types.ts';

const expected = (spec: TensorSpec): string => `expected ${formatDims(spec.shape)} ${spec.dtype}`;

const invalid = (spec: TensorSpec | string, got: string): LakerayError =>
  typeof spec === 'string'
    ? new LakerayError('INVALID_TENSOR', `input "${spec}": ${got}`)
    : new LakerayError('INVALID_TENSOR', `input "${spec.name}": ${expected(spec)}, ${got}`);

const describeModel = (signature: ModelSignature): string =>
  signature.inputs.map((s) => `${s.name} ${formatDims(s.shape)} ${s.dtype}`).join(', ');

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Values per row of an input whose non-batch dims are all fixed; null when one is symbolic. */
const rowSize = (spec: TensorSpec): number | null => {
  const rest = spec.shape.slice(1);
  return rest.every((d) => typeof d === 'number') ? product(rest as number[]) : null;
};

/**
 * Throws INVALID_TENSOR unless `inputs` holds exactly the model's inputs, each with its dtype,
 * rank and fixed dims (symbolic dims take any size ≥ 1), all with the same rows. Returns the rows.
 * The replica runs the same check (runtimes/serving/protocol.mjs) before onnxruntime sees a batch.
 */
export const checkInputs = (signature: ModelSignature, inputs: TensorMap): number => {
  const problem = inputProblem(signature, inputs);
  if (problem !== null) throw new LakerayError('INVALID_TENSOR', problem);
  return rowsOf(signature, inputs);
};

/** `values` (numbers, bigints or booleans) as the element array of `dtype`; null if one does not fit. */
const toArray = (dtype: DType, values: ArrayLike<unknown>): TensorData | null => {
  const out = new ARRAYS[dtype]!(values.length) as unknown as (number | bigint)[];
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    if (typeof v === 'boolean' && (dtype === 'bool' || dtype === 'uint8')) v = v ? 1 : 0;
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) return null;
    if (dtype === 'float32' || dtype === 'float64') out[i] = v;
    else {
      const [lo, hi] = dtype === 'bool' ? [0, 1] : dtype === 'uint8' ? [0, 255] : dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (!Number.isInteger(v) || v < lo || v > hi) return null;
      out[i] = dtype === 'int64' ? BigInt(v) : v;
    }
  }
  return out as unknown as TensorData;
};

/**
 * Floats straight into their typed array, no intermediate list: the hot path of every JSON
 * predict (784 numbers for one image). Null when anything is off (ragged, not a finite
 * number): the general walk below then finds and names the problem.
 */
const floatsFromNested = (dtype: 'float32' | 'float64', shape: readonly number[], value: unknown): TensorData | null => {
  const out = dtype === 'float32' ? new Float32Array(product(shape)) : new Float64Array(product(shape));
  const last = shape.length - 1;
  let n = 0;
  const walk = (v: unknown, depth: number): boolean => {
    if (!Array.isArray(v) || v.length !== shape[depth]) return false;
    if (depth === last) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x !== 'number' || !Number.isFinite(x)) return false;
        out[n++] = x;
      }
      return true;
    }
    for (let i = 0; i < v.length; i++) if (!walk(v[i], depth + 1)) return false;
    return true;
  };
  return walk(value, 0) ? out : null;
};

/** A tensor from nested JSON arrays, refused (naming the input) when ragged or not numbers. */
export const fromNested = (spec: TensorSpec, value: unknown): Tensor => {
  const shape: number[] = [];
  for (let cur = value; Array.isArray(cur); cur = cur[0]) shape.push(cur.length);
  if ((spec.dtype === 'float32' || spec.dtype === 'float64') && shape.length > 0) {
    const data = floatsFromNested(spec.dtype, shape, value);
    if (data !== null) return { dtype: spec.dtype, shape, data };
  }
  const flat: unknown[] = [];
  // The path ([0][3]…) is spelled out only for an error: building it per value would cost more than the walk.
  const path: number[] = [];
  const at = (): string => path.map((i) => `[${i}]`).join('') || 'the value';
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw invalid(spec, `got a ragged array (${at()} is nested deeper than the first element)`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const has = Array.isArray(v) ? `${v.length} values` : 'a scalar';
      throw invalid(spec, `got a ragged array (${at()} has ${has} where its first sibling has ${shape[depth]})`);
    }
    path.push(0);
    for (let i = 0; i < v.length; i++) {
      path[depth] = i;
      walk(v[i], depth + 1);
    }
    path.pop();
  };
  walk(value, 0);
  const data = toArray(spec.dtype, flat);
  if (data === null) {
    const bad = flat.find((v) => toArray(spec.dtype, [v]) === null);
    throw invalid(spec, `got ${JSON.stringify(bad) ?? String(bad)} among the values (not a ${spec.dtype})`);
  }
  return { dtype: spec.dtype, shape, data };
};

/** `{"inputs": {name: nested arrays}}`, or `{"inputs": nested arrays}` for a one-input model. */
export const decodeJsonInputs = (signature: ModelSignature, body: unknown): TensorMap => {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  const only = signature.inputs.length === 1 ? signature.inputs[0]! : null;
  let map: Record<string, unknown>;
  if (Array.isArray(inputs)) {
    if (only === null) throw new LakerayError('INVALID_TENSOR', `"inputs" must name each input ({"inputs": {"<name>": [...]}}): the model has several (${describeModel(signature)})`);
    map = { [only.name]: inputs };
  } else if (inputs !== null && typeof inputs === 'object') map = inputs as Record<string, unknown>;
  else throw new LakerayError('INVALID_TENSOR', `the body needs "inputs": {"<name>": nested arrays} (the model's inputs: ${describeModel(signature)})`);
  const tensors: TensorMap = {};
  for (const [name, value] of Object.entries(map)) {
    const spec = signature.inputs.find((s) => s.name === name);
    if (spec === undefined) throw invalid(name, `the model has no such input (its inputs: ${describeModel(signature)})`);
    tensors[name] = fromNested(spec, value);
  }
  checkInputs(signature, tensors);
  return tensors;
};

/** A tensor as nested arrays (int64 as numbers). */
export const toNested = (t: Tensor): unknown => {
  const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  if (t.shape.length === 0) return values[0];
  const build = (depth: number, start: number): unknown => {
    const n = t.shape[depth]!;
    if (depth === t.shape.length - 1) return values.slice(start, start + n);
    const step = product(t.shape.slice(depth + 1));
    return Array.from({ length: n }, (_, i) => build(depth + 1, start + i * step));
  };
  return build(0, 0);
};

/** The JSON answer `{"outputs": {name: nested arrays}, "model", "model_version"}`. */
export const jsonAnswer = (outputs: TensorMap, model: string, version: number) => ({
  outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, toNested(t)])),
  model,
  model_version: version,
});

// ---- seed 004: {"image": [784] | 28×28} → mnist_serve's answer ----

const IMAGE_SHAPES = ['784', '28,28', '1,28,28', '1,1,28,28'];

/** True when the body is seed 004's `{"image": …}` rather than `{"inputs": …}`. */
export const isImageRequest = (body: unknown): boolean =>
  body !== null && typeof body === 'object' && 'image' in body && !('inputs' in body);

/** One row for a one-input model with 784 values per row: the image reshaped, clipped to [0, 1]. */
export const decodeImage = (signature: ModelSignature, body: unknown): TensorMap => {
  const spec = signature.inputs.length === 1 ? signature.inputs[0]! : null;
  if (spec === null || rowSize(spec) !== 784) {
    throw new LakerayError('INVALID_TENSOR', `{"image": …} needs a model with one input of 784 values per row; this one has ${describeModel(signature)} (send {"inputs": …})`);
  }
  const value = (body as { image: unknown }).image;
  // A Float32Array is the predict route's fast read of a flat `[numbers]` (serving/json-image.ts).
  const image = value instanceof Float32Array ? { shape: [value.length], data: value } : fromNested({ ...spec, dtype: 'float32' }, value);
  if (!IMAGE_SHAPES.includes(image.shape.join(','))) throw invalid(spec, `got an image of shape ${formatDims(image.shape)} (send 784 numbers, or 28 rows of 28)`);
  const pixels = image.data as Float32Array;
  // Clipped as Math.min(1, Math.max(0, v)) would (-0 → 0, NaN kept), storing only what changes.
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v <= 0) pixels[i] = 0;
    else if (v > 1) pixels[i] = 1;
  }
  const data = spec.dtype === 'float32' ? pixels : toArray(spec.dtype, pixels);
  if (data === null) throw invalid(spec, 'the image does not fit the input dtype');
  const tensors = { [spec.name]: { dtype: spec.dtype, shape: spec.shape.map((d, i) => (i === 0 ? 1 : (d as number))), data } };
  checkInputs(signature, tensors);
  return tensors;
};

/** mnist_serve's answer from the first row of the first output (softmax of its logits). */
export const imageAnswer = (signature: ModelSignature, outputs: TensorMap, classes?: readonly string[]) => {
  const first = outputs[signature.outputs[0]?.name ?? ''] ?? Object.values(outputs)[0];
  if (first === undefined) throw new LakerayError('INFERENCE_FAILED', 'the model returned no outputs');
  const width = first.shape.length > 1 ? product(first.shape.slice(1)) : first.data.length;
  const logits = Array.from(first.data as ArrayLike<number | bigint>, Number).slice(0, width);
  const max = Math.max(...logits);
  const exp = logits.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const probabilities = exp.map((v) => v / sum);
  const best = probabilities.indexOf(Math.max(...probabilities));
  const labels = classes && classes.length > 0 ? classes.map(String) : logits.map((_, i) => String(i));
  return { prediction: best, label: labels[best] ?? String(best), confidence: probabilities[best], probabilities, label_names: labels };
};

// ---- raw: application/octet-stream + X-Lakeray-Shape ----

export const RAW_CONTENT_TYPE = 'application/octet-stream';

/** A raw body (float32 LE) for one input (`name`, optional for a one-input model) of shape `shapeHeader` ("8,1,28,28"). */
export const decodeRaw = (signature: ModelSignature, body: Buffer, shapeHeader: string | undefined, name?: string): TensorMap => {
  const spec = name === undefined ? (signature.inputs.length === 1 ? signature.inputs[0] : undefined) : signature.inputs.find((s) => s.name === name);
  if (spec === undefined) {
    const why = name === undefined ? 'a raw body needs X-Lakeray-Input naming one of the inputs' : `input "${name}": the model has no such input`;
    throw new LakerayError('INVALID_TENSOR', `${why} (its inputs: ${describeModel(signature)})`);
  }
  if (signature.inputs.length !== 1) throw invalid(spec, `got a raw body, which carries one input; the model needs all of ${describeModel(signature)} (send JSON or Arrow)`);
  const shape = (shapeHeader ?? '').split(',').map((s) => Number(s.trim()));
  if (shapeHeader === undefined || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw invalid(spec, `got X-Lakeray-Shape ${JSON.stringify(shapeHeader ?? null)} (comma-separated sizes, e.g. 8,1,28,28)`);
  if (body.length !== product(shape) * 4) throw invalid(spec, `got ${body.length} bytes for X-Lakeray-Shape ${formatDims(shape)} (float32: ${product(shape) * 4} bytes)`);
  const floats = new Float32Array(product(shape));
  new Uint8Array(floats.buffer).set(body);
  const data = spec.dtype === 'float32' ? floats : toArray(spec.dtype, floats);
  if (data === null) throw invalid(spec, `got float32 values that are not ${spec.dtype}`);
  const tensors = { [spec.name]: { dtype: spec.dtype, shape, data } };
  checkInputs(signature, tensors);
  return tensors;
};

/** The raw answer: the bytes of one output (the first unless named) and its shape and dtype headers. */
export const encodeRaw = (signature: ModelSignature, outputs: TensorMap, name?: string) => {
  const key = name ?? signature.outputs[0]?.name ?? Object.keys(outputs)[0] ?? '';
  const t = outputs[key];
  if (t === undefined) throw new LakerayError('INVALID_TENSOR', `output "${key}": the model has no such output (its outputs: ${signature.outputs.map((s) => s.name).join(', ')})`);
  return {
    body: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    headers: { 'content-type': RAW_CONTENT_TYPE, 'x-lakeray-shape': t.shape.join(','), 'x-lakeray-dtype': t.dtype },
  };
};

// ---- Arrow IPC: one column per tensor, a row's values flattened row-major ----

export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';

/** The values of one Arrow column (FixedSizeList, List or primitive), checked to `per` values a row. */
const columnValues = (spec: TensorSpec, column: Vector, per: number): unknown[] => {
  const values: unknown[] = [];
  for (const d of column.data) {
    const list = arrow.DataType.isFixedSizeList(d.type) || arrow.DataType.isList(d.type);
    const child = list ? d.children[0]! : d;
    if (d.nullCount > 0 || child.nullCount > 0) throw invalid(spec, 'got null values in its column');
    if (!list) {
      if (per !== 1) throw invalid(spec, `got a column of scalars; send each row's ${per} values as a FixedSizeList or List`);
      values.push(...Array.from(d.values.subarray(d.offset, d.offset + d.length) as ArrayLike<unknown>));
      continue;
    }
    const offsets = arrow.DataType.isList(d.type) ? d.valueOffsets : null;
    for (let r = 0; r < d.length; r++) {
      const [from, to] = offsets === null ? [(d.offset + r) * per, (d.offset + r + 1) * per] : [offsets[d.offset + r]!, offsets[d.offset + r + 1]!];
      if (to - from !== per) throw invalid(spec, `got ${to - from} values in a row where each row has ${per}`);
      values.push(...Array.from(child.values.subarray(child.offset + from, child.offset + to) as ArrayLike<unknown>));
    }
  }
  return values;
};

/** An Arrow IPC stream with one column per input → the model's tensors. */
export const decodeArrow = (signature: ModelSignature, bytes: Uint8Array): TensorMap => {
  let table: Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (err) {
    throw new LakerayError('INVALID_TENSOR', `the body is not an Arrow IPC stream: ${(err as Error).message}`);
  }
  if (table.schema.fields.length === 0) throw new LakerayError('INVALID_TENSOR', `the body is not an Arrow IPC stream with a column per input (the model's inputs: ${describeModel(signature)})`);
  const tensors: TensorMap = {};
  for (const field of table.schema.fields) {
    const spec = signature.inputs.find((s) => s.name === field.name);
    if (spec === undefined) throw invalid(field.name, `the model has no such input (its inputs: ${describeModel(signature)})`);
    const per = rowSize(spec);
    if (per === null) throw invalid(spec, 'got an Arrow column, which cannot say the sizes of its symbolic dims (send JSON)');
    const data = toArray(spec.dtype, columnValues(spec, table.getChild(field.name)!, per));
    if (data === null) throw invalid(spec, `got values that are not ${spec.dtype}`);
    tensors[spec.name] = { dtype: spec.dtype, shape: [table.numRows, ...(spec.shape.slice(1) as number[])], data };
  }
  checkInputs(signature, tensors);
  return tensors;
};

const ARROW_TYPES: Record<DType, () => DataType> = {
  float32: () => new arrow.Float32(),
  float64: () => new arrow.Float64(),
  int32: () => new arrow.Int32(),
  int64: () => new arrow.Int64(),
  uint8: () => new arrow.Uint8(),
  bool: () => new arrow.Uint8(),
};

/** Tensors (rows along the first dim) → an Arrow IPC stream with one FixedSizeList column each. */
export const encodeArrow = (tensors: TensorMap): Uint8Array => {
  const columns: Record<string, Vector> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const rows = t.shape[0] ?? 1;
    const per = product(t.shape.slice(1));
    const child = arrow.makeData({ type: ARROW_TYPES[t.dtype](), length: t.data.length, data: t.data } as never) as Data;
    const type = new arrow.FixedSizeList(per, new arrow.Field('item', child.type, false));
    columns[name] = arrow.makeVector(arrow.makeData({ type, length: rows, nullCount: 0, child }));
  }
  return arrow.tableToIPC(new arrow.Table(columns), 'stream');
};
