/**
 * Serving evaluation reports (`lakeray eval serve`, docs/eval.md): the list, newest first, and
 * one report's phases (throughput, latency percentiles, batch sizes, errors), its two charts
 * and its Markdown report.
 */
import { type EvalReport, type EvalSummary, serving } from '../api/serving.ts';
import { Card, Page } from '../components/Page.tsx';
import { EmptyState, ErrorState, SkeletonBlock, SkeletonRows } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { dateTime, metric } from '../lib/format.ts';
import { Link } from '../router.tsx';

export function EvalReportsPage({ id }: { id?: string }) {
  const reports = useResource((signal) => serving.reports(signal), 'eval-reports');
  const items = reports.data?.items;
  const current = id ?? items?.[0]?.id;
  return (
    <Page title="Eval reports" crumbs={id ? [{ to: '/eval', label: 'Eval reports' }] : undefined} subtitle="Load tests of deployments: simulated users and batch-setting sweeps, written by lakeray eval serve.">
      <div className="stack">
        <Card bodyless title="Reports">
          {reports.error !== undefined && !items ? (
            <ErrorState error={reports.error} onRetry={reports.reload} what="the reports" />
          ) : !items ? (
            <SkeletonRows rows={2} columns={5} />
          ) : items.length === 0 ? (
            <EmptyState icon="book" title="No evaluation report yet">
              <p>Run a load test against a deployment; its report shows up here.</p>
              <code className="cmd">npx lakeray eval serve mnist --users 16 --duration 60 --batch-test</code>
            </EmptyState>
          ) : (
            <ReportList items={items} current={current} />
          )}
        </Card>
        {current && items?.some((r) => r.id === current) && <Report key={current} report={items.find((r) => r.id === current)!} />}
      </div>
    </Page>
  );
}

function ReportList({ items, current }: { items: EvalReport[]; current: string | undefined }) {
  return (
    <div className="table-wrap">
      <table className="table table-cards" data-testid="eval-reports">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Deployment</th>
            <th scope="col">Mode</th>
            <th scope="col">Users</th>
            <th scope="col">Phases</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id} aria-current={r.id === current ? 'true' : undefined}>
              <td className="cell-primary">
                <Link to={`/eval/${encodeURIComponent(r.id)}`} className="cell-main">
                  {dateTime(r.started_at)}
                </Link>
                {r.interrupted && (
                  <span className="badge" data-tone="warning" style={{ marginLeft: 'var(--s-2)' }}>
                    interrupted
                  </span>
                )}
              </td>
              <td data-label="Deployment" className="mono">
                {r.deployment}
                {r.model ? <span className="muted"> ({r.model})</span> : null}
              </td>
              <td data-label="Mode">{r.mode}</td>
              <td data-label="Users" className="num">
                {r.users}
              </td>
              <td data-label="Phases" className="num">
                {r.phases}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Report({ report }: { report: EvalReport }) {
  const summary = useResource((signal) => serving.reportSummary(report.id, signal), `summary-${report.id}`);
  const readme = useResource((signal) => (report.files.includes('README.md') ? serving.reportReadme(report.id, signal) : Promise.resolve('')), `readme-${report.id}`);
  const charts = (['user_test_charts.png', 'batch_test_heatmaps.png'] as const).filter((f) => report.files.includes(f));
  return (
    <>
      <Card title={`Report ${dateTime(report.started_at)}`} hint={`${report.deployment} · ${report.mode} mode · ${report.users} users`}>
        {summary.error !== undefined ? <ErrorState error={summary.error} what="the summary" /> : !summary.data ? <SkeletonBlock lines={3} /> : <Phases summary={summary.data} />}
      </Card>
      {charts.length > 0 && (
        <Card title="Charts">
          <div className="stack-sm">
            {charts.map((f) => (
              <figure key={f} className="report-chart">
                <img src={serving.reportFileUrl(report.id, f)} alt={f === 'user_test_charts.png' ? 'Latency percentiles and throughput over time' : 'Throughput and p95 latency per batch configuration'} data-testid={f} />
                <figcaption className="muted small">{f}</figcaption>
              </figure>
            ))}
          </div>
        </Card>
      )}
      {readme.data ? (
        <Card title="README.md">
          <pre className="code-block report-readme" tabIndex={0}>
            {readme.data}
          </pre>
        </Card>
      ) : null}
    </>
  );
}

function Phases({ summary }: { summary: EvalSummary }) {
  return (
    <div className="table-wrap">
      <table className="table table-cards" data-testid="eval-phases">
        <thead>
          <tr>
            <th scope="col">Phase</th>
            <th scope="col">Requests</th>
            <th scope="col">Throughput</th>
            <th scope="col">p50 / p95 / p99</th>
            <th scope="col">Mean batch</th>
            <th scope="col">Errors</th>
          </tr>
        </thead>
        <tbody>
          {summary.phases.map((p) => {
            const errors = Object.entries(p.errors ?? {});
            return (
              <tr key={p.name}>
                <td className="cell-primary">
                  <span className="cell-main">{p.name}</span>
                  <div className="cell-note">
                    {p.users} users · {metric(p.duration_s)} s
                  </div>
                </td>
                <td data-label="Requests" className="num">
                  {metric(p.ok)}/{metric(p.requests)}
                </td>
                <td data-label="Throughput" className="num nowrap">
                  {metric(p.throughput_rps)} req/s
                </td>
                <td data-label="p50 / p95 / p99" className="num nowrap">
                  {metric(p.latency_ms.p50)} / {metric(p.latency_ms.p95)} / {metric(p.latency_ms.p99)} ms
                </td>
                <td data-label="Mean batch" className="num">
                  {p.mean_batch_size === null ? '–' : metric(p.mean_batch_size)}
                </td>
                <td data-label="Errors">{errors.length === 0 ? 'none' : errors.map(([code, n]) => `${code} ${n}`).join(', ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
