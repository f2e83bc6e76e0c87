/**
 * Metrics whose values are read when Prometheus scrapes (metrics.ts, serving-metrics.ts,
 * tenant-metrics.ts). A metric's old values go only once its new ones are here, so a
 * concurrent scrape never sees it empty; and the metrics that read the same source share one
 * read per scrape (prom-client starts every collect() at once).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

type Labels = Record<string, string>;
/** Gives each value of the metric, with its labels, to `put`. */
export type Fill = (put: (labels: Labels, value: number) => void) => void | Promise<void>;

const samplesOf = async (fill: Fill): Promise<[Labels, number][]> => {
  const out: [Labels, number][] = [];
  await fill((labels, value) => out.push([labels, value]));
  return out;
};

/** A collect() that reads the values, then replaces the metric's old ones through `put` (Gauge.set, Counter.inc). */
function collectFrom<M extends { reset(): void }>(fill: Fill, put: (metric: M, labels: Labels, value: number) => void) {
  return async function collect(this: M): Promise<void> {
    const samples = await samplesOf(fill);
    this.reset();
    for (const [labels, value] of samples) put(this, labels, value);
  };
}

export const scrapedGauge = (registry: Registry, name: string, help: string, labelNames: string[], fill: Fill): Gauge =>
  new Gauge({ name, help, labelNames, registers: [registry], collect: collectFrom<Gauge>(fill, (g, labels, value) => g.set(labels, value)) });

/** A counter whose totals the source keeps (set, as increments from zero, at each scrape). */
export const scrapedCounter = (registry: Registry, name: string, help: string, labelNames: string[], fill: Fill): Counter =>
  new Counter({ name, help, labelNames, registers: [registry], collect: collectFrom<Counter>(fill, (c, labels, value) => c.inc(labels, value)) });

/**
 * `read` shared by the callers of one scrape: while a read is in flight, they all get it. A
 * read that fails gives `fallback` (a failing engine or store must not break the scrape of
 * everything else).
 */
export function sharedRead<T>(read: () => T | Promise<T>, fallback: T): () => Promise<T> {
  let inflight: Promise<T> | null = null;
  return () => {
    if (inflight) return inflight;
    const p = Promise.resolve()
      .then(read)
      .catch(() => fallback);
    inflight = p;
    void p.finally(() => {
      if (inflight === p) inflight = null;
    });
    return p;
  };
}
