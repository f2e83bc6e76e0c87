import { describe, expect, it } from 'vitest';
import { admit, eligibleRequests, nextBatch, ServiceTimeEstimator, type QueuedRequest } from '../../../src/serving/batcher.ts';
import type { BatchSettings } from '../../../src/serving/types.ts';

const S: BatchSettings = {
  max_batch_size: 4, batch_timeout_ms: 10, enable_dynamic_batching: true, max_queue: 20,
  request_timeout_ms: 1000, load_balance_strategy: 'least_loaded',
};
const req = (id: number, rows: number, enqueuedAt = 0, extra: Partial<QueuedRequest> = {}): QueuedRequest => ({
  id, rows, sent: 0, enqueuedAt, deadline: 1e9, ...extra,
});
const none = new Set<string>();

describe('nextBatch', () => {
  it('waits until the oldest eligible request has waited batch_timeout_ms', () => {
    expect(nextBatch([req(1, 1, 0), req(2, 1, 4)], none, S, 3)).toEqual({ kind: 'wait', ms: 7 });
    expect(nextBatch([req(1, 1, 0), req(2, 1, 4)], none, S, 10)).toEqual({ kind: 'batch', rows: 2, slices: [{ id: 1, start: 0, count: 1 }, { id: 2, start: 0, count: 1 }] });
  });

  it('closes at once when max_batch_size rows are eligible, and keeps submit order', () => {
    const d = nextBatch([req(1, 2), req(2, 1), req(3, 3)], none, S, 0);
    expect(d).toEqual({ kind: 'batch', rows: 3, slices: [{ id: 1, start: 0, count: 2 }, { id: 2, start: 0, count: 1 }] });
  });

  it('sends one request per batch at once with dynamic batching off', () => {
    const d = nextBatch([req(1, 1), req(2, 1)], none, { ...S, enable_dynamic_batching: false }, 0);
    expect(d).toEqual({ kind: 'batch', rows: 1, slices: [{ id: 1, start: 0, count: 1 }] });
  });

  it('cuts a request larger than max_batch_size into slices, the last one sharing its batch', () => {
    expect(nextBatch([req(1, 10), req(2, 1)], none, S, 0)).toEqual({ kind: 'batch', rows: 4, slices: [{ id: 1, start: 0, count: 4 }] });
    expect(nextBatch([req(1, 10, 0, { sent: 8 }), req(2, 1)], none, S, 10)).toEqual({
      kind: 'batch', rows: 3, slices: [{ id: 1, start: 8, count: 2 }, { id: 2, start: 0, count: 1 }],
    });
  });

  it('holds the next request of a chain until the previous is answered, and batches across chains', () => {
    const q = [req(1, 1, 0, { chain: 'a' }), req(2, 1, 0, { chain: 'a' }), req(3, 1, 0, { chain: 'b' })];
    expect(eligibleRequests(q, none).map((r) => r.id)).toEqual([1, 3]);
    expect(eligibleRequests(q.slice(1), new Set(['a'])).map((r) => r.id)).toEqual([3]);
    expect(nextBatch(q, none, S, 10)).toMatchObject({ kind: 'batch', slices: [{ id: 1 }, { id: 3 }] });
  });

  it('closes early for an idle replica at the turn\'s end only with close_batch_when_idle', () => {
    const q = [req(1, 1, 0), req(2, 1, 1)];
    const both = { kind: 'batch', rows: 2, slices: [{ id: 1, start: 0, count: 1 }, { id: 2, start: 0, count: 1 }] };
    // The default rule: the turn's end changes nothing.
    expect(nextBatch(q, none, S, 2, undefined, true)).toEqual({ kind: 'wait', ms: 8 });
    expect(nextBatch(q, none, { ...S, close_batch_when_idle: false }, 2, undefined, true)).toEqual({ kind: 'wait', ms: 8 });
    // Opted in: before the turn's end (or for a busy replica) it still waits; after it, it goes.
    const idleRule = { ...S, close_batch_when_idle: true };
    expect(nextBatch(q, none, idleRule, 2)).toEqual({ kind: 'wait', ms: 8 });
    expect(nextBatch(q, none, idleRule, 2, undefined, true)).toEqual(both);
    // Chains and max_batch_size still bound what goes.
    const chained = [req(1, 3, 0, { chain: 'a' }), req(2, 1, 0, { chain: 'a' }), req(3, 3, 0)];
    expect(nextBatch(chained, none, idleRule, 0, undefined, true)).toEqual({ kind: 'batch', rows: 3, slices: [{ id: 1, start: 0, count: 3 }] });
  });

  it('is idle with nothing eligible', () => {
    expect(nextBatch([req(1, 1, 0, { chain: 'a' })], new Set(['a']), S, 0)).toEqual({ kind: 'idle' });
  });
});

