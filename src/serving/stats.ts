/**
 * A deployment's serving statistics (the body of GET /api/v1/deployments/{name}/stats).
 * Latency percentiles cover the answered requests of the last 60 s, at most the last 10,000
 * (a ring buffer); throughput counts answers in the last 10 whole seconds (per-second buckets);
 * `requests_total`/`rows_total` count answered requests, `refused` counts the rest by code.
 */
import type { ErrorCode } from '../domain/errors.ts';
import type { BatchSettings, ReplicaState } from './types.ts';

export const REFUSAL_CODES = ['QUEUE_FULL', 'DEADLINE_UNMEETABLE', 'INVALID_TENSOR', 'REPLICA_UNAVAILABLE', 'INFERENCE_TIMEOUT', 'INFERENCE_FAILED'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface ReplicaStats {
  id: string;
  state: ReplicaState;
  rows_in_flight: number;
  batches: number;
  rows: number;
  gpus: string[];
}

export interface DeploymentStats {
  queue_depth: number;
  queue_rows: number;
  in_flight_rows: number;
  requests_total: number;
  rows_total: number;
  batches_total: number;
  mean_batch_size: number;
  /** Batches by size, in power-of-two buckets named by their upper bound. */
  batch_size_histogram: Record<string, number>;
  latency_ms: { p50: number; p95: number; p99: number };
  throughput_rps: number;
  rows_per_s: number;
  refused: Record<RefusalCode, number>;
  cold_starts: { count: number; last_ms: number | null; mean_ms: number | null };
  replicas: ReplicaStats[];
  settings: BatchSettings;
}

const LATENCY_WINDOW_MS = 60_000;
const LATENCY_CAPACITY = 10_000;
const THROUGHPUT_SECONDS = 10;

/** The counters behind DeploymentStats; the gateway adds queue, replica and settings fields. */
export class ServingStats {
  private readonly latencyAt = new Float64Array(LATENCY_CAPACITY);
  private readonly latencyMs = new Float64Array(LATENCY_CAPACITY);
  private latencyNext = 0;
  private latencyCount = 0;
  /** [second, requests, rows] per wall second, newest last. */
  private readonly perSecond: [number, number, number][] = [];
  private requests = 0;
  private rows = 0;
  private batches = 0;
  private batchRows = 0;
  private readonly histogram = new Map<number, number>();
  private readonly refusedBy = Object.fromEntries(REFUSAL_CODES.map((c) => [c, 0])) as Record<RefusalCode, number>;
  private coldCount = 0;
  private coldLast: number | null = null;
  private coldSum = 0;

  constructor(private readonly clock: () => number) {}

  recordAnswer(rows: number, latencyMs: number): void {
    const now = this.clock();
    this.requests += 1;
    this.rows += rows;
    this.latencyAt[this.latencyNext] = now;
    this.latencyMs[this.latencyNext] = latencyMs;
    this.latencyNext = (this.latencyNext + 1) % LATENCY_CAPACITY;
    this.latencyCount = Math.min(this.latencyCount + 1, LATENCY_CAPACITY);
    const second = Math.floor(now / 1000);
    const last = this.perSecond.at(-1);
    if (last !== undefined && last[0] === second) {
      last[1] += 1;
      last[2] += rows;
    } else {
      this.perSecond.push([second, 1, rows]);
      while (this.perSecond.length > THROUGHPUT_SECONDS + 1) this.perSecond.shift();
    }
  }

  recordBatch(rows: number): void {
    this.batches += 1;
    this.batchRows += rows;
    const bucket = 2 ** Math.ceil(Math.log2(Math.max(1, rows)));
    this.histogram.set(bucket, (this.histogram.get(bucket) ?? 0) + 1);
  }

  recordRefusal(code: ErrorCode): void {
    if ((REFUSAL_CODES as readonly string[]).includes(code)) this.refusedBy[code as RefusalCode] += 1;
  }

  recordColdStart(ms: number): void {
    this.coldCount += 1;
    this.coldLast = ms;
    this.coldSum += ms;
  }

  snapshot(): Omit<DeploymentStats, 'queue_depth' | 'queue_rows' | 'in_flight_rows' | 'replicas' | 'settings'> {
    const now = this.clock();
    // A typed array sorts numerically without a comparator call per comparison: a full window
    // (LATENCY_CAPACITY values) took milliseconds of the event loop as a number[].
    const inWindow = new Float64Array(this.latencyCount);
    let n = 0;
    for (let i = 0; i < this.latencyCount; i++) {
      if (now - (this.latencyAt[i] as number) <= LATENCY_WINDOW_MS) inWindow[n++] = this.latencyMs[i] as number;
    }
    const recent = inWindow.subarray(0, n).sort();
    // The current second is partial: count the 10 whole seconds before it.
    const current = Math.floor(now / 1000);
    const window = this.perSecond.filter(([s]) => s < current && s >= current - THROUGHPUT_SECONDS);
    const sum = (i: 1 | 2): number => window.reduce((n, b) => n + b[i], 0);
    return {
      requests_total: this.requests,
      rows_total: this.rows,
      batches_total: this.batches,
      mean_batch_size: this.batches === 0 ? 0 : round(this.batchRows / this.batches),
      batch_size_histogram: Object.fromEntries([...this.histogram].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
      latency_ms: { p50: percentile(recent, 0.5), p95: percentile(recent, 0.95), p99: percentile(recent, 0.99) },
      throughput_rps: round(sum(1) / THROUGHPUT_SECONDS),
      rows_per_s: round(sum(2) / THROUGHPUT_SECONDS),
      refused: { ...this.refusedBy },
      cold_starts: { count: this.coldCount, last_ms: this.coldLast, mean_ms: this.coldCount === 0 ? null : round(this.coldSum / this.coldCount) },
    };
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** Nearest-rank percentile of sorted values (0 when there are none). */
function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number);
}
