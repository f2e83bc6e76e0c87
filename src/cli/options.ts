/**
 * Commander argument parsers for numeric and duration flags. They throw commander's
 * InvalidArgumentError, which commander reports as a usage error (exit 2) naming the flag.
 */
import { InvalidArgumentError } from 'commander';

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function number(opts: { int?: boolean; min?: number; max?: number } = {}) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number.');
    if (opts.int && !Number.isInteger(n)) throw new InvalidArgumentError('must be an integer.');
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`must be >= ${opts.min}.`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`must be <= ${opts.max}.`);
    return n;
  };
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds from `90`, `1.5`, `90s`, `10m`, `2h`, `1h30m`, `1d`. */
export function parseDurationS(raw: string): number {
  const text = raw.trim();
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : sumUnits(text);
  if (seconds <= 0) throw new InvalidArgumentError('must be positive.');
  return seconds;
}

function sumUnits(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * (UNITS[m[2]!] ?? 1);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) throw new InvalidArgumentError('expected seconds or a duration like 90s, 10m, 2h.');
  return total;
}

export const statusList = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
