import type { Socket } from 'node:net';
import type { ModelSignature, TensorData, TensorMap } from '../../src/serving/types.ts';

export declare const ARRAYS: Record<string, { new (length: number): TensorData; readonly BYTES_PER_ELEMENT: number }>;
export declare class FrameError extends Error {}
export declare const encodeFrame: (tensors: TensorMap, kind?: 'inputs' | 'outputs') => Buffer;
export declare const decodeFrame: (buf: Buffer) => TensorMap;
export declare const formatDims: (dims: readonly (number | string | null)[]) => string;
export declare const inputProblem: (signature: ModelSignature, inputs: TensorMap) => string | null;
export declare const rowsOf: (signature: ModelSignature, inputs: TensorMap) => number;

export declare const CHANNEL_UPGRADE: string;
export declare const CHANNEL_PATH: string;
export declare const KIND: { readonly REQUEST: 0; readonly OK: 1; readonly REJECTED: 2; readonly FAILED: 3 };
export interface ChannelMessage {
  id: number;
  kind: number;
  body: Buffer;
}
export declare const writeMessage: (socket: Socket, id: number, kind: number, body: Buffer) => void;
export declare class MessageReader {
  constructor(onMessage: (m: ChannelMessage) => void);
  push(chunk: Buffer): void;
}
