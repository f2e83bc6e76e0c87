// Shared latency helpers so every benchmark reports percentiles the same way.

export interface Summary {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  n: number;
}

/**
 * p in [0, 100]. Linear interpolation between closest ranks (numpy's default),
 * so small samples don't jump straight to the max. Accepts unsorted input.
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = isSorted(values) ? values : [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (rank - lo);
}

export function summarize(ms: number[]): Summary {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, x) => s + x, 0) / sorted.length : Number.NaN;
  return {
    p50_ms: percentile(sorted, 50),
    p95_ms: percentile(sorted, 95),
    p99_ms: percentile(sorted, 99),
    mean_ms: mean,
    n: sorted.length,
  };
}

function isSorted(v: number[]): boolean {
  for (let i = 1; i < v.length; i++) if (v[i - 1]! > v[i]!) return false;
  return true;
}
