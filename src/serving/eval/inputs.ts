/**
 * Inputs that fit a deployment's signature, made once before the load starts (so building
 * JSON is not what the test measures): one row per request, random values in [0, 1) for
 * float inputs and zeros otherwise; symbolic dims past the batch dim get 1.
 */
import type { ModelSignature, StateBinding, TensorSpec } from '../types.ts';

type Nested = number | boolean | Nested[];

/** The shape of one request's tensor: batch 1, fixed dims as declared, symbolic dims 1. */
export function rowShape(spec: TensorSpec): number[] {
  return spec.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' && d > 0 ? d : 1));
}

function nested(shape: readonly number[], value: () => number | boolean): Nested {
  if (shape.length === 0) return value();
  return Array.from({ length: shape[0]! }, () => nested(shape.slice(1), value));
}

function valueOf(spec: TensorSpec, random: () => number): () => number | boolean {
  // Four decimals keep the bodies short; floor, not round, keeps them in [0, 1) (0.99996 must not become 1).
  if (spec.dtype === 'float32' || spec.dtype === 'float64') return () => Math.floor(random() * 10_000) / 10_000;
  return spec.dtype === 'bool' ? () => false : () => 0;
}

/** Predict bodies `{"inputs": {name: nested arrays}}` for every input of the model. */
export function predictBodies(signature: ModelSignature, count: number, random: () => number = Math.random): string[] {
  return Array.from({ length: count }, () =>
    JSON.stringify({ inputs: Object.fromEntries(signature.inputs.map((s) => [s.name, nested(rowShape(s), valueOf(s, random))])) }),
  );
}

/**
 * One session chunk per message. State inputs are the server's (fed from the previous chunk);
 * the client sends the other input. Binary float32 when it is float32 with fixed dims (the
 * contract's compact form, as an audio client would send), else text JSON.
 */
export function sessionChunks(
  signature: ModelSignature,
  state: readonly StateBinding[],
  count: number,
  random: () => number = Math.random,
): (Buffer | string)[] {
  const stateInputs = new Set(state.map((s) => s.input));
  const chunkInputs = signature.inputs.filter((s) => !stateInputs.has(s.name));
  const only = chunkInputs.length === 1 ? chunkInputs[0]! : null;
  const fixed = only !== null && only.dtype === 'float32' && only.shape.slice(1).every((d) => typeof d === 'number' && d > 0);
  return Array.from({ length: count }, () => {
    if (fixed) {
      const values = Float32Array.from({ length: rowShape(only).reduce((a, b) => a * b, 1) }, random);
      return Buffer.from(values.buffer);
    }
    return JSON.stringify({ inputs: Object.fromEntries(chunkInputs.map((s) => [s.name, nested(rowShape(s), valueOf(s, random))])) });
  });
}
