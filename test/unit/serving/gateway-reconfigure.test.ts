import { afterEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { Gateway } from '../../../src/serving/gateway.ts';
import type { BatchSettings, TensorMap } from '../../../src/serving/types.ts';
import { DoublingReplica, rowsOf } from './test-replica.ts';

const SETTINGS: BatchSettings = {
  max_batch_size: 8, batch_timeout_ms: 2, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 20_000, load_balance_strategy: 'least_loaded',
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const values = (out: TensorMap): number[] => Array.from(out.y!.data as Float32Array);

let g: Gateway | null = null;
afterEach(() => g?.close(new LakerayError('NOT_READY')));

describe('Gateway reconfigure', () => {
  it('applies new settings to the next batch', async () => {
    g = new Gateway({ settings: SETTINGS });
    const r = new DoublingReplica('r1');
    r.mode = 'stall';
    g.addReplica(r);
    const first = g.submit({ inputs: rowsOf(1, 0), rows: 1 });
    for (let i = 0; i < 50 && r.batches.length === 0; i++) await sleep(5);
    const queued = [1, 2, 3, 4, 5, 6].map((i) => g!.submit({ inputs: rowsOf(1, i), rows: 1 }));
    g.reconfigure({ max_batch_size: 2 });
    expect(g.stats().settings.max_batch_size).toBe(2);
    r.mode = 'ok';
    r.release();
    await Promise.all([first, ...queued]);
    expect(r.batches).toEqual([1, 2, 2, 2]);
  });

  it('answers every request of a steady load while batch size, strategy, batching and replicas change', async () => {
    const gw = new Gateway({ settings: SETTINGS });
    g = gw;
    const replicas = [new DoublingReplica('r1'), new DoublingReplica('r2'), new DoublingReplica('r3')];
    for (const r of replicas) r.delayMs = 2;
    gw.addReplica(replicas[0]!);
    let stop = false;
    let answered = 0;
    const failures: string[] = [];
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const rows = 1 + ((c + i) % 3);
        const base = c * 1_000_000 + i * 10;
        try {
          const out = await gw.submit({ inputs: rowsOf(rows, base), rows, chain: c % 4 === 0 ? `s${c}` : undefined });
          expect(values(out)).toEqual(Array.from(rowsOf(rows, base).x!.data as Float32Array, (v) => v * 2));
          answered += 1;
        } catch (e) {
          failures.push((e as LakerayError).code ?? String(e));
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    const steps: (() => void | Promise<void>)[] = [
      () => gw.addReplica(replicas[1]!),
      () => gw.reconfigure({ max_batch_size: 2 }),
      () => gw.reconfigure({ load_balance_strategy: 'round_robin' }),
      () => gw.addReplica(replicas[2]!),
      () => gw.reconfigure({ enable_dynamic_batching: false }),
      () => gw.drainReplica('r1'),
      () => gw.reconfigure({ max_batch_size: 16, enable_dynamic_batching: true, load_balance_strategy: 'gpu_memory' }),
      () => gw.drainReplica('r2'),
      () => gw.addReplica(replicas[0]!),
      () => gw.reconfigure({ batch_timeout_ms: 10, load_balance_strategy: 'least_loaded' }),
    ];
    for (const step of steps) {
      await sleep(60);
      await step();
    }
    await sleep(60);
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    expect(gw.stats()).toMatchObject({ queue_depth: 0, in_flight_rows: 0, requests_total: answered });
  });
});
