/**
 * The models of the lake as a person choosing one sees them: version, headline metrics, main
 * parameters, size, and what trained it on which data. (The storage table's own columns, one
 * row per file, are an implementation detail: the list does not show them.)
 */
import type { TableDetail, TableInfo } from '../../api/types.ts';
import { ErrorState, SkeletonRows } from '../../components/States.tsx';
import type { Resource } from '../../hooks/useResource.ts';
import { useNow } from '../../hooks/useNow.ts';
import { ago, bytes, dateTime } from '../../lib/format.ts';
import { Link } from '../../router.tsx';
import { headlineMetrics, paramSummary } from './model-summary.ts';
import { EmptyLake } from './TableList.tsx';

/** A model of the list with its details (metrics, params, lineage) when they could be read. */
export type ModelRow = TableInfo & { detail: TableDetail | null };

const SHOWN_METRICS = 3;
const SHOWN_PARAMS = 3;

function Trained({ m }: { m: ModelRow }) {
  const latest = m.detail?.lineage[0];
  const task = latest?.task_id ?? m.detail?.task_id;
  if (!task) return <span>uploaded, not trained by a task</span>;
  const taskLink = (
    <Link to={`/tasks/${encodeURIComponent(task)}`} className="mono">
      {task}
    </Link>
  );
  if (!latest || latest.inputs.length === 0) return <span>trained by task {taskLink}</span>;
  return (
    <span>
      trained on{' '}
      {latest.inputs.map((i, n) => (
        <span key={`${i.kind}-${i.name}`}>
          {n > 0 && ', '}
          <Link to={`/${i.kind}/${encodeURIComponent(i.name)}?version=${i.version}`} className="mono" data-testid="trained-on">
            {i.name}@v{i.version}
          </Link>
        </span>
      ))}{' '}
      by task {taskLink}
    </span>
  );
}

function Chips({ items, more, empty, to }: { items: { label: string; text: string }[]; more: number; empty: string; to: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <span className="kv-chips">
      {items.map((i) => (
        <span key={i.label} className="kv-chip">
          <span className="kv-chip-key">{i.label}</span> {i.text}
        </span>
      ))}
      {more > 0 && (
        <Link to={to} className="kv-chip kv-chip-more">
          +{more} more
        </Link>
      )}
    </span>
  );
}

export function ModelList({ resource }: { resource: Resource<ModelRow[]> }) {
  const now = useNow(30_000);
  if (resource.error !== undefined && !resource.data) return <ErrorState error={resource.error} onRetry={resource.reload} what="the models" />;
  if (!resource.data) return <SkeletonRows rows={3} columns={5} />;
  if (resource.data.length === 0) return <EmptyLake kind="models" />;
  return (
    <div className="table-wrap">
      <table className="table table-cards model-list">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Version</th>
            <th scope="col">Metrics</th>
            <th scope="col">Parameters</th>
            <th scope="col">Size</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {resource.data.map((m) => {
            const to = `/models/${encodeURIComponent(m.id)}`;
            const metrics = headlineMetrics(m.detail?.metrics);
            const params = paramSummary(m.detail?.params);
            const hiddenParams = Object.keys(m.detail?.params ?? {}).length - Math.min(SHOWN_PARAMS, params.length);
            return (
              <tr key={m.id}>
                <td className="cell-primary">
                  <Link to={to} className="cell-main">
                    {m.id}
                  </Link>
                  {Object.entries(m.tags).map(([tag, v]) => (
                    <span key={tag} className="tag" style={{ marginLeft: 'var(--s-2)' }}>
                      {tag}→v{v}
                    </span>
                  ))}
                  <div className="cell-note">{m.detail ? <Trained m={m} /> : 'details unavailable'}</div>
                </td>
                <td data-label="Version" className="num">
                  v{m.version}
                </td>
                <td data-label="Metrics" data-testid="metrics">
                  <Chips items={metrics.slice(0, SHOWN_METRICS)} more={metrics.length - SHOWN_METRICS} empty="none recorded" to={to} />
                </td>
                <td data-label="Parameters" data-testid="params">
                  <Chips items={params.slice(0, SHOWN_PARAMS)} more={hiddenParams} empty="none recorded" to={to} />
                </td>
                <td data-label="Size" className="num nowrap">
                  {bytes(m.size_bytes)}
                </td>
                <td data-label="Updated" className="nowrap" title={dateTime(m.updated_at)}>
                  {ago(m.updated_at, now)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
