/**
 * A session's carried state, as pure functions over the model's signature: which inputs are
 * state (fed from the previous chunk's outputs), the zeros of a first chunk, and the split of
 * a chunk's outputs into the state to keep and the outputs the client sees.
 *
 * The batch dimension comes first on every input (the gateway batches along it), so a state
 * input's zeros are [rows, ...fixed dims]; a state input with another symbolic dim cannot be
 * zero-filled and is refused when the first chunk arrives.
 */
import { LakerayError } from '../../domain/errors.ts';
import type { DType, ModelSignature, StateBinding, Tensor, TensorData, TensorMap, TensorSpec } from '../types.ts';

export function zeros(dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data: TensorData =
    dtype === 'float32'
      ? new Float32Array(n)
      : dtype === 'float64'
        ? new Float64Array(n)
        : dtype === 'int32'
          ? new Int32Array(n)
          : dtype === 'int64'
            ? new BigInt64Array(n)
            : new Uint8Array(n);
  return { dtype, shape, data };
}

const describe = (spec: TensorSpec): string => `[${spec.shape.map((d) => (typeof d === 'number' ? String(d) : (d ?? 'batch'))).join(', ')}] ${spec.dtype}`;

/** The first chunk's state: zeros of each state input's shape with `rows` as its batch dim. */
export function initialState(signature: ModelSignature, bindings: readonly StateBinding[], rows: number): TensorMap {
  const state: TensorMap = {};
  for (const b of bindings) {
    const spec = signature.inputs.find((i) => i.name === b.input);
    if (!spec) throw new LakerayError('INVALID_TENSOR', `state input "${b.input}" is not an input of the model`);
    const inner = spec.shape.slice(1);
    if (spec.shape.length === 0 || !inner.every((d): d is number => typeof d === 'number'))
      throw new LakerayError('INVALID_TENSOR', `state input "${b.input}" is ${describe(spec)}: only its first (batch) dimension may be symbolic`);
    state[b.input] = zeros(spec.dtype, [rows, ...inner]);
  }
  return state;
}

/** The inputs a client sends for each chunk: every model input that is not carried state. */
export const chunkInputSpecs = (signature: ModelSignature, bindings: readonly StateBinding[]): TensorSpec[] =>
  signature.inputs.filter((i) => !bindings.some((b) => b.input === i.name));

/** What checking a session's chunks needs, worked out once per signature and bindings (a session keeps it). */
export interface ChunkPlan {
  signature: ModelSignature;
  bindings: readonly StateBinding[];
  /** The inputs each chunk carries (chunkInputSpecs). */
  specs: TensorSpec[];
  /** Their names. */
  names: string[];
}

export function chunkPlan(signature: ModelSignature, bindings: readonly StateBinding[]): ChunkPlan {
  const specs = chunkInputSpecs(signature, bindings);
  return { signature, bindings, specs, names: specs.map((s) => s.name) };
}

/** Checks a chunk's inputs (names and agreeing rows; shapes are the model's to check) and returns its rows. */
export function chunkRows(plan: ChunkPlan, inputs: TensorMap): number {
  const { bindings, names: wanted } = plan;
  for (const name in inputs) {
    if (!Object.hasOwn(inputs, name)) continue;
    if (bindings.some((b) => b.input === name))
      throw new LakerayError('INVALID_TENSOR', `input "${name}" is the session's carried state; send only ${wanted.map((w) => `"${w}"`).join(', ')}`);
    if (!wanted.includes(name)) throw new LakerayError('INVALID_TENSOR', `input "${name}": the model has no such input (it takes ${wanted.map((w) => `"${w}"`).join(', ')})`);
  }
  let rows: number | undefined;
  for (const name of wanted) {
    const t = inputs[name];
    if (!t) throw new LakerayError('INVALID_TENSOR', `input "${name}" is missing`);
    const r = t.shape[0];
    if (r === undefined || r < 1) throw new LakerayError('INVALID_TENSOR', `input "${name}": needs at least one row, got shape [${t.shape.join(', ')}]`);
    if (rows !== undefined && r !== rows) throw new LakerayError('INVALID_TENSOR', `input "${name}": ${r} rows, but the other inputs have ${rows}`);
    rows = r;
  }
  if (rows === undefined) throw new LakerayError('INVALID_TENSOR', 'the model has no input besides its state');
  return rows;
}

/** Splits a chunk's outputs into the next state (by state input name) and what the client sees. */
export function splitOutputs(bindings: readonly StateBinding[], outputs: TensorMap, rows: number): { state: TensorMap; visible: TensorMap } {
  const state: TensorMap = {};
  for (const b of bindings) {
    const t = outputs[b.output];
    // The model broke its own contract: a bug of the deployment, not of this chunk's sender.
    if (!t) throw new LakerayError('INFERENCE_FAILED', `the model returned no state output "${b.output}" (for input "${b.input}")`);
    if (t.shape[0] !== rows) throw new LakerayError('INFERENCE_FAILED', `state output "${b.output}" has ${t.shape[0]} rows, expected ${rows}`);
    state[b.input] = t;
  }
  const visible: TensorMap = {};
  for (const [name, t] of Object.entries(outputs)) if (!bindings.some((b) => b.output === name)) visible[name] = t;
  return { state, visible };
}
