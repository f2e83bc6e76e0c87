/**
 * The stream's wire forms of one chunk (the WebSocket of a session, and seed 003's /wss):
 * - binary frame: float32 little-endian values of the chunk's one input, row after row; the
 *   rows are bytes / 4 / (values per row), the row's shape is the input's fixed dims;
 * - JSON `{"inputs": nested arrays}` for a model with one chunk input, or
 *   `{"inputs": {"<name>": nested arrays}}`; an array one dimension short is one row.
 * And the answer: outputs as nested arrays, plus `prediction` (argmax per row) when the first
 * output is 2-D, as seed 004's predict gives it: a number for a one-row chunk, else a list.
 */
import { LakerayError } from '../../domain/errors.ts';
import { fromNested, toNested } from '../tensor.ts';
import type { Tensor, TensorMap, TensorSpec } from '../types.ts';

const fixedDims = (spec: TensorSpec): number[] | null => {
  const inner = spec.shape.slice(1);
  return inner.every((d): d is number => typeof d === 'number') ? inner : null;
};

const shapeText = (spec: TensorSpec): string => `[${spec.shape.map((d) => (typeof d === 'number' ? String(d) : 'batch')).join(', ')}]`;

export function decodeBinaryChunk(specs: readonly TensorSpec[], bytes: Uint8Array): TensorMap {
  const [spec, ...others] = specs;
  if (!spec || others.length > 0)
    throw new LakerayError('INVALID_TENSOR', `binary frames carry one input; this model takes ${specs.map((s) => `"${s.name}"`).join(', ')}: send JSON {"inputs": {…}}`);
  if (spec.dtype !== 'float32') throw new LakerayError('INVALID_TENSOR', `input "${spec.name}" is ${spec.dtype}; binary frames are float32: send JSON`);
  const inner = fixedDims(spec);
  if (!inner) throw new LakerayError('INVALID_TENSOR', `input "${spec.name}" is ${shapeText(spec)}: a binary frame needs fixed dims after the batch; send JSON`);
  const perRow = inner.reduce((a, b) => a * b, 1);
  if (bytes.byteLength === 0 || bytes.byteLength % (4 * perRow) !== 0)
    throw new LakerayError('INVALID_TENSOR', `input "${spec.name}": a frame of ${bytes.byteLength} bytes is not whole rows of ${perRow} float32 values (${4 * perRow} bytes) for ${shapeText(spec)}`);
  // A view when the frame's bytes are 4-aligned (ws hands each message its own bytes, which
  // live as long as the chunk): a copy per chunk was an allocation the GC paid for. Else a copy.
  let data: Float32Array;
  if (bytes.byteOffset % 4 === 0) data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  else {
    data = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(data.buffer).set(bytes);
  }
  return { [spec.name]: { dtype: 'float32', shape: [data.length / perRow, ...inner], data } };
}

/**
 * One input of a chunk: the predict API's nested-array decoding (tensor.ts), plus the chunk's
 * own allowance: an array one dimension short of the input is a single row.
 */
function tensorFromJson(spec: TensorSpec, value: unknown): Tensor {
  if (!Array.isArray(value) || value.length === 0) throw new LakerayError('INVALID_TENSOR', `input "${spec.name}": expected a non-empty array of numbers`);
  const t = fromNested(spec, value);
  return t.shape.length === spec.shape.length - 1 ? { ...t, shape: [1, ...t.shape] } : t;
}

export function decodeJsonChunk(specs: readonly TensorSpec[], body: unknown): TensorMap {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  if (inputs === undefined) throw new LakerayError('INVALID_TENSOR', 'expected {"inputs": …} (or the text EOF)');
  if (Array.isArray(inputs)) {
    const [spec, ...others] = specs;
    if (!spec || others.length > 0)
      throw new LakerayError('INVALID_TENSOR', `this model takes ${specs.map((s) => `"${s.name}"`).join(', ')}: send {"inputs": {"<name>": …}}`);
    return { [spec.name]: tensorFromJson(spec, inputs) };
  }
  if (typeof inputs !== 'object' || inputs === null) throw new LakerayError('INVALID_TENSOR', '"inputs" must be an array or an object of arrays');
  const map: TensorMap = {};
  for (const [name, value] of Object.entries(inputs)) {
    const spec = specs.find((s) => s.name === name);
    // Unknown names (state inputs included) are refused by the session with a clear message.
    map[name] = spec ? tensorFromJson(spec, value) : tensorFromJson({ name, dtype: 'float32', shape: [] }, value);
  }
  return map;
}

/** Argmax per row of a 2-D output: a number for one row, else a list; undefined for other ranks. */
export function prediction(t: Tensor | undefined): number | number[] | undefined {
  if (!t || t.shape.length !== 2) return undefined;
  const [rows = 0, cols = 0] = t.shape;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (Number(t.data[r * cols + c]) > Number(t.data[r * cols + best])) best = c;
    out.push(best);
  }
  return rows === 1 ? out[0] : out;
}

/**
 * encodeChunkAnswer as JSON text, written straight from the typed arrays (no nested arrays to
 * build and walk per chunk): the same text JSON.stringify gives for it (a test checks).
 */
export function chunkAnswerText(seq: number, outputs: TensorMap): string {
  let text = `{"seq":${seq},"outputs":{`;
  let first: Tensor | undefined;
  let comma = '';
  for (const name in outputs) {
    const t = outputs[name]!;
    first ??= t;
    text += `${comma}${JSON.stringify(name)}:${nestedText(t)}`;
    comma = ',';
  }
  const pred = prediction(first);
  if (pred === undefined) return `${text}}}`;
  return `${text}},"prediction":${typeof pred === 'number' ? pred : `[${pred.join(',')}]`}}`;
}

/** One value as JSON.stringify writes it (a non-finite number is null). */
const valueText = (v: number | bigint): string => {
  const n = typeof v === 'bigint' ? Number(v) : v;
  return Number.isFinite(n) ? String(n) : 'null';
};

/** A tensor as JSON nested arrays, as JSON.stringify(toNested(t)) writes it. */
function nestedText(t: Tensor): string {
  const data = t.data as ArrayLike<number | bigint>;
  const { shape } = t;
  if (shape.length === 0) return data.length === 0 ? 'null' : valueText(data[0]!);
  return nestedFrom(data, shape, 0, { at: 0 });
}

// Module level, not a closure made per tensor: the server runs through tsx, which keeps
// function names, so every local named function costs an Object.defineProperty per call.
function nestedFrom(data: ArrayLike<number | bigint>, shape: readonly number[], depth: number, cursor: { at: number }): string {
  const n = shape[depth]!;
  let out = '[';
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ',';
    out += depth === shape.length - 1 ? valueText(data[cursor.at++]!) : nestedFrom(data, shape, depth + 1, cursor);
  }
  return `${out}]`;
}

export function encodeChunkAnswer(seq: number, outputs: TensorMap): Record<string, unknown> {
  const nested = Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, toNested(t)]));
  const first = Object.values(outputs)[0];
  const pred = prediction(first);
  return pred === undefined ? { seq, outputs: nested } : { seq, outputs: nested, prediction: pred };
}
