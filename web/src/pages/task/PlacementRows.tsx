/**
 * The Details card's rows about where the task runs: its executor (down or not), and on Ray
 * its job or actor with a link to the Ray dashboard (docs/api.md, the task's `placement`).
 */
import type { ExecutorInfo, Task } from '../../api/types.ts';
import { Icon } from '../../components/Icon.tsx';

export function PlacementRows({ task: t, executor }: { task: Task; executor: ExecutorInfo | undefined }) {
  const p = t.placement;
  const ray = p?.kind === 'ray-job' || p?.kind === 'ray-actor';
  return (
    <>
      <dt>Executor</dt>
      <dd data-testid="task-executor">
        <span className="mono">{t.executor}</span>
        {executor && executor.kind !== 'local' && (
          <span className="muted">
            {` · kind ${executor.kind}`}
            {executor.mode ? `, mode ${executor.mode}` : ''}
          </span>
        )}
        {t.pool ? ` · pool ${t.pool}` : ''}
        {executor?.node && (
          <span className="muted" data-testid="task-executor-node">
            {` · owner ${executor.node.owner}, lease ${executor.node.lease}`}
            {executor.load ? `, ${executor.load.running} running, ${executor.load.queued} queued` : ''}
          </span>
        )}
        {executor && !executor.health.ok && (
          <>
            {' '}
            <span className="badge" data-tone="warning" title={executor.health.message ?? undefined}>
              down
            </span>
          </>
        )}
      </dd>
      {p?.kind === 'ray-job' && (
        <>
          <dt>Ray job</dt>
          <dd className="mono" data-testid="ray-job">
            {p.submission_id}
          </dd>
        </>
      )}
      {p?.kind === 'ray-actor' && (
        <>
          <dt>Ray actor</dt>
          <dd data-testid="ray-actor">
            pool <span className="mono">{p.pool}</span>
            {p.actor_id && (
              <>
                {' · actor '}
                <span className="mono">{p.actor_id}</span>
              </>
            )}
            {p.driver && (
              <>
                {' · driver '}
                <span className="mono">{p.driver}</span>
              </>
            )}
          </dd>
        </>
      )}
      {ray && p.dashboard_url && (
        <>
          <dt>Ray</dt>
          <dd>
            <a className="btn btn-sm" href={p.dashboard_url} target="_blank" rel="noreferrer" data-testid="ray-dashboard-link">
              <Icon name="external" /> Ray dashboard
            </a>
          </dd>
        </>
      )}
    </>
  );
}
