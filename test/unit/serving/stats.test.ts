import { describe, expect, it } from 'vitest';
import { ServingStats } from '../../../src/serving/stats.ts';

describe('ServingStats', () => {
  it('counts batches in power-of-two buckets, refusals by code and cold starts', () => {
    const s = new ServingStats(() => 0);
    for (const rows of [1, 2, 3, 4, 5, 16]) s.recordBatch(rows);
    s.recordRefusal('QUEUE_FULL');
    s.recordRefusal('QUEUE_FULL');
    s.recordRefusal('NOT_READY');
    s.recordColdStart(800);
    s.recordColdStart(400);
    const snap = s.snapshot();
    expect(snap.batch_size_histogram).toEqual({ '1': 1, '2': 1, '4': 2, '8': 1, '16': 1 });
    expect(snap.batches_total).toBe(6);
    expect(snap.mean_batch_size).toBe(5.17);
    expect(snap.refused).toEqual({ QUEUE_FULL: 2, DEADLINE_UNMEETABLE: 0, INVALID_TENSOR: 0, REPLICA_UNAVAILABLE: 0, INFERENCE_TIMEOUT: 0, INFERENCE_FAILED: 0 });
    expect(snap.cold_starts).toEqual({ count: 2, last_ms: 400, mean_ms: 600 });
  });

  it('takes latency percentiles over the last 60 s and throughput over the last 10 whole seconds', () => {
    let now = 0;
    const s = new ServingStats(() => now);
    s.recordAnswer(1, 1000); // falls out of the 60 s window
    now = 70_000;
    for (let i = 1; i <= 100; i++) {
      now = 70_000 + i * 50; // 20 answers per second over 5 s
      s.recordAnswer(2, i);
    }
    now = 76_000;
    const snap = s.snapshot();
    expect(snap.latency_ms).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(snap.requests_total).toBe(101);
    expect(snap.throughput_rps).toBe(10);
    expect(snap.rows_per_s).toBe(20);
    now = 200_000;
    expect(s.snapshot()).toMatchObject({ latency_ms: { p50: 0, p95: 0, p99: 0 }, throughput_rps: 0 });
  });

  it('orders latencies by value whatever order they came in (9 before 10, 10 before 100)', () => {
    const s = new ServingStats(() => 1000);
    // 1..100 in a scrambled order (37 is coprime to 100), plus 1000 once: a string sort or none would miss.
    for (let i = 0; i < 100; i++) s.recordAnswer(1, ((i * 37) % 100) + 1);
    s.recordAnswer(1, 1000);
    expect(s.snapshot().latency_ms).toEqual({ p50: 51, p95: 96, p99: 100 });
  });
});
