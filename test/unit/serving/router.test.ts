import { describe, expect, it } from 'vitest';
import { pickReplica, type ReplicaLoad } from '../../../src/serving/router.ts';

const r = (id: string, rowsInFlight: number, extra: Partial<ReplicaLoad> = {}): ReplicaLoad => ({
  id, state: 'ready', rowsInFlight, batchesInFlight: rowsInFlight > 0 ? 1 : 0, maxConcurrentBatches: 2, gpuFreeBytes: null, ...extra,
});

describe('pickReplica', () => {
  it('least_loaded: fewest rows in flight, ties by id order, only ready replicas with room', () => {
    expect(pickReplica('least_loaded', [r('b', 4), r('c', 2), r('a', 8)], 0)?.id).toBe('c');
    expect(pickReplica('least_loaded', [r('b', 0), r('a', 0)], 0)?.id).toBe('a');
    expect(pickReplica('least_loaded', [r('a', 0, { state: 'starting' }), r('b', 0, { state: 'draining' }), r('c', 9)], 0)?.id).toBe('c');
    expect(pickReplica('least_loaded', [r('a', 1, { batchesInFlight: 2 })], 0)).toBeNull();
    expect(pickReplica('least_loaded', [], 0)).toBeNull();
  });

  it('round_robin: takes turns in id order from the cursor, skipping a busy replica', () => {
    const rs = [r('b', 0), r('a', 0), r('c', 0)];
    const picks: string[] = [];
    let cursor = 0;
    for (let i = 0; i < 4; i++) {
      const p = pickReplica('round_robin', rs, cursor)!;
      picks.push(p.id);
      cursor = p.cursor;
    }
    expect(picks).toEqual(['a', 'b', 'c', 'a']);
    expect(pickReplica('round_robin', [r('a', 1), r('b', 1, { batchesInFlight: 2 }), r('c', 0)], 1)).toEqual({ id: 'c', cursor: 0 });
  });

  it('gpu_memory: most free bytes when every candidate can tell, else least_loaded', () => {
    expect(pickReplica('gpu_memory', [r('a', 0, { gpuFreeBytes: 1e9 }), r('b', 5, { gpuFreeBytes: 4e9 })], 0)?.id).toBe('b');
    expect(pickReplica('gpu_memory', [r('a', 0, { gpuFreeBytes: 1e9 }), r('b', 5, { gpuFreeBytes: null })], 0)?.id).toBe('a');
    expect(pickReplica('gpu_memory', [r('a', 3, { gpuFreeBytes: 2e9 }), r('b', 1, { gpuFreeBytes: 2e9 })], 0)?.id).toBe('b');
  });
});
