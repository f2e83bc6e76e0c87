/**
 * What an evaluation measured, reduced to numbers: every request's outcome in, a phase's
 * summary (counts, errors by code, throughput, latency percentiles) and per-second series out.
 * Pure (times are passed in), so the report is reproducible from recorded data.
 */

/** One request (request mode) or one chunk (session mode), as a simulated user saw it. */
export interface RequestRecord {
  /** ms since the phase began, when the request was sent. */
  start_ms: number;
  latency_ms: number;
  /** null when answered 2xx; else the API's error code, `HTTP_<status>` or NETWORK_ERROR. */
  error: string | null;
}

export interface LatencySummary {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
  max: number | null;
}

/** Nearest-rank percentile of an ascending array (null when empty). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

const round = (v: number | null, digits = 2): number | null => (v === null ? null : Number(v.toFixed(digits)));

export function latencySummary(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : null;
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    mean: round(mean),
    max: round(sorted.at(-1) ?? null),
  };
}

export interface PhaseCounts {
  requests: number;
  ok: number;
  errors: Record<string, number>;
  /** Answered requests per second of the phase (errors do not count as served). */
  throughput_rps: number;
  latency_ms: LatencySummary;
}

/** Latency percentiles are over answered requests only: an instant 429 is not a fast answer. */
export function countPhase(records: readonly RequestRecord[], durationS: number): PhaseCounts {
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  for (const r of records) {
    if (r.error === null) latencies.push(r.latency_ms);
    else errors[r.error] = (errors[r.error] ?? 0) + 1;
  }
  return {
    requests: records.length,
    ok: latencies.length,
    errors,
    throughput_rps: durationS > 0 ? (round(latencies.length / durationS) ?? 0) : 0,
    latency_ms: latencySummary(latencies),
  };
}

export interface SeriesPoint {
  /** Second of the phase (0, 1, …) in which the requests finished. */
  t_s: number;
  throughput_rps: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Per-second buckets by completion time. The phase's measured duration is rarely whole (it
 * ends with the last answer): a tail under half a second joins the last bucket, a longer one
 * is a bucket of its own, and each bucket's rate is over its real width, so the chart does not
 * show a drop that is only a short last bucket.
 */
export function timeSeries(records: readonly RequestRecord[], durationS: number): SeriesPoint[] {
  const whole = Math.floor(durationS);
  const count = Math.max(1, durationS - whole >= 0.5 ? whole + 1 : whole);
  const width = (i: number) => (i < count - 1 ? 1 : Math.max(durationS - (count - 1), 1e-3));
  const buckets = Array.from({ length: count }, () => ({ latencies: [] as number[], errors: 0 }));
  for (const r of records) {
    const i = Math.min(count - 1, Math.max(0, Math.floor((r.start_ms + r.latency_ms) / 1000)));
    if (r.error === null) buckets[i]!.latencies.push(r.latency_ms);
    else buckets[i]!.errors += 1;
  }
  return buckets.map((b, t_s) => {
    const l = latencySummary(b.latencies);
    return { t_s, throughput_rps: round(b.latencies.length / width(t_s)) ?? 0, errors: b.errors, p50: l.p50, p95: l.p95, p99: l.p99 };
  });
}

/** The counters of GET …/stats this report reads. */
export interface StatsSnapshot {
  rows_total: number;
  batches_total: number;
  mean_batch_size: number;
}

/**
 * Rows per batch during the phase, from the deployment's counters before and after it (the
 * server's own mean covers its whole life); falls back to the server's mean when no batch ran
 * or a counter went backwards (the deployment was recreated meanwhile).
 */
export function phaseMeanBatchSize(before: StatsSnapshot | null, after: StatsSnapshot | null): number | null {
  if (!after) return null;
  if (before) {
    const batches = after.batches_total - before.batches_total;
    const rows = after.rows_total - before.rows_total;
    if (batches > 0 && rows >= 0) return round(rows / batches);
  }
  return Number.isFinite(after.mean_batch_size) ? round(after.mean_batch_size) : null;
}
