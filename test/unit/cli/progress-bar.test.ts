import { describe, expect, it } from 'vitest';
import { EtaEstimator, renderBar } from '../../../src/cli/progress-bar.ts';

describe('renderBar', () => {
  it('renders bar, percent, elapsed, ETA and message', () => {
    expect(renderBar({ fraction: 0.42, elapsedMs: 2100, etaS: 2.9, message: 'loading', width: 80, cells: 10 })).toBe(
      '[####------]  42% 2.1s ETA 3s loading',
    );
  });

  it('never shows a full bar or 100% before the work is done', () => {
    expect(renderBar({ fraction: 0.999, elapsedMs: 0, etaS: 0.1, width: 80, cells: 10 })).toBe('[#########-]  99% 0.0s ETA 1s');
    expect(renderBar({ fraction: 1, elapsedMs: 65_000, etaS: 0, width: 80, cells: 10 })).toBe('[##########] 100% 1m05s');
  });

  it('clamps odd fractions and omits an unknown ETA', () => {
    expect(renderBar({ fraction: -1, elapsedMs: 0, etaS: null, width: 80, cells: 4 })).toBe('[----]   0% 0.0s');
    expect(renderBar({ fraction: 7, elapsedMs: 0, etaS: null, width: 80, cells: 4 })).toBe('[####] 100% 0.0s');
    expect(renderBar({ fraction: Number.NaN, elapsedMs: 0, etaS: null, width: 80, cells: 4 })).toBe('[----]   0% 0.0s');
  });

  it('fits the terminal (no wrap), flattening and truncating the message', () => {
    const line = renderBar({ fraction: 0.5, elapsedMs: 1000, etaS: 1, message: 'a\nvery long message '.repeat(10), width: 40 });
    expect(line.length).toBe(39);
    expect(line).not.toContain('\n');
    expect(line.endsWith('…')).toBe(true);
  });

  it('scales the bar with the width', () => {
    expect(renderBar({ fraction: 0, elapsedMs: 0, etaS: null, width: 200 })).toMatch(/^\[-{30}\]/);
    expect(renderBar({ fraction: 0, elapsedMs: 0, etaS: null, width: 20 })).toMatch(/^\[-{10}\]/);
  });
});

describe('EtaEstimator', () => {
  it('is unknown before any rate exists', () => {
    const eta = new EtaEstimator();
    expect(eta.etaS(0)).toBeNull();
    eta.add(1000, 0.1);
    expect(eta.etaS(1000)).toBeNull();
  });

  it('uses the rate since start and counts down between updates', () => {
    const eta = new EtaEstimator();
    eta.start(0);
    eta.add(10_000, 0.25); // 2.5%/s → 30 s left
    expect(eta.etaS(10_000)).toBeCloseTo(30);
    expect(eta.etaS(15_000)).toBeCloseTo(25);
    expect(eta.etaS(60_000)).toBe(0);
  });

  it('follows the recent rate, not a slow start', () => {
    const eta = new EtaEstimator(10_000);
    eta.start(0);
    eta.add(60_000, 0.1); // a minute loading the model
    for (let t = 61_000; t <= 80_000; t += 1000) eta.add(t, 0.1 + ((t - 60_000) / 1000) * 0.02); // then 2%/s
    // 0.5 done at 80 s; recent rate 2%/s → 25 s (the average since start would say 80 s)
    expect(eta.etaS(80_000)).toBeCloseTo(25);
  });

  it("prefers the script's own eta_s, counted down", () => {
    const eta = new EtaEstimator();
    eta.start(0);
    eta.add(1000, 0.5, 100);
    expect(eta.etaS(3000)).toBeCloseTo(98);
    eta.add(4000, 0.6); // no hint on this update: back to the rate
    expect(eta.etaS(4000)).toBeCloseTo((0.4 / 0.6) * 4);
  });

  it('resets when progress goes backwards (a retry restarted)', () => {
    const eta = new EtaEstimator();
    eta.start(0);
    eta.add(10_000, 0.9);
    eta.add(11_000, 0.1);
    expect(eta.etaS(11_000)).toBeNull();
    eta.add(12_000, 0.2);
    expect(eta.etaS(12_000)).toBeCloseTo(8);
    eta.add(13_000, 1);
    expect(eta.etaS(20_000)).toBe(0);
  });
});
