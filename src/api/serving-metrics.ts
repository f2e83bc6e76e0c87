/**
 * Serving metrics for /metrics, read from the deployments' stats at scrape time (the same
 * numbers as GET /api/v1/deployments/{name}/stats): queue, rows in flight, requests and
 * batches, batch sizes, latency quantiles, throughput, replicas by state, cold starts and
 * refusals by reason. Labelled by deployment.
 */
import type { Registry } from 'prom-client';
import type { DeploymentStats } from '../serving/gateway.ts';
import { type Fill, scrapedCounter, scrapedGauge } from './scraped-metrics.ts';

export type ServingSource = () => { name: string; status: string; stats: DeploymentStats }[];

export function registerServingMetrics(registry: Registry, source: () => ServingSource | null): void {
  const read = () => source()?.() ?? [];
  const gauge = (name: string, help: string, labelNames: string[], fill: Fill) => scrapedGauge(registry, name, help, labelNames, fill);
  const counter = (name: string, help: string, labelNames: string[], fill: Fill) => scrapedCounter(registry, name, help, labelNames, fill);

  gauge('lakeray_serving_queue_rows', 'Rows waiting in a deployment’s queue', ['deployment'], (set) => {
    for (const d of read()) set({ deployment: d.name }, d.stats.queue_rows);
  });
  gauge('lakeray_serving_in_flight_rows', 'Rows sent to replicas and not answered yet', ['deployment'], (set) => {
    for (const d of read()) set({ deployment: d.name }, d.stats.in_flight_rows);
  });
  gauge('lakeray_serving_latency_ms', 'Request latency over the last minute (answered requests)', ['deployment', 'quantile'], (set) => {
    for (const d of read()) for (const [q, v] of Object.entries(d.stats.latency_ms)) set({ deployment: d.name, quantile: `0.${q.slice(1)}` }, v);
  });
  gauge('lakeray_serving_throughput_rps', 'Requests answered per second over the last 10 s', ['deployment'], (set) => {
    for (const d of read()) set({ deployment: d.name }, d.stats.throughput_rps);
  });
  gauge('lakeray_serving_replicas', 'Replicas by state', ['deployment', 'state'], (set) => {
    for (const d of read()) {
      const by: Record<string, number> = { starting: 0, ready: 0, draining: 0 };
      for (const r of d.stats.replicas) by[r.state] = (by[r.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(by)) set({ deployment: d.name, state }, n);
    }
  });
  counter('lakeray_serving_requests_total', 'Requests answered', ['deployment'], (inc) => {
    for (const d of read()) inc({ deployment: d.name }, d.stats.requests_total);
  });
  counter('lakeray_serving_batches_total', 'Batches sent to replicas, by size bucket (upper bound, powers of two)', ['deployment', 'size'], (inc) => {
    for (const d of read()) for (const [size, n] of Object.entries(d.stats.batch_size_histogram)) inc({ deployment: d.name, size }, n);
  });
  counter('lakeray_serving_refused_total', 'Requests refused or failed, by code', ['deployment', 'code'], (inc) => {
    for (const d of read()) for (const [code, n] of Object.entries(d.stats.refused)) inc({ deployment: d.name, code }, n);
  });
  counter('lakeray_serving_cold_starts_total', 'Requests held while a deployment at zero replicas started one', ['deployment'], (inc) => {
    for (const d of read()) inc({ deployment: d.name }, d.stats.cold_starts.count);
  });
}
