/**
 * Deployments: every lake model the platform serves, with its replicas, throughput and p95
 * (from each deployment's stats), and a form that deploys another model.
 */
import { useEffect } from 'react';
import { type Deployment, type DeploymentStats, serving } from '../api/serving.ts';
import { Card, Page } from '../components/Page.tsx';
import { EmptyState, ErrorState, SkeletonRows } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { metric } from '../lib/format.ts';
import { Link } from '../router.tsx';
import { CreateDeployment } from './deploy/CreateDeployment.tsx';
import { DeploymentBadge, readyReplicas } from './deploy/common.tsx';

type Row = Deployment & { stats: DeploymentStats | null };

async function loadRows(signal: AbortSignal): Promise<Row[]> {
  const { items } = await serving.deployments(signal);
  return Promise.all(items.map(async (d) => ({ ...d, stats: await serving.stats(d.name, signal).catch(() => null) })));
}

const POLL_MS = 2000;

export function DeploymentsPage() {
  const rows = useResource(loadRows, 'deployments');
  const { reload } = rows;
  useEffect(() => {
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, [reload]);

  return (
    <Page title="Deployments" subtitle="Lake models served with dynamic batching, replicas and live reconfiguration.">
      <div className="stack">
        <Card bodyless title={rows.data ? `${rows.data.length} ${rows.data.length === 1 ? 'deployment' : 'deployments'}` : 'Deployments'}>
          {rows.error !== undefined && !rows.data ? (
            <ErrorState error={rows.error} onRetry={reload} what="the deployments" />
          ) : !rows.data ? (
            <SkeletonRows rows={2} columns={6} />
          ) : rows.data.length === 0 ? (
            <EmptyState icon="plug" title="Nothing is deployed yet">
              <p>Deploy a model of the lake with the form below; it gets an HTTP predict endpoint and, for stateful models, streaming sessions.</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-cards" data-testid="deployments">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Model</th>
                    <th scope="col">Backend</th>
                    <th scope="col">Status</th>
                    <th scope="col">Replicas ready</th>
                    <th scope="col">Throughput</th>
                    <th scope="col">p95</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.data.map((d) => (
                    <tr key={d.name} data-deployment={d.name}>
                      <td className="cell-primary">
                        <Link to={`/deployments/${encodeURIComponent(d.name)}`} className="cell-main">
                          {d.name}
                        </Link>
                      </td>
                      <td data-label="Model" className="mono">
                        <Link to={`/models/${encodeURIComponent(d.model)}`}>
                          {d.model}@{d.model_version}
                        </Link>
                      </td>
                      <td data-label="Backend">{d.backend}</td>
                      <td data-label="Status">
                        <DeploymentBadge status={d.status} />
                      </td>
                      <td data-label="Replicas ready" className="num" data-testid="replicas-ready">
                        {readyReplicas(d)}
                      </td>
                      <td data-label="Throughput" className="num nowrap">
                        {d.stats ? `${metric(d.stats.throughput_rps)} req/s` : '–'}
                      </td>
                      <td data-label="p95" className="num nowrap">
                        {d.stats ? `${metric(d.stats.latency_ms.p95)} ms` : '–'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <CreateDeployment onCreated={reload} />
      </div>
    </Page>
  );
}
