/**
 * An in-test replica: out = in * 2 (per element of input "x", as output "y"), that can be told
 * to fail the next batch, stall, or die. The real replica process is tested elsewhere.
 */
import { ReplicaError, type Replica, type ReplicaState, type TensorMap } from '../../../src/serving/types.ts';

/** stall: waits for release() or the abort signal; hang: never answers, ignores the signal. */
export type Mode = 'ok' | 'reject-negative' | 'internal-on-nan' | 'stall' | 'hang' | 'lose';

export class DoublingReplica implements Replica {
  state: ReplicaState = 'ready';
  gpus: string[] = [];
  mode: Mode = 'ok';
  /** Rows of each batch it ran (answered or not). */
  readonly batches: number[] = [];
  /** The abort signal of each batch it ran. */
  readonly signals: (AbortSignal | undefined)[] = [];
  freeBytes: number | null = null;
  delayMs = 0;
  private readonly stalled: (() => void)[] = [];

  constructor(readonly id: string) {}

  gpuFreeBytes(): number | null {
    return this.freeBytes;
  }

  async infer(inputs: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    const x = inputs.x;
    if (x === undefined) throw new ReplicaError('rejected', 'input "x" is missing');
    this.batches.push(x.shape[0] ?? 0);
    this.signals.push(signal);
    if (this.mode === 'lose') throw new ReplicaError('lost', `${this.id} died`);
    if (this.mode === 'hang') await new Promise(() => {});
    if (this.mode === 'stall') {
      await new Promise<void>((resolve, reject) => {
        this.stalled.push(resolve);
        signal?.addEventListener('abort', () => reject(new ReplicaError('lost', 'aborted')), { once: true });
      });
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const data = x.data as Float32Array;
    if (this.mode === 'reject-negative' && data.some((v) => v < 0)) throw new ReplicaError('rejected', 'input "x": negative values');
    if (this.mode === 'internal-on-nan' && data.some((v) => Number.isNaN(v))) throw new ReplicaError('internal', 'NaN in the graph');
    return { y: { dtype: 'float32', shape: [...x.shape], data: data.map((v) => v * 2) } };
  }

  /** Let every stalled batch go on. */
  release(): void {
    for (const r of this.stalled.splice(0)) r();
  }
}

/** A request of `rows` rows of width 2 whose values start at `base`. */
export function rowsOf(rows: number, base: number): TensorMap {
  const data = new Float32Array(rows * 2).map((_, i) => base + i);
  return { x: { dtype: 'float32', shape: [rows, 2], data } };
}
