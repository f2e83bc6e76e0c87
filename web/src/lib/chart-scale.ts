/**
 * Axis ranges and ticks for the metric charts (components/LineChart.tsx). Pure, so the unit
 * tests pin them for a one-epoch run and a hundred-epoch run alike.
 *
 * y: round ticks (1, 2, 2.5 or 5 × 10^k) around the data. A single value (or a flat series)
 * gets room around it instead of a range made up from its own size. A metric that cannot be
 * negative (every value ≥ 0: losses, counts) never gets a negative axis, and an accuracy-like
 * metric whose values are all in [0, 1] never gets an axis past 1.
 * x: the data's own range (a run starts at the left edge and ends at the right), ticks on
 * round numbers inside it, whole numbers when every x is whole (epochs, steps).
 */

export interface Axis {
  min: number;
  max: number;
  ticks: number[];
  /** Decimals every tick label shows (the same for all, so 0.50 lines up with 0.25). */
  decimals: number;
}

const MANTISSAS = [1, 2, 2.5, 5, 10];
const clean = (v: number): number => Number(v.toPrecision(15));

/** The smallest round step (1, 2, 2.5, 5 × 10^k) that cuts `span` into at most `count` parts. */
export function niceStep(span: number, count: number): number {
  // Below 1e-12 nothing a chart shows differs: treat it as no span at all.
  const raw = span > 1e-12 && Number.isFinite(span) ? span / count : 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return clean((MANTISSAS.find((m) => m * mag >= raw * (1 - 1e-9)) ?? 10) * mag);
}

/** Decimals a label needs to show multiples of `step` exactly (0.25 → 2, 0.2 → 1, 5 → 0). */
export function stepDecimals(step: number): number {
  for (let d = 0; d <= 12; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 12;
}

/** Names of metrics that are fractions by nature: accuracy, precision, recall, F1, AUC, IoU… */
const FRACTION_WORDS = new Set(['acc', 'accuracy', 'precision', 'recall', 'f1', 'auc', 'iou', 'miou', 'dice', 'map', 'top1', 'top5', 'fraction']);

export function isFractionMetric(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((word) => FRACTION_WORDS.has(word));
}

/**
 * The y axis for `values`. `fraction`: the metric is accuracy-like, so when its values are in
 * [0, 1] the axis stays in [0, 1] too.
 */
export function yAxis(values: readonly number[], options: { fraction?: boolean; count?: number } = {}): Axis {
  const fraction = options.fraction ?? false;
  let count = options.count ?? 5;
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { min: 0, max: 1, ticks: [0, 0.5, 1], decimals: 1 };
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  const floor = lo >= 0 ? 0 : -Infinity;
  const ceiling = fraction && lo >= 0 && hi <= 1 ? 1 : Infinity;
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-6 || hi - lo < 1e-12) {
    // One value: a fifth of its size either side, in a few round ticks (0.9 → 0.7 … 1).
    const pad = niceStep(Math.abs(hi) || 1, 5);
    lo -= pad;
    hi += pad;
    count = Math.min(count, 4);
  }
  lo = Math.max(lo, floor);
  hi = Math.min(hi, ceiling);
  let step = niceStep(hi - lo, count);
  let axis = covering(lo, hi, step, floor, ceiling);
  // Rounding the ends outwards can add a part or two: fewer, rounder ticks read better.
  while (axis.ticks.length > count + 1) {
    step = nextStep(step);
    axis = covering(lo, hi, step, floor, ceiling);
  }
  return { ...axis, decimals: stepDecimals(step) };
}

/** The next round step up: 1 → 2 → 2.5 → 5 → 10. */
function nextStep(step: number): number {
  const mag = 10 ** Math.floor(Math.log10(step) + 1e-9);
  return clean((MANTISSAS.find((m) => m * mag > step * (1 + 1e-9)) ?? 10) * mag);
}

/** Multiples of `step` from below `lo` to above `hi`, kept within [floor, ceiling]. */
function covering(lo: number, hi: number, step: number, floor: number, ceiling: number): { min: number; max: number; ticks: number[] } {
  // The tolerance keeps 0.3 / 0.1 = 2.9999999999999996 on tick 3; the checks after it keep
  // every value on the axis whatever the rounding did.
  let min = clean(Math.floor(lo / step + 1e-9) * step);
  let max = clean(Math.ceil(hi / step - 1e-9) * step);
  if (min > lo) min = clean(min - step);
  if (max < hi) max = clean(max + step);
  min = Math.max(min, floor);
  max = Math.min(max, ceiling);
  const ticks: number[] = [];
  for (let i = 0; i <= 50; i++) {
    // A tick a rounding error away from 0 is 0 (-1e-11 + 5 × 2e-12 came out as -1.6e-27).
    const sum = clean(min + i * step);
    const t = Math.abs(sum) < step * 1e-9 ? 0 : sum;
    if (t > max + step * 1e-9) break;
    ticks.push(t);
  }
  if (ticks[ticks.length - 1]! < max - step * 1e-9) ticks.push(max);
  return { min, max, ticks };
}

/** The x axis for `xs` (epochs, steps): the data's range, ticks on round numbers inside it. */
export function xAxis(xs: readonly number[], count = 5): Axis {
  const finite = xs.filter(Number.isFinite);
  if (finite.length === 0) return { min: 0, max: 1, ticks: [], decimals: 0 };
  const whole = finite.every(Number.isInteger);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (min === max) {
    // One epoch: the point in the middle, its x as the only label.
    const half = whole ? 1 : niceStep(Math.abs(min) || 1, 10);
    return { min: min - half, max: max + half, ticks: [min], decimals: whole ? 0 : stepDecimals(half) };
  }
  const step = whole ? Math.max(1, Math.round(niceStep(max - min, count))) : niceStep(max - min, count);
  const inner: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  for (let i = 0; i <= count * 3; i++) {
    const t = clean((first + i) * step);
    if (t > max + step * 1e-9) break;
    inner.push(t);
  }
  // The first x is labelled too unless a round tick sits right next to it.
  const ticks = inner.length && inner[0]! - min < step * 0.5 ? inner : [min, ...inner];
  return { min, max, ticks, decimals: whole ? 0 : Math.max(stepDecimals(step), stepDecimals(min)) };
}

/** A tick label: the axis' decimals, thousands grouped, large values shortened (12k, 1.5M). */
export function tickLabel(v: number, decimals: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e5) return `${Number((v / 1e3).toPrecision(3))}k`;
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
