/** A deployment's live numbers: charts over the last two minutes, the batch sizes it ran, cold starts and refusals. */
import type { DeploymentStats } from '../../api/serving.ts';
import { Legend, LineChart } from '../../components/LineChart.tsx';
import { metric } from '../../lib/format.ts';
import { Bars } from './common.tsx';
import type { Sample } from './useLiveDeployment.ts';

function ChartCard({ title, last, children }: { title: string; last: string; children: React.ReactNode }) {
  return (
    <div className="chart-card">
      <h3>
        {title} <span className="last">{last}</span>
      </h3>
      {children}
    </div>
  );
}

const series = (history: Sample[], name: string, pick: (s: DeploymentStats) => number) => ({ name, points: history.map((h) => ({ x: Math.round(h.t * 10) / 10, y: pick(h.stats) })) });

export function LiveCharts({ history }: { history: Sample[] }) {
  const s = history[history.length - 1]?.stats;
  return (
    <div className="charts" data-testid="live-charts">
      <ChartCard title="Throughput" last={s ? `${metric(s.throughput_rps)} req/s` : ''}>
        <LineChart label="Throughput, requests per second" xLabel="second" series={[series(history, 'requests/s', (x) => x.throughput_rps)]} />
      </ChartCard>
      <ChartCard title="Latency (ms)" last={s ? `p95 ${metric(s.latency_ms.p95)}` : ''}>
        <LineChart
          label="Latency percentiles in milliseconds"
          xLabel="second"
          series={[series(history, 'p50', (x) => x.latency_ms.p50), series(history, 'p95', (x) => x.latency_ms.p95), series(history, 'p99', (x) => x.latency_ms.p99)]}
        />
        <Legend names={['p50', 'p95', 'p99']} />
      </ChartCard>
      <ChartCard title="Queue depth" last={s ? metric(s.queue_depth) : ''}>
        <LineChart label="Requests waiting in the queue" xLabel="second" series={[series(history, 'queued', (x) => x.queue_depth)]} />
      </ChartCard>
    </div>
  );
}

export function StatsDetails({ stats }: { stats: DeploymentStats }) {
  const histogram = Object.entries(stats.batch_size_histogram).sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b));
  const refused = Object.entries(stats.refused).filter(([, n]) => n > 0);
  return (
    <div className="grid-2">
      <div className="stack-sm">
        <h3 className="section-title">Batch sizes</h3>
        <Bars items={histogram} label="Batches by size" empty="No batch has run yet." />
        <p className="muted small">
          {metric(stats.batches_total)} batches, {metric(stats.rows_total)} rows, mean {metric(stats.mean_batch_size)} rows per batch.
        </p>
      </div>
      <div className="stack-sm">
        <h3 className="section-title">Cold starts and refusals</h3>
        <dl className="kv" data-testid="cold-starts">
          <dt>Cold starts</dt>
          <dd>{metric(stats.cold_starts.count)}</dd>
          <dt>Last / mean</dt>
          <dd>{stats.cold_starts.last_ms === null ? '–' : `${metric(stats.cold_starts.last_ms)} ms / ${metric(stats.cold_starts.mean_ms)} ms`}</dd>
          <dt>Requests</dt>
          <dd>{metric(stats.requests_total)}</dd>
        </dl>
        <Bars items={refused} label="Refused requests by reason" empty="No request refused." />
      </div>
    </div>
  );
}
