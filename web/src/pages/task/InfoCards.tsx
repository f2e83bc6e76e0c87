/** The task page's summary cards: progress while active, details, its service, metrics charts. */
import type { ExecutorInfo, Task } from '../../api/types.ts';
import { Icon } from '../../components/Icon.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { Card } from '../../components/Page.tsx';
import { ProgressBar } from '../../components/Status.tsx';
import { useLakeNames } from '../../hooks/useLakeNames.ts';
import { between, bytes, dateTime, duration, metricText, plural } from '../../lib/format.ts';
import { Link } from '../../router.tsx';
import { PlacementRows } from './PlacementRows.tsx';

export function ProgressCard({ task: t, progress, now }: { task: Task; progress: Task['progress']; now: number }) {
  const f = progress?.fraction ?? null;
  let eta = progress?.eta_s ?? null;
  if (eta === null && f && f > 0.03 && t.started_at) eta = ((between(t.started_at, null, now) ?? 0) * (1 - f)) / f;
  return (
    <Card title={t.status === 'pending' ? 'Waiting in the queue' : t.status === 'cancelling' ? 'Stopping…' : 'Running'}>
      <div className="visually-hidden" role="status">
        {t.status === 'pending' ? 'Queued' : f === null ? 'Running' : `Running, ${Math.floor(f * 4) * 25}% done`}
      </div>
      <div className="stack-sm">
        {t.status === 'pending' ? (
          <p>
            {t.queue_position === null
              ? 'Queued.'
              : t.queue_position === 0
                ? 'Next in line: it starts as soon as a slot is free.'
                : `${plural(t.queue_position, 'task')} ahead of this one.`}
          </p>
        ) : (
          <>
            <ProgressBar fraction={f} large name="Task progress" />
            <div className="row small muted">
              <span>
                {progress?.message ?? (progress?.step !== undefined && progress.total !== undefined ? `Step ${progress.step} of ${progress.total}` : 'Working…')}
              </span>
              {eta !== null && <span>· about {duration(eta)} left</span>}
            </div>
          </>
        )}
      </div>
    </Card>
  );
}

export function DetailsCard({ task: t, now, executor }: { task: Task; now: number; executor: ExecutorInfo | undefined }) {
  const lake = useLakeNames();
  const lakeLink = (name: string | null) => {
    if (!name) return <span className="muted">—</span>;
    if (lake.datasets.has(name)) return <Link to={`/datasets/${encodeURIComponent(name)}`}>{name}</Link>;
    if (lake.models.has(name)) return <Link to={`/models/${encodeURIComponent(name)}`}>{name}</Link>;
    return <span className="mono">{name}</span>;
  };
  const r = t.resources;
  return (
    <Card title="Details">
      <dl className="kv">
        <dt>Input</dt>
        <dd>{lakeLink(t.input)}</dd>
        <dt>Output</dt>
        <dd>{lakeLink(t.output)}</dd>
        <PlacementRows task={t} executor={executor} />
        <dt>Resources</dt>
        <dd>
          {[`${r.cpu} CPU`, r.memory_mb > 0 ? `${bytes(r.memory_mb * 1024 * 1024)} memory` : null, r.gpu > 0 ? `${r.gpu} GPU` : null, ...Object.entries(r.custom).map(([k, v]) => `${v} ${k}`)]
            .filter(Boolean)
            .join(' · ')}
        </dd>
        {t.gpus.length > 0 && (
          <>
            <dt>GPUs</dt>
            <dd className="mono">{t.gpus.join(', ')}</dd>
          </>
        )}
        <dt>Attempt</dt>
        <dd>
          {t.attempt}
          {' · priority '}
          {t.priority}
          {t.timeout_s ? ` · timeout ${duration(t.timeout_s)}` : ''}
        </dd>
        <dt>Created</dt>
        <dd>{dateTime(t.created_at)}</dd>
        <dt>Started</dt>
        <dd>{dateTime(t.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{dateTime(t.finished_at)}</dd>
        <dt>Duration</dt>
        <dd>{t.started_at ? duration(between(t.started_at, t.finished_at, now)) : '—'}</dd>
        {Object.keys(t.labels).length > 0 && (
          <>
            <dt>Labels</dt>
            <dd className="row" style={{ gap: 'var(--s-1)' }}>
              {Object.entries(t.labels).map(([k, v]) => (
                <span key={k} className="tag">
                  {k}={v}
                </span>
              ))}
            </dd>
          </>
        )}
      </dl>
    </Card>
  );
}

export function ServiceCard({ task: t, service }: { task: Task; service: { state: string; port?: number; restarts?: number } | null }) {
  const state = t.status === 'running' ? (service?.state ?? 'starting') : 'stopped';
  const tone = state === 'ready' ? 'success' : state === 'stopped' ? 'neutral' : 'warning';
  const url = `/api/v1/services/${encodeURIComponent(t.id)}/`;
  return (
    <Card title="Service" hint="A long-running HTTP server, reachable through the platform's proxy">
      <div className="row">
        <span className="badge" data-tone={tone} data-pulse={state === 'starting' || state === 'restarting'}>
          {state}
        </span>
        {service?.port !== undefined && <span className="muted small">port {service.port}</span>}
        {service?.restarts !== undefined && <span className="muted small">· {plural(service.restarts, 'restart')}</span>}
        <span className="spacer" />
        {t.status === 'running' && (
          <a className="btn btn-sm" href={url} target="_blank" rel="noreferrer">
            <Icon name="external" /> {url}
          </a>
        )}
        {t.status === 'running' && t.script.includes('mnist_serve') && (
          <Link className="btn btn-sm btn-primary" to="/draw">
            <Icon name="pen" /> Draw
          </Link>
        )}
      </div>
    </Card>
  );
}

export function MetricsCard({ metrics }: { metrics: Map<string, { x: number; y: number }[]> }) {
  return (
    <Card title="Metrics" hint="Reported by the script with ctx.metric(name, value, step)">
      <div className="charts">
        {[...metrics.entries()].map(([name, points]) => (
          <div key={name} className="chart-card">
            <h3>
              <span>{name}</span>
              <span className="last">{metricText(name, points[points.length - 1]?.y)}</span>
            </h3>
            <LineChart series={[{ name, points }]} label={`${name} by step`} />
          </div>
        ))}
      </div>
    </Card>
  );
}

/** Artifacts from the artifacts endpoint when the server has it, else from artifact events. */
