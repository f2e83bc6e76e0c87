// Shared statistics so every benchmark reports percentiles, medians and spreads the same way.

export interface Summary {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  n: number;
}

/** How a figure varied over a benchmark's rounds: the median and where the others fell. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** 25th and 75th percentiles: the middle half of the rounds. */
  p25: number;
  p75: number;
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

/** The median (the mean of the two middle values for an even count). */
export const median = (values: number[]): number => percentile(values, 50);

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

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: percentile(sorted, 50),
    min: sorted.length ? sorted[0]! : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    p25: percentile(sorted, 25),
    p75: percentile(sorted, 75),
    n: sorted.length,
  };
}

/** "12.3 (10.1–14.0, n=5)": a spread for a report line, `digits` after the point. */
export const formatSpread = (s: Spread, digits = 1): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)}, n=${s.n})`;

function isSorted(v: number[]): boolean {
  for (let i = 1; i < v.length; i++) if (v[i - 1]! > v[i]!) return false;
  return true;
}
