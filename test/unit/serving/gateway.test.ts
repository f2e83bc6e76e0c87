import { afterEach, describe, expect, it } from 'vitest';
import { LakerayError } from '../../../src/domain/errors.js';
import { Gateway } from '../../../src/serving/gateway.js';
import type { BatchSettings } from '../../../src/serving/types.js';
import { DoublingReplica, rowsOf } from './test-replica.js';

const SETTINGS: BatchSettings = {
  max_batch_size: 8, batch_timeout_ms: 5, enable_dynamic_batching: true, max_queue: 1000,
  request_timeout_ms: 5000, load_balance_strategy: 'least_loaded',
};

const gateways: Gateway[] = [];
const gateway = (settings: Partial<BatchSettings> = {}, maxConcurrentBatches?: number): Gateway => {
  const g = new Gateway({ settings: { ...SETTINGS, ...settings }, maxConcurrentBatches });
  gateways.push(g);
  return g;
};
afterEach(() => {
  for (const g of gateways.splice(0)) g.close(new LakerayError('NOT_READY'));
});

const doubled = (rows: number, base: number): number[] => Array.from(rowsOf(rows, base).x!.data as Float32Array, (v) => v * 2);

describe('Gateway', () => {
  it('batches concurrent requests and splits the outputs back per request', async () => {
    const g = gateway();
    const r = new DoublingReplica('r1');
    g.addReplica(r);
    const outs = await Promise.all([1, 2, 3].map((n, i) => g.submit({ inputs: rowsOf(n, i * 100), rows: n })));
    outs.forEach((out, i) => expect(Array.from(out.y!.data as Float32Array)).toEqual(doubled(i + 1, i * 100)));
    expect(r.batches).toEqual([6]);
  });
});
