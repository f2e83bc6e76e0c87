/** Formatting for humans: sizes, counts, durations, ages, percentages. */
import { isFractionMetric } from './chart-scale.ts';

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A size in IEC units (1 KiB = 1024 B), as the CLI prints it (src/cli/format.ts formatBytes):
 * one decimal below 10, whole numbers above, and a value that rounds up to 1024 moves to the
 * next unit (1,048,575 B is "1.0 MiB", not "1024 KiB").
 */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 0) return `-${bytes(-n)}`;
  let unit = 0;
  let v = n;
  while (v >= 1024 && unit < IEC_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(v)} B`;
  let shown = v < 9.95 ? v.toFixed(1) : String(Math.round(v));
  if (shown === '1024' && unit < IEC_UNITS.length - 1) {
    unit++;
    shown = '1.0';
  }
  return `${shown} ${IEC_UNITS[unit]}`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US');
}

/** 0 → "0s", 75 → "1m 15s", 3700 → "1h 1m". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 10) return `${Number(seconds.toFixed(1))}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const ms = (t: string | number | null | undefined): number | null => {
  if (t === null || t === undefined) return null;
  const v = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(v) ? v : null;
};

/** "just now", "3 min ago", "2 h ago", "4 days ago", else a date. */
export function ago(t: string | number | null | undefined, now = Date.now()): string {
  const v = ms(t);
  if (v === null) return '—';
  const s = Math.max(0, (now - v) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86_400) return `${Math.floor(s / 86_400)} d ago`;
  return new Date(v).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Seconds between two times; `to` defaults to now (still running). */
export function between(from: string | number | null | undefined, to: string | number | null | undefined, now = Date.now()): number | null {
  const a = ms(from);
  if (a === null) return null;
  const b = ms(to) ?? now;
  return Math.max(0, (b - a) / 1000);
}

export function dateTime(t: string | number | null | undefined): string {
  const v = ms(t);
  if (v === null) return '—';
  return new Date(v).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function time(t: string | number | null | undefined): string {
  const v = ms(t);
  if (v === null) return '—';
  return new Date(v).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function percent(fraction: number | null | undefined, digits = 0): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(Math.min(1, Math.max(0, fraction)) * 100).toFixed(digits)}%`;
}

/** A metric value: integers as they are, small floats with 4 significant digits. */
export function metric(v: unknown): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

/** A named metric: an accuracy-like fraction as "94.2%", anything else as metric() says. */
export function metricText(name: string, v: unknown, digits = 1): string {
  if (typeof v === 'number' && isFractionMetric(name) && v >= 0 && v <= 1) return `${(v * 100).toFixed(digits)}%`;
  return metric(v);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
