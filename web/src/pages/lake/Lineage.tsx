/** Lineage records of a table, newest first: the task that wrote each version and what it read. */
import type { LineageRecord } from '../../api/types.ts';
import { dateTime } from '../../lib/format.ts';
import { Link } from '../../router.tsx';

const tableLink = (kind: 'datasets' | 'models', name: string, version: number) => (
  <Link to={`/${kind}/${encodeURIComponent(name)}?version=${version}`} className="mono">
    {name}@v{version}
  </Link>
);

export function LineageList({ records }: { records: LineageRecord[] }) {
  if (records.length === 0) {
    return <p className="muted small">No lineage recorded: this table was written from outside a task (an upload), or before lineage was kept.</p>;
  }
  return (
    <ol className="timeline" style={{ padding: 0, maxHeight: 'none' }}>
      {records.map((r) => (
        <li key={`${r.kind}-${r.version}-${r.task_id}`}>
          <span className="dot" data-tone="accent" aria-hidden="true" />
          <div className="stack-sm" style={{ gap: 'var(--s-1)' }}>
            <div className="what">
              v{r.version} written by task <Link to={`/tasks/${encodeURIComponent(r.task_id)}`} className="mono">{r.task_id}</Link>
            </div>
            <div className="detail">
              <span className="mono">{r.script}</span>
              {r.inputs.length > 0 ? (
                <>
                  {' '}
                  from{' '}
                  {r.inputs.map((i, n) => (
                    <span key={`${i.kind}-${i.name}-${i.version}`}>
                      {n > 0 && ', '}
                      {tableLink(i.kind, i.name, i.version)}
                    </span>
                  ))}
                </>
              ) : (
                ' (read no lake tables)'
              )}
            </div>
            <div className="when">{dateTime(r.created_at)}</div>
          </div>
        </li>
      ))}
    </ol>
  );
}
