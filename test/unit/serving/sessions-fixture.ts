/**
 * Sessions over a real Gateway with in-test replicas of a deterministic stateful model:
 * inputs x [rows, 2] and h [rows, 2] (the state), outputs y = h + x (what the client sees)
 * and hn = h + x (the next state), so a session's y after chunks x1..xn is exactly x1+…+xn.
 */
import { LakerayError } from '../../../src/domain/errors.ts';
import { Gateway } from '../../../src/serving/gateway.ts';
import type { SessionHost } from '../../../src/serving/sessions.ts';
import { ReplicaError, type BatchSettings, type ModelSignature, type Replica, type ReplicaState, type StateBinding, type TensorMap } from '../../../src/serving/types.ts';

export const SIGNATURE: ModelSignature = {
  inputs: [
    { name: 'x', dtype: 'float32', shape: ['batch', 2] },
    { name: 'h', dtype: 'float32', shape: ['batch', 2] },
  ],
  outputs: [
    { name: 'y', dtype: 'float32', shape: ['batch', 2] },
    { name: 'hn', dtype: 'float32', shape: ['batch', 2] },
  ],
};
export const BINDINGS: StateBinding[] = [{ input: 'h', output: 'hn' }];

export const SETTINGS: BatchSettings = {
  max_batch_size: 16, batch_timeout_ms: 10, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 10_000, load_balance_strategy: 'least_loaded',
};

export class AccumulatingReplica implements Replica {
  state: ReplicaState = 'ready';
  gpus: string[] = [];
  /** Rows of each batch it ran. */
  readonly batches: number[] = [];
  delayMs = 0;
  /** Hold every batch until release() (to remove the replica while a chunk runs on it). */
  stall = false;
  private readonly stalled: (() => void)[] = [];

  constructor(readonly id: string) {}

  gpuFreeBytes(): number | null {
    return null;
  }

  async infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    const { x, h } = inputs;
    if (!x || !h || x.shape.join() !== h.shape.join()) throw new ReplicaError('rejected', 'inputs "x" and "h" must both be [batch, 2]');
    this.batches.push(x.shape[0] ?? 0);
    const xs = x.data as Float32Array;
    if (xs.some((v) => v < 0)) throw new ReplicaError('rejected', 'input "x": negative values');
    if (this.stall)
      await new Promise<void>((resolve, reject) => {
        this.stalled.push(resolve);
        signal?.addEventListener('abort', () => reject(new ReplicaError('lost', 'aborted')));
      });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const next = (h.data as Float32Array).map((v, i) => v + (xs[i] ?? 0));
    return { y: { dtype: 'float32', shape: [...x.shape], data: next.slice() }, hn: { dtype: 'float32', shape: [...x.shape], data: next } };
  }

  release(): void {
    for (const r of this.stalled.splice(0)) r();
  }
}

export interface TestDeployment {
  gateway: Gateway;
  signature?: ModelSignature;
  bindings?: StateBinding[];
  routing?: Record<string, string>;
}

/** A SessionHost over named test deployments (what deployments.ts gives in the server). */
/** One tenant's deployments (`default` unless named): to any other tenant none of them exists. */
export class TestHost implements SessionHost {
  readonly deployments = new Map<string, TestDeployment>();

  constructor(readonly tenant = 'default') {}

  add(name: string, d: Partial<TestDeployment> = {}, settings: Partial<BatchSettings> = {}): Gateway {
    const gateway = d.gateway ?? new Gateway({ settings: { ...SETTINGS, ...settings } });
    this.deployments.set(name, { signature: SIGNATURE, bindings: BINDINGS, ...d, gateway });
    return gateway;
  }

  private find(tenant: string, name: string): TestDeployment | undefined {
    return tenant === this.tenant ? this.deployments.get(name) : undefined;
  }

  gateway(tenant: string, name: string): Gateway | undefined {
    return this.find(tenant, name)?.gateway;
  }

  signature(tenant: string, name: string): ModelSignature | undefined {
    return this.find(tenant, name)?.signature;
  }

  stateBindings(tenant: string, name: string): readonly StateBinding[] {
    return this.find(tenant, name)?.bindings ?? [];
  }

  routing(tenant: string, name: string): Readonly<Record<string, string>> {
    return this.find(tenant, name)?.routing ?? {};
  }

  close(): void {
    for (const d of this.deployments.values()) d.gateway.close(new LakerayError('NOT_READY'));
    this.deployments.clear();
  }
}

export const chunkOf = (...row: number[][]): TensorMap => ({
  x: { dtype: 'float32', shape: [row.length, 2], data: Float32Array.from(row.flat()) },
});

export const values = (t: { data: ArrayLike<number | bigint> } | undefined): number[] => Array.from(t?.data ?? [], Number);
