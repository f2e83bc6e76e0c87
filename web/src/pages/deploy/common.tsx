/** Pieces the deployment pages share: the status badge, the replica count, a bar list. */
import type { Deployment, DeploymentStatus } from '../../api/serving.ts';
import { metric } from '../../lib/format.ts';

const TONES: Record<DeploymentStatus, string> = { starting: 'info', ready: 'success', scaled_to_zero: 'neutral', failed: 'danger', deleting: 'warning' };

export function DeploymentBadge({ status }: { status: DeploymentStatus }) {
  return (
    <span className="badge" data-tone={TONES[status] ?? 'neutral'} data-pulse={status === 'starting' || status === 'deleting'} data-status={status}>
      {status.replace(/_/g, ' ')}
    </span>
  );
}

export const readyReplicas = (d: Deployment): string => `${d.replica_status.filter((r) => r.state === 'ready').length}/${d.replica_status.length}`;

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Labeled horizontal bars (a histogram, counts by reason), scaled to the largest value. */
export function Bars({ items, label, empty }: { items: [string, number][]; label: string; empty: string }) {
  if (items.length === 0) return <p className="muted small">{empty}</p>;
  const top = Math.max(...items.map(([, v]) => v), 1);
  return (
    <ol className="prob-bars count-bars" aria-label={label}>
      {items.map(([name, v]) => (
        <li key={name}>
          <span className="name truncate" title={name}>
            {name}
          </span>
          <span className="track">
            <span className="fill" style={{ width: `${((v / top) * 100).toFixed(1)}%`, display: 'block' }} />
          </span>
          <span className="pct">{metric(v)}</span>
        </li>
      ))}
    </ol>
  );
}
