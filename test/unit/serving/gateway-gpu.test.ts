/** GPU affinity: a request pinned to a GPU (a session routed by seed 003's gpu_language_map) runs on a replica holding it. */
import { afterEach, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.ts';
import { Gateway } from '../../../src/serving/gateway.ts';
import type { BatchSettings } from '../../../src/serving/types.ts';
import { DoublingReplica, rowsOf } from './test-replica.ts';

const SETTINGS: BatchSettings = {
  max_batch_size: 8, batch_timeout_ms: 2, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 10_000, load_balance_strategy: 'round_robin',
};
const gateways: Gateway[] = [];
afterEach(() => {
  for (const g of gateways.splice(0)) g.close(new LakerayError('NOT_READY'));
});

const replicaOn = (id: string, gpu: string): DoublingReplica => {
  const r = new DoublingReplica(id);
  r.gpus = [gpu];
  r.delayMs = 1;
  return r;
};

it('pinned requests run only on the replica holding their GPU; unpinned ones anywhere', async () => {
  const g = new Gateway({ settings: SETTINGS });
  gateways.push(g);
  const a = replicaOn('a', '0');
  const b = replicaOn('b', '1');
  g.addReplica(a);
  g.addReplica(b);
  const seen: number[][] = [];
  const record = (r: DoublingReplica) => {
    const infer = r.infer.bind(r);
    r.infer = async (inputs, signal) => {
      seen.push([r.id === 'a' ? 0 : 1, ...Array.from(inputs.x!.data as Float32Array)]);
      return infer(inputs, signal);
    };
  };
  record(a);
  record(b);
  // Values encode the pin: 1000s for GPU 0, 2000s for GPU 1, 3000s unpinned.
  const jobs = [
    ...Array.from({ length: 20 }, (_, i) => g.submit({ inputs: rowsOf(1, 1000 + i * 2), rows: 1, gpu: '0' })),
    ...Array.from({ length: 20 }, (_, i) => g.submit({ inputs: rowsOf(1, 2000 + i * 2), rows: 1, gpu: '1' })),
    ...Array.from({ length: 20 }, (_, i) => g.submit({ inputs: rowsOf(1, 3000 + i * 2), rows: 1 })),
  ];
  await Promise.all(jobs);
  for (const [replica, ...values] of seen) {
    for (const v of values) {
      if (v! >= 1000 && v! < 2000) expect(replica).toBe(0);
      if (v! >= 2000 && v! < 3000) expect(replica).toBe(1);
    }
  }
  const unpinned = seen.flatMap(([replica, ...vs]) => (vs.some((v) => v! >= 3000) ? [replica] : []));
  expect(new Set(unpinned).size).toBe(2);
});

it('a pin to a GPU no ready replica holds is only a preference: the request is served, never left waiting', async () => {
  const g = new Gateway({ settings: SETTINGS });
  gateways.push(g);
  g.addReplica(replicaOn('a', '0'));
  const out = await g.submit({ inputs: rowsOf(1, 5), rows: 1, gpu: '7' });
  expect(Array.from(out.y!.data as Float32Array)).toEqual([10, 12]);
});
