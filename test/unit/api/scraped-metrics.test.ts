import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { scrapedCounter, scrapedGauge, sharedRead } from '../../../src/api/scraped-metrics.ts';

describe('metrics read at scrape time', () => {
  it('the metrics of one scrape share one read of their source; the next scrape reads again', async () => {
    let reads = 0;
    const read = sharedRead(async () => ({ a: 1, b: ++reads }), { a: 0, b: 0 });
    const registry = new Registry();
    scrapedGauge(registry, 'g_a', 'a', ['k'], async (set) => set({ k: 'x' }, (await read()).a));
    scrapedGauge(registry, 'g_b', 'b', ['k'], async (set) => set({ k: 'x' }, (await read()).b));
    const first = await registry.metrics();
    expect(reads).toBe(1);
    expect(first).toContain('g_a{k="x"} 1');
    expect(first).toContain('g_b{k="x"} 1');
    expect(await registry.metrics()).toContain('g_b{k="x"} 2');
  });

  it('a failing source gives the fallback, and the scrape goes on', async () => {
    const read = sharedRead<number[]>(() => Promise.reject(new Error('store down')), []);
    const registry = new Registry();
    scrapedGauge(registry, 'g', 'g', ['i'], async (set) => (await read()).forEach((v, i) => set({ i: String(i) }, v)));
    scrapedCounter(registry, 'c_total', 'c', [], (inc) => inc({}, 3));
    const text = await registry.metrics();
    expect(text).not.toMatch(/^g\{/m);
    expect(text).toContain('c_total 3');
  });

  it('values are replaced at each scrape: a label gone from the source is gone from the metric', async () => {
    let rows: [string, number][] = [
      ['a', 1],
      ['b', 2],
    ];
    const registry = new Registry();
    scrapedGauge(registry, 'g', 'g', ['t'], (set) => rows.forEach(([t, v]) => set({ t }, v)));
    scrapedCounter(registry, 'c_total', 'c', ['t'], (inc) => rows.forEach(([t, v]) => inc({ t }, v)));
    expect(await registry.metrics()).toContain('g{t="b"} 2');
    rows = [['a', 5]];
    const text = await registry.metrics();
    expect(text).toContain('g{t="a"} 5');
    expect(text).toContain('c_total{t="a"} 5');
    expect(text).not.toContain('t="b"');
  });
});
