/**
 * One deployment: its replicas with their state and load, live charts polled from its stats
 * every second, the batch sizes it ran, cold starts and refusals, live reconfiguration, a
 * try-it panel, and delete (after a confirmation).
 */
import { useState } from 'react';
import { type Deployment, serving } from '../api/serving.ts';
import { Icon } from '../components/Icon.tsx';
import { Card, Page } from '../components/Page.tsx';
import { Callout, ErrorState, SkeletonBlock } from '../components/States.tsx';
import { useNow } from '../hooks/useNow.ts';
import { ago, metric } from '../lib/format.ts';
import { Link, navigate } from '../router.tsx';
import { DeploymentBadge, errorText, readyReplicas } from './deploy/common.tsx';
import { LiveCharts, StatsDetails } from './deploy/LiveStats.tsx';
import { Reconfigure } from './deploy/Reconfigure.tsx';
import { TryIt } from './deploy/TryIt.tsx';
import { useLiveDeployment } from './deploy/useLiveDeployment.ts';

const CRUMBS = [{ to: '/deployments', label: 'Deployments' }];

export function DeploymentPage({ name }: { name: string }) {
  const live = useLiveDeployment(name);
  const d = live.deployment;
  if (!d) {
    return (
      <Page title={name} crumbs={CRUMBS}>
        <div className="card">{live.error !== undefined ? <ErrorState error={live.error} what="the deployment" /> : <div className="card-body"><SkeletonBlock lines={4} /></div>}</div>
      </Page>
    );
  }
  return (
    <Page
      title={name}
      crumbs={CRUMBS}
      subtitle={
        <span className="row">
          <DeploymentBadge status={d.status} />
          <span className="mono">
            <Link to={`/models/${encodeURIComponent(d.model)}`}>
              {d.model}@{d.model_version}
            </Link>
          </span>
          <span className="muted">{d.backend} backend</span>
        </span>
      }
      actions={<DeleteButton name={name} />}
    >
      <div className="stack">
        {live.gone && <Callout tone="warning" title="This deployment is gone">It was deleted. <Link to="/deployments">Back to the deployments</Link>.</Callout>}
        {d.status === 'failed' && d.last_error && <Callout tone="danger" title="Replicas fail to start">{d.last_error}</Callout>}
        <Card title="Live" hint="Polled every second from the deployment's stats.">
          <div className="stack-sm">
            <LiveCharts history={live.history} />
            {live.stats && <StatsDetails stats={live.stats} />}
          </div>
        </Card>
        <div className="grid-2">
          <Card title={`Replicas ${readyReplicas(d)} ready`} bodyless>
            <Replicas deployment={d} live={live.stats?.replicas ?? []} />
          </Card>
          <Card title="Reconfigure" hint="Applied live; requests in flight are not dropped.">
            <Reconfigure deployment={d} onSaved={live.refresh} />
          </Card>
        </div>
        <Card title="Try it">
          {/* The example body fits the signature, known once a replica loaded the model. */}
          <TryIt key={d.signature ? 'signature' : 'none'} deployment={d} />
        </Card>
      </div>
    </Page>
  );
}

function Replicas({ deployment, live }: { deployment: Deployment; live: { id: string; batches: number; rows: number }[] }) {
  const now = useNow(5000);
  if (deployment.replica_status.length === 0) return <p className="card-body muted">No replica runs now{deployment.replicas.min === 0 ? ': the next request starts one (a cold start).' : '.'}</p>;
  return (
    <div className="table-wrap">
      <table className="table table-cards" data-testid="replicas">
        <thead>
          <tr>
            <th scope="col">Replica</th>
            <th scope="col">State</th>
            <th scope="col">Load</th>
            <th scope="col">Batches</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {deployment.replica_status.map((r) => {
            const s = live.find((x) => x.id === r.id);
            return (
              <tr key={r.id} data-replica-state={r.state}>
                <td className="cell-primary mono">{r.task_id ? <Link to={`/tasks/${encodeURIComponent(r.task_id)}`}>{r.id}</Link> : r.id}</td>
                <td data-label="State">
                  <span className="badge" data-tone={r.state === 'ready' ? 'success' : r.state === 'starting' ? 'info' : 'warning'}>
                    {r.state}
                  </span>
                </td>
                <td data-label="Load" className="num" title="rows in flight">
                  {metric(r.load)}
                </td>
                <td data-label="Batches" className="num">
                  {s ? `${metric(s.batches)} (${metric(s.rows)} rows)` : '–'}
                </td>
                <td data-label="Started" className="nowrap">
                  {ago(r.started_at, now)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function DeleteButton({ name }: { name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await serving.remove(name);
      navigate('/deployments');
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  if (!confirming)
    return (
      <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
        <Icon name="trash" /> Delete
      </button>
    );
  return (
    <div className="row" role="group" aria-label="Confirm delete">
      <span className="small">Drain and delete {name}?</span>
      <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void remove()}>
        {busy ? 'Deleting…' : 'Yes, delete'}
      </button>
      <button type="button" className="btn" onClick={() => setConfirming(false)}>
        Cancel
      </button>
      {error && <span className="field-error">{error}</span>}
    </div>
  );
}
