/**
 * The serving vocabulary shared by the gateway (batcher, router, sessions), the replicas
 * (local onnxruntime-node processes, Ray Serve) and the API (DESIGN.md §7). Pure types.
 *
 * A request carries `rows`: the size of the first (batch) dimension of every input. The
 * gateway queues requests, closes batches of up to `max_batch_size` rows, sends each batch to
 * one replica, and splits the outputs back per request along the first dimension.
 */

export const DTYPES = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A dense row-major tensor; shape[0] is the batch dimension for model inputs and outputs. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export type TensorMap = Record<string, Tensor>;

/** One input or output as the model declares it: fixed dims are numbers, symbolic ones strings or null. */
export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: (number | string | null)[];
}

/** A model's inputs and outputs (read from the ONNX file by the replica). */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * A state input fed from a state output of the previous chunk of the same session (e.g. a
 * GRU's hidden state `h0` ← `hn`). The first chunk of a session gets zeros.
 */
export interface StateBinding {
  input: string;
  output: string;
}

export const LOAD_BALANCE_STRATEGIES = ['least_loaded', 'round_robin', 'gpu_memory'] as const;
export type LoadBalanceStrategy = (typeof LOAD_BALANCE_STRATEGIES)[number];

/** Settings the gateway applies to the next batch when they change (PATCH). */
export interface BatchSettings {
  max_batch_size: number;
  batch_timeout_ms: number;
  /** Off: every request is its own batch, sent as soon as a replica has room. */
  enable_dynamic_batching: boolean;
  /**
   * On: a batch also closes before `batch_timeout_ms` when a replica is idle and the requests
   * that arrived in the current event-loop turn are in it (batcher.ts). Default off (absent in
   * specs stored before it existed).
   */
  close_batch_when_idle?: boolean;
  /** Most rows waiting in the queue; beyond it requests get 429 QUEUE_FULL. */
  max_queue: number;
  /** A request not answered within this is refused early (503) or failed (504). */
  request_timeout_ms: number;
  load_balance_strategy: LoadBalanceStrategy;
}

export const REPLICA_STATES = ['starting', 'ready', 'draining'] as const;
export type ReplicaState = (typeof REPLICA_STATES)[number];

/** Why a replica could not answer a batch. */
export type ReplicaFailure =
  /** The replica died or its connection broke: the batch may run on another replica. */
  | 'lost'
  /** The model refused the inputs (shape, dtype, values): the fault of a request in the batch. */
  | 'rejected'
  /** Anything else the runtime raised. */
  | 'internal';

export class ReplicaError extends Error {
  constructor(
    readonly failure: ReplicaFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ReplicaError';
  }
}

/** One replica as the gateway sees it: somewhere to send a batch. */
export interface Replica {
  readonly id: string;
  readonly state: ReplicaState;
  /** GPU device ids it holds (from the scheduler's ledger). */
  readonly gpus: readonly string[];
  /** Free GPU memory in bytes where the replica can tell, else null (gpu_memory falls back to least_loaded). */
  gpuFreeBytes(): number | null;
  /** Run one batch. Rejects with ReplicaError. */
  infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap>;
}