describe('admit', () => {
  const base = { rows: 1, deadline: 1000, now: 0, queueRows: 0, queueDepth: 0, slots: 1, inFlightBatches: 0, settings: S };

  it('refuses QUEUE_FULL when the rows would pass max_queue, with a retry hint', () => {
    const est = new ServiceTimeEstimator();
    est.observe(4, 50);
    expect(admit({ ...base, queueRows: 19, rows: 1, serviceMs: est })).toEqual({ ok: true });
    expect(admit({ ...base, queueRows: 19, rows: 2, serviceMs: est })).toEqual({ ok: false, code: 'QUEUE_FULL', retryAfterMs: 50 });
  });

  it('refuses DEADLINE_UNMEETABLE when the batches ahead would answer it late, never without a measure or a replica', () => {
    const est = new ServiceTimeEstimator();
    expect(admit({ ...base, queueRows: 16, serviceMs: est })).toEqual({ ok: true });
    est.observe(4, 100);
    // 17 rows = 5 batches of 4 on one slot: 500 ms > the 300 ms deadline.
    expect(admit({ ...base, deadline: 300, queueRows: 16, serviceMs: est })).toEqual({ ok: false, code: 'DEADLINE_UNMEETABLE', retryAfterMs: 200 });
    expect(admit({ ...base, deadline: 300, queueRows: 16, slots: 2, serviceMs: est })).toEqual({ ok: true });
    expect(admit({ ...base, deadline: 300, queueRows: 16, slots: 0, serviceMs: est })).toEqual({ ok: true });
  });

  it('with batching off prices each request ahead as its own batch of its rows, not as a full batch', () => {
    const est = new ServiceTimeEstimator();
    est.observe(1, 3);
    const off = { ...S, max_batch_size: 32, max_queue: 1000, enable_dynamic_batching: false };
    // 115 single rows ahead + this one: 116 batches of 1 row at 3 ms = 348 ms, within 1 s (a full batch's price, 32 × 3 ms each, said 11 s).
    expect(admit({ ...base, settings: off, queueRows: 115, queueDepth: 115, serviceMs: est })).toEqual({ ok: true });
    // 400 ahead: 401 × 3 ms = 1,203 ms, past the 1 s deadline.
    expect(admit({ ...base, settings: off, queueRows: 400, queueDepth: 400, serviceMs: est })).toEqual({ ok: false, code: 'DEADLINE_UNMEETABLE', retryAfterMs: 203 });
    // Requests of 4 rows each are priced at the 4-row bucket (borrowed from 1 row, scaled: 12 ms): 11 ahead + this = 144 ms.
    expect(admit({ ...base, settings: off, rows: 4, queueRows: 40, queueDepth: 10, serviceMs: est })).toEqual({ ok: true });
  });
});

describe('ServiceTimeEstimator', () => {
  it('moves toward new measures per power-of-two bucket and borrows the nearest bucket, scaled up', () => {
    const e = new ServiceTimeEstimator(0.5);
    expect(e.estimate(3)).toBeNull();
    e.observe(3, 10);
    e.observe(4, 20);
    expect(e.estimate(4)).toBe(15);
    expect(e.estimate(16)).toBe(60);
    expect(e.estimate(1)).toBe(15);
  });
});
