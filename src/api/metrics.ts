/**
 * Prometheus metrics on a private prom-client Registry (not the global one, so several apps
 * in one process — tests — never collide). Queue depth and running tasks are read from the
 * engine when Prometheus scrapes (async collect(), one stats() call per scrape); durations,
 * dispatch latency and the event count are pushed by the engine through `observer` on its
 * hot paths, so those methods only do a cached label lookup and an add.
 *
 * KEDA scales workers from `lakeray_queue_depth` (DESIGN.md §5); events/s is
 * rate(lakeray_events_total[1m]).
 */
import type { FastifyPluginAsync } from 'fastify';
import { scrapedCounter, scrapedGauge, sharedRead } from './scraped-metrics.ts';
import { registerServingMetrics, type ServingSource } from './serving-metrics.ts';
import { registerTenantMetrics, type TenantUsageSource } from './tenant-metrics.ts';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { EngineObserver } from '../engine/observer.ts';
import type { EngineStats } from '../engine/task-service.ts';

const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21_600, 86_400];
const DISPATCH_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export class MetricsRegistry {
  readonly registry = new Registry();
  /** What the engine calls (engine/observer.ts). */
  readonly observer: EngineObserver;

  private statsSource: (() => Promise<EngineStats>) | null = null;
  private progressStreamSource: (() => Record<string, number>) | null = null;
  private servingSource: ServingSource | null = null;
  private tenantSource: TenantUsageSource | null = null;
  private readonly taskDuration: Histogram<'executor' | 'status'>;
  private readonly dispatchLatency: Histogram<'executor'>;
  private readonly eventsTotal: Counter;
  // prom-client hashes label values on every labels() call; the label sets are few, so cache.
  private readonly durationChildren = new Map<string, Histogram.Internal<'executor' | 'status'>>();
  private readonly dispatchChildren = new Map<string, Histogram.Internal<'executor'>>();

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    // Both gauges collect in the same scrape (prom-client starts every collect() at once):
    // they share one in-flight stats() call instead of asking the engine twice.
    const stats = sharedRead<EngineStats | null>(() => this.statsSource?.() ?? null, null);
    const perExecutor = (name: string, help: string, value: (e: EngineStats['executors'][number]) => number) =>
      scrapedGauge(this.registry, name, help, ['executor'], async (set) => {
        for (const e of (await stats())?.executors ?? []) set({ executor: e.name }, value(e));
      });
    perExecutor('lakeray_queue_depth', 'Tasks waiting in the queue, per executor', (e) => e.queued);
    perExecutor('lakeray_running_tasks', 'Tasks running (or cancelling), per executor', (e) => e.running);
    this.taskDuration = new Histogram({
      name: 'lakeray_task_duration_seconds',
      help: 'Run time of finished tasks, from start to finish',
      labelNames: ['executor', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.dispatchLatency = new Histogram({
      name: 'lakeray_dispatch_latency_seconds',
      help: 'Time a task waited from becoming runnable to being dispatched',
      labelNames: ['executor'],
      buckets: DISPATCH_BUCKETS,
      registers,
    });
    const progressStreams = () => this.progressStreamSource?.() ?? {};
    scrapedCounter(
      this.registry,
      'lakeray_progress_stream_entries_total',
      "Entries of the seed's Redis progress streams, by what became of them (stored, duplicate, unknown_task, finished_task, invalid, claimed, …)",
      ['outcome'],
      (inc) => {
        for (const [outcome, n] of Object.entries(progressStreams())) inc({ outcome }, n);
      },
    );
    registerServingMetrics(this.registry, () => this.servingSource);
    registerTenantMetrics(this.registry, () => this.tenantSource);
    this.eventsTotal = new Counter({ name: 'lakeray_events_total', help: 'Task events stored and published', registers });

    this.observer = {
      dispatched: (executor, seconds) => this.observeDispatch(executor, seconds),
      finished: (executor, status, seconds) => this.observeTaskFinished(executor, status, seconds),
      events: (n) => this.countEvents(n),
    };
  }

  /** Where the gauges read queue depth and running counts at scrape time. */
  setStatsSource(source: () => Promise<EngineStats>): void {
    this.statsSource = source;
  }

  /** Where the serving metrics read the deployments' stats at scrape time. */
  setServingSource(source: ServingSource): void {
    this.servingSource = source;
  }

  /** Where the per-tenant gauges read queued, running and GPU-seconds at scrape time. */
  setTenantSource(source: TenantUsageSource): void {
    this.tenantSource = source;
  }

  /** Where the progress-stream counter reads its counts at scrape time (summed over the streams). */
  setProgressStreamSource(source: () => Record<string, number>): void {
    this.progressStreamSource = source;
  }

  observeTaskFinished(executor: string, status: string, seconds: number): void {
    const key = `${executor}\u0000${status}`;
    let child = this.durationChildren.get(key);
    if (!child) this.durationChildren.set(key, (child = this.taskDuration.labels({ executor, status })));
    child.observe(seconds);
  }

  observeDispatch(executor: string, seconds: number): void {
    let child = this.dispatchChildren.get(executor);
    if (!child) this.dispatchChildren.set(executor, (child = this.dispatchLatency.labels({ executor })));
    child.observe(seconds);
  }

  countEvents(n: number): void {
    this.eventsTotal.inc(n);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** GET /metrics in the Prometheus text format (hidden from OpenAPI: it is not JSON). */
export const metricsRoutes: FastifyPluginAsync<{ metrics: MetricsRegistry }> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.text();
  });
};
