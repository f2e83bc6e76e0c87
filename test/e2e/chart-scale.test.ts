/**
 * The metric charts' axes (web/src/lib/chart-scale.ts): a one-epoch run and a hundred-epoch
 * run both get round ticks; an accuracy never gets an axis past 1 (a single 0.9 used to get
 * 0.5…1.5), a loss never a negative one; epochs are labelled with whole numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFractionMetric, niceStep, stepDecimals, tickLabel, xAxis, yAxis } from '../../web/src/lib/chart-scale.ts';

const isRound = (step: number): boolean => {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
  return [1, 2, 2.5, 5].some((r) => Math.abs(m - r) < 1e-9);
};
const stepsOf = (ticks: number[]): number[] => ticks.slice(1).map((t, i) => Number((t - ticks[i]!).toPrecision(10)));

describe('niceStep', () => {
  it.each([
    [1, 4, 0.25],
    [0.16, 4, 0.05],
    [85, 5, 20],
    [99, 5, 20],
    [2.25, 4, 1],
    [0.0003, 4, 0.0001],
  ])('span %d in %d parts → %d', (span, count, step) => expect(niceStep(span, count)).toBe(step));

  it('labels every multiple of its step exactly', () => {
    expect([0.25, 0.2, 0.05, 5, 2.5, 0.001].map(stepDecimals)).toEqual([2, 1, 2, 0, 1, 3]);
  });
});

describe('y axis', () => {
  it('gives a single accuracy room within [0, 1], not 0.5 … 1.5', () => {
    const a = yAxis([0.9], { fraction: true });
    expect(a).toMatchObject({ min: 0.7, max: 1, ticks: [0.7, 0.8, 0.9, 1] });
    expect(a.ticks.map((t) => tickLabel(t, a.decimals))).toEqual(['0.7', '0.8', '0.9', '1.0']);
    expect(yAxis([0.2742], { fraction: true }).ticks).toEqual([0.1, 0.2, 0.3, 0.4]);
  });

  it('labels every tick of an axis with the same decimals', () => {
    const a = yAxis([0.9, 1], { fraction: true });
    expect(a.ticks.map((t) => tickLabel(t, a.decimals))).toEqual(['0.90', '0.92', '0.94', '0.96', '0.98', '1.00']);
  });

  it('keeps a perfect accuracy at the top of a [.., 1] axis', () => {
    const a = yAxis([1], { fraction: true });
    expect(a.max).toBe(1);
    expect(a.min).toBeLessThan(1);
    expect(a.ticks.at(-1)).toBe(1);
  });

  it('never goes below 0 for a metric that cannot be negative', () => {
    expect(yAxis([0]).min).toBe(0);
    expect(yAxis([0.156]).min).toBeGreaterThanOrEqual(0);
    expect(yAxis([0.05, 2.3]).ticks).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });

  it('fits a hundred epochs of accuracy from 0.19 to 0.98 in [0, 1] with five round ticks', () => {
    const values = Array.from({ length: 100 }, (_, i) => 0.19 + (0.79 * i) / 99);
    const a = yAxis(values, { fraction: true });
    expect(a).toMatchObject({ min: 0, max: 1 });
    expect(a.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('does not bound a metric by [0, 1] unless it is accuracy-like with values in [0, 1]', () => {
    expect(yAxis([0.9, 1], { fraction: false }).max).toBeGreaterThanOrEqual(1);
    expect(yAxis([45, 97], { fraction: true }).max).toBe(100); // an accuracy in percent
    expect(yAxis([-3, 2]).min).toBe(-3);
  });

  it('puts a tick on 0 itself, not a rounding error away from it', () => {
    // fast-check's counterexample (seed -819550688): the last tick was -1.6e-27 where the axis ends at 0.
    const a = yAxis([-1.0000000000000001e-11, 0], { fraction: false });
    expect(a.ticks.at(-1)).toBe(0);
    expect(a.max).toBe(0);
  });

  it('always covers the data with round, evenly spaced ticks, within the bounds', () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 60 }), fc.boolean(), (values, fraction) => {
        const a = yAxis(values, { fraction });
        const lo = Math.min(...values);
        const hi = Math.max(...values);
        expect(a.min).toBeLessThanOrEqual(lo);
        expect(a.max).toBeGreaterThanOrEqual(hi);
        expect(a.max).toBeGreaterThan(a.min);
        expect(a.ticks[0]).toBe(a.min);
        expect(a.ticks.at(-1)).toBe(a.max);
        expect(a.ticks.length).toBeGreaterThanOrEqual(2);
        expect(a.ticks.length).toBeLessThanOrEqual(7);
        if (lo >= 0) expect(a.min).toBeGreaterThanOrEqual(0);
        if (fraction && lo >= 0 && hi <= 1) expect(a.max).toBeLessThanOrEqual(1);
        for (const s of stepsOf(a.ticks)) expect(isRound(s), `${a.ticks}`).toBe(true);
      }),
    );
  });
});

describe('x axis', () => {
  it('puts one epoch in the middle with its own label', () => {
    expect(xAxis([1])).toEqual({ min: 0, max: 2, ticks: [1], decimals: 0 });
  });

  it('labels two epochs 1 and 2, never 1.5', () => {
    expect(xAxis([1, 2]).ticks).toEqual([1, 2]);
  });

  it('labels a hundred epochs with whole round numbers and the first epoch', () => {
    const a = xAxis(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(a).toMatchObject({ min: 1, max: 100, decimals: 0 });
    expect(a.ticks).toEqual([1, 20, 40, 60, 80, 100]);
  });

  it('keeps ticks inside the data and whole for whole x', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 2, maxLength: 50 }), (xs) => {
        const a = xAxis(xs);
        for (const t of a.ticks) {
          expect(Number.isInteger(t)).toBe(true);
          expect(t).toBeGreaterThanOrEqual(a.min);
          expect(t).toBeLessThanOrEqual(a.max);
        }
        expect(a.ticks.length).toBeLessThanOrEqual(7);
      }),
    );
  });
});

describe('which metrics are fractions', () => {
  it.each([
    ['accuracy', true],
    ['test_accuracy', true],
    ['val_acc', true],
    ['top1', true],
    ['f1', true],
    ['loss', false],
    ['train_loss', false],
    ['learning_rate', false],
    ['accurate_count', false],
  ])('%s → %s', (name, yes) => expect(isFractionMetric(name)).toBe(yes));
});
