/**
 * One task: status and live progress, result or error, metrics charts, artifacts, live logs,
 * the service it runs (if any), its parameters and the event timeline. Everything after the
 * first load comes from the task's WebSocket feed (replayed from seq 0, then live).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api/client.ts';
import { isActive } from '../api/types.ts';
import { Icon } from '../components/Icon.tsx';
import { JsonView } from '../components/JsonView.tsx';
import { Card, Page } from '../components/Page.tsx';
import { StatusBadge } from '../components/Status.tsx';
import { ExecutorsDown } from '../components/ExecutorsDown.tsx';
import { Callout, EmptyState, ErrorState, SkeletonBlock } from '../components/States.tsx';
import { useNow } from '../hooks/useNow.ts';
import { useResource } from '../hooks/useResource.ts';
import { useExecutors } from '../hooks/useExecutors.ts';
import { useTaskEvents } from '../hooks/useTaskEvents.ts';
import { Link, navigate } from '../router.tsx';
import { ArtifactsCard } from './task/ArtifactsCard.tsx';
import { DetailsCard, MetricsCard, ProgressCard, ServiceCard } from './task/InfoCards.tsx';
import { LogsCard } from './task/LogsCard.tsx';
import { TimelineCard } from './task/TimelineCard.tsx';

export function TaskDetailPage({ id }: { id: string }) {
  const task = useResource((signal) => api.task(id, signal), id);
  const now = useNow(1000);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { reload } = task;
  const onState = useCallback(() => {
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = null;
      reload();
    }, 150);
  }, [reload]);
  useEffect(() => () => {
    if (reloadTimer.current) clearTimeout(reloadTimer.current);
  }, []);
  const feed = useTaskEvents(id, onState);
  const executors = useExecutors();

  const t = task.data;
  if (!t) {
    return (
      <Page title={task.error ? 'Task' : 'Loading task…'} crumbs={[{ to: '/tasks', label: 'Tasks' }]} docTitle="Task">
        <div className="card card-body">
          {task.error !== undefined ? (
            task.error instanceof ApiError && task.error.notFound ? (
              <EmptyState icon="search" title="No such task" action={<Link to="/tasks" className="btn">Back to tasks</Link>}>
                <p>
                  There is no task <code>{id}</code>. It may have been deleted.
                </p>
              </EmptyState>
            ) : (
              <ErrorState error={task.error} onRetry={task.reload} what="the task" />
            )
          ) : (
            <SkeletonBlock lines={5} />
          )}
        </div>
      </Page>
    );
  }

  // The live feed's latest progress wins over the loaded snapshot while the task runs.
  const live = feed.lastProgress && feed.lastProgress.seq > t.last_seq ? feed.lastProgress.data : null;
  const progress = live
    ? { fraction: Number(live.fraction), message: typeof live.message === 'string' ? live.message : null, step: live.step as number | undefined, total: live.total as number | undefined, eta_s: live.eta_s as number | null | undefined }
    : t.progress;

  const act = async (what: 'cancel' | 'delete') => {
    setActionError(null);
    if (what === 'delete' && !window.confirm(`Delete task ${t.name} and its events? This cannot be undone.`)) return;
    setBusy(true);
    try {
      if (what === 'cancel') {
        const updated = await api.cancelTask(t.id);
        task.set(() => updated);
      } else {
        await api.deleteTask(t.id);
        navigate('/tasks');
      }
    } catch (err) {
      setActionError(err instanceof Error ? err.message : String(err));
      task.reload();
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page
      title={t.name}
      docTitle={`${t.name} · Task`}
      crumbs={[{ to: '/tasks', label: 'Tasks' }]}
      subtitle={
        <span className="row">
          <StatusBadge status={t.status} />
          <span className="mono muted">{t.id}</span>
          <span className="muted">·</span>
          <span className="mono muted">{t.script}</span>
        </span>
      }
      actions={
        <>
          {t.labels.kind === 'video' && (
            <Link className="btn" to={`/?generation=${encodeURIComponent(t.id)}`}>
              <Icon name="film" /> Open in Generate
            </Link>
          )}
          {t.service && t.status === 'running' && (
            <a className="btn" href={`/api/v1/services/${encodeURIComponent(t.id)}/`} target="_blank" rel="noreferrer">
              <Icon name="external" /> Open service
            </a>
          )}
          {isActive(t.status) ? (
            <button type="button" className="btn btn-danger" onClick={() => void act('cancel')} disabled={busy || t.status === 'cancelling'}>
              <Icon name="stop" /> {t.status === 'cancelling' ? 'Cancelling…' : 'Cancel task'}
            </button>
          ) : (
            <button type="button" className="btn btn-danger" onClick={() => void act('delete')} disabled={busy}>
              <Icon name="trash" /> Delete
            </button>
          )}
        </>
      }
    >
      {actionError && <Callout tone="danger" title="That did not work">{actionError}</Callout>}

      {t.status === 'pending' && <ExecutorsDown executors={executors} only={t.executor} />}
      {isActive(t.status) && <ProgressCard task={t} progress={progress} now={now} />}

      {t.status === 'failed' && t.error && (
        <Callout tone="danger" title={`Failed: ${t.error.code}${t.error.step ? ` at step “${t.error.step}”` : ''}`}>
          <span style={{ whiteSpace: 'pre-wrap' }}>{t.error.message}</span>
        </Callout>
      )}
      {t.status === 'cancelled' && <Callout title="Cancelled">{t.cancel_reason ?? 'This task was cancelled.'}</Callout>}

      <div className="grid-main-side">
        <div className="stack">
          {t.status === 'completed' && (
            <Card title="Result" hint="What the script returned">
              <JsonView value={t.result} empty="The script returned nothing." />
            </Card>
          )}
          {(t.service || feed.service) && <ServiceCard task={t} service={feed.service} />}
          {feed.metrics.size > 0 && <MetricsCard metrics={feed.metrics} />}
          <ArtifactsCard taskId={t.id} fromEvents={feed.artifacts} finished={!isActive(t.status)} />
          <LogsCard taskId={t.id} logs={feed.logs} dropped={feed.droppedLogs} active={isActive(t.status)} />
        </div>
        <div className="stack">
          <DetailsCard task={t} now={now} executor={executors.find((e) => e.name === t.executor)} />
          <Card title="Parameters">
            <JsonView value={t.params} empty="No parameters." />
          </Card>
          <TimelineCard events={feed.timeline} counts={feed.counts} />
        </div>
      </div>
    </Page>
  );
}
