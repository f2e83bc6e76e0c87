import type { ModelSignature, TensorData, TensorMap } from '../../src/serving/types.ts';

export declare const ARRAYS: Record<string, { new (length: number): TensorData; readonly BYTES_PER_ELEMENT: number }>;
export declare class FrameError extends Error {}
export declare const encodeFrame: (tensors: TensorMap, kind?: 'inputs' | 'outputs') => Buffer;
export declare const decodeFrame: (buf: Buffer) => TensorMap;
export declare const formatDims: (dims: readonly (number | string | null)[]) => string;
export declare const inputProblem: (signature: ModelSignature, inputs: TensorMap) => string | null;
export declare const rowsOf: (signature: ModelSignature, inputs: TensorMap) => number;
