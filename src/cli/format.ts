/**
 * Human output helpers: durations, ages and aligned tables. Pure (the clock is passed in)
 * so the unit tests pin exact strings.
 */
import type { ApiTime, TaskJson } from './client.ts';

/** Epoch ms from an API time (ISO string per the contract; epoch ms tolerated). */
export function toMs(t: ApiTime | undefined): number | null {
  if (t === null || t === undefined || t === '') return null;
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * Elapsed time, precise where it matters: `0.4s`, `2.1s`, `42s`, `3m05s`, `1h02m`, `2d03h`.
 * Tenths only below 10 s, where they are still informative.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

/** Time left, in whole seconds rounded up (an ETA of "0s" while work remains would lie). */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  return formatDuration(s * 1000);
}

/** Coarse age for tables, kubectl style: `5s`, `3m`, `2h`, `4d`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A size in IEC units (1 KiB = 1024 B), the same as the web UI (web/src/lib/format.ts bytes):
 * one decimal below 10, whole numbers above, and a value that rounds up to 1024 moves to the
 * next unit (1,048,575 B is "1.0 MiB", not "1024 KiB").
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 0) return `-${formatBytes(-n)}`;
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

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Longer cells are cut with an ellipsis so one long name cannot push every row apart. */
  maxWidth?: number;
}

const truncate = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`);

/** Aligned columns separated by two spaces; no trailing whitespace. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c, i) => truncate(r[i] ?? '', c.maxWidth ?? Infinity)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((cell, i) => {
          const last = i === r.length - 1;
          if (columns[i]!.align === 'right') return cell.padStart(widths[i]!);
          return last ? cell : cell.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `next` for position 0 (the contract's "next to start"), else how many are ahead. */
export function formatQueuePosition(pos: number | null | undefined): string {
  if (pos === null || pos === undefined) return '-';
  return pos === 0 ? 'next' : `${pos} ahead`;
}

export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '-';
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

export const TASK_COLUMNS: readonly Column[] = [
  { header: 'ID' },
  { header: 'NAME', maxWidth: 32 },
  { header: 'STATUS' },
  { header: 'PROGRESS', align: 'right' },
  { header: 'QUEUE' },
  { header: 'AGE', align: 'right' },
  { header: 'DURATION', align: 'right' },
];

export function taskRow(t: TaskJson, now: number): string[] {
  const created = toMs(t.created_at);
  const started = toMs(t.started_at);
  const finished = toMs(t.finished_at);
  const progress = t.status === 'completed' ? '100%' : formatPercent(t.progress?.fraction);
  return [
    t.id,
    t.name,
    t.status,
    progress,
    t.status === 'pending' ? formatQueuePosition(t.queue_position) : '-',
    created === null ? '-' : formatAge(now - created),
    started === null ? '-' : formatDuration((finished ?? now) - started),
  ];
}

export const formatTaskTable = (tasks: readonly TaskJson[], now: number): string =>
  formatTable(
    TASK_COLUMNS,
    tasks.map((t) => taskRow(t, now)),
  );

/** A result value for humans: strings as-is, everything else as indented JSON. */
export const formatValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));
