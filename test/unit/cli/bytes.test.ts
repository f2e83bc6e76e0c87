/**
 * Sizes read the same in the terminal and in the web UI: IEC units (1 KiB = 1024 B) computed
 * with 1024, so 220,232,507 bytes is "210 MiB" in both (the UI used to say "210 MB" for a
 * 1024-based number). The boundaries are where formatters go wrong: 1023/1024 B, a value that
 * rounds up to the next unit, and the switch from one decimal to none.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../../src/cli/format.ts';
import { bytes } from '../../../web/src/lib/format.ts';

const KiB = 1024;
const MiB = KiB ** 2;
const GiB = KiB ** 3;

const cases: [number, string][] = [
  [0, '0 B'],
  [1, '1 B'],
  [1023, '1023 B'],
  [1024, '1.0 KiB'],
  [1536, '1.5 KiB'],
  [Math.floor(9.949 * KiB), '9.9 KiB'],
  [Math.ceil(9.95 * KiB), '10 KiB'],
  [186 * KiB + 300, '186 KiB'],
  [MiB - 1, '1.0 MiB'],
  [MiB, '1.0 MiB'],
  [20 * MiB, '20 MiB'],
  [220_232_507, '210 MiB'],
  [GiB - 1, '1.0 GiB'],
  [5.25 * GiB, '5.3 GiB'],
  [2000 * KiB ** 5, '2000 PiB'],
];

describe('sizes (CLI formatBytes and web bytes)', () => {
  it.each(cases)('%d bytes → %s in both', (n, text) => {
    expect(formatBytes(n)).toBe(text);
    expect(bytes(n)).toBe(text);
  });

  it('agrees between the CLI and the UI for any size, and never shows 1024 of a unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const text = formatBytes(n);
        expect(bytes(n)).toBe(text);
        const [num, unit] = text.split(' ') as [string, string];
        const power = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'].indexOf(unit);
        expect(power).toBeGreaterThanOrEqual(0);
        expect(Number(num)).toBeLessThan(1024);
        // Rounded to what is shown (one decimal, or a whole number): within 5 % of the truth.
        expect(Math.abs(Number(num) * KiB ** power - n)).toBeLessThanOrEqual(Math.max(0.5, n * 0.05));
      }),
    );
  });

  it('marks what is not a size', () => {
    expect(bytes(null)).toBe('—');
    expect(bytes(Number.NaN)).toBe('—');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('-');
  });
});
