/** The datasets of the lake as a table: name, rows, columns, size, version, updated (models: ModelList.tsx). */
import type { ReactNode } from 'react';
import type { TableInfo } from '../../api/types.ts';
import { EmptyState, ErrorState, SkeletonRows } from '../../components/States.tsx';
import type { Resource } from '../../hooks/useResource.ts';
import { useNow } from '../../hooks/useNow.ts';
import { ago, bytes, count, dateTime } from '../../lib/format.ts';
import { Link } from '../../router.tsx';

export function TableList({ kind, resource, empty }: { kind: 'datasets'; resource: Resource<TableInfo[]>; empty: ReactNode }) {
  const now = useNow(30_000);
  if (resource.error !== undefined && !resource.data) return <ErrorState error={resource.error} onRetry={resource.reload} what={`the ${kind}`} />;
  if (!resource.data) return <SkeletonRows rows={4} columns={5} />;
  if (resource.data.length === 0) return <>{empty}</>;
  return (
    <div className="table-wrap">
      <table className="table table-cards">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Rows</th>
            <th scope="col">Columns</th>
            <th scope="col">Size</th>
            <th scope="col">Version</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {resource.data.map((t) => (
            <tr key={t.id}>
              <td className="cell-primary">
                <Link to={`/${kind}/${encodeURIComponent(t.id)}`} className="cell-main">
                  {t.id}
                </Link>
                {Object.keys(t.tags).length > 0 && (
                  <span className="row" style={{ display: 'inline-flex', marginLeft: 'var(--s-2)', gap: 'var(--s-1)' }}>
                    {Object.entries(t.tags).map(([tag, v]) => (
                      <span key={tag} className="tag">
                        {tag}→v{v}
                      </span>
                    ))}
                  </span>
                )}
                <div className="cell-sub truncate">{t.columns.map((c) => c.name).join(', ')}</div>
              </td>
              <td data-label="Rows" className="num">
                {count(t.num_rows)}
              </td>
              <td data-label="Columns" className="num">
                {t.columns.length}
              </td>
              <td data-label="Size" className="num nowrap">
                {bytes(t.size_bytes)}
              </td>
              <td data-label="Version" className="num">
                v{t.version}
              </td>
              <td data-label="Updated" className="nowrap" title={dateTime(t.updated_at)}>
                {ago(t.updated_at, now)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function EmptyLake({ kind }: { kind: 'datasets' | 'models' }) {
  return (
    <EmptyState icon={kind === 'datasets' ? 'database' : 'cube'} title={kind === 'datasets' ? 'No datasets yet' : 'No models yet'}>
      <p>
        {kind === 'datasets'
          ? 'Tasks write datasets with ctx.write_dataset(), or upload Arrow with PUT /api/v1/datasets/{name}/arrow. The MNIST demo ingests one for you:'
          : 'Training tasks store models with ctx.write_model(). Train and serve the MNIST model in one command:'}
      </p>
      <code className="cmd">npx lakeray demo mnist</code>
    </EmptyState>
  );
}
