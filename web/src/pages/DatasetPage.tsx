/**
 * One dataset: its schema, versions, a paged view of its rows (pictures drawn for image-like
 * columns) and its lineage. The version, page and page size live in the URL.
 */
import { ApiError, api } from '../api/client.ts';
import { withToken } from '../api/auth.ts';
import type { Column } from '../api/types.ts';
import { Icon } from '../components/Icon.tsx';
import { Card, Page } from '../components/Page.tsx';
import { EmptyState, ErrorState, SkeletonBlock, SkeletonRows } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { bytes, count, dateTime } from '../lib/format.ts';
import { Link, setQuery, useLocation } from '../router.tsx';
import { Cell, imageKind } from './lake/Cells.tsx';
import { LineageList } from './lake/Lineage.tsx';

const PAGE_SIZES = [10, 25, 50, 100];

export function DatasetPage({ id }: { id: string }) {
  const { search } = useLocation();
  const version = search.get('version') ?? '';
  const size = PAGE_SIZES.includes(Number(search.get('size'))) ? Number(search.get('size')) : 25;
  const page = Math.max(0, Number(search.get('page') ?? 0) || 0);

  const detail = useResource((signal) => api.dataset(id, signal), id);
  const versions = useResource((signal) => api.versions('datasets', id, signal), id);

  const d = detail.data;
  if (!d) {
    return (
      <Page title={id} crumbs={[{ to: '/datasets', label: 'Datasets' }]} docTitle={`${id} · Dataset`}>
        <div className="card card-body">
          {detail.error !== undefined ? (
            detail.error instanceof ApiError && detail.error.notFound ? (
              <EmptyState icon="search" title="No such dataset" action={<Link to="/datasets" className="btn">All datasets</Link>}>
                <p>
                  The lake has no dataset <code>{id}</code>.
                </p>
              </EmptyState>
            ) : (
              <ErrorState error={detail.error} onRetry={detail.reload} what="the dataset" />
            )
          ) : (
            <SkeletonBlock lines={4} />
          )}
        </div>
      </Page>
    );
  }

  return (
    <Page
      title={d.id}
      docTitle={`${d.id} · Dataset`}
      crumbs={[{ to: '/datasets', label: 'Datasets' }]}
      subtitle={`${count(d.num_rows)} rows · ${d.columns.length} columns · ${bytes(d.size_bytes)} · version ${d.version} · updated ${dateTime(d.updated_at)}`}
      actions={
        <a className="btn" href={withToken(`/api/v1/datasets/${encodeURIComponent(d.id)}/arrow${version ? `?version=${encodeURIComponent(version)}` : ''}`)} download={`${d.id}.arrow`}>
          <Icon name="download" /> Arrow
        </a>
      }
    >
      <RowsCard id={d.id} version={version} page={page} size={size} latest={d.version} columns={d.columns} />
      <div className="grid-2">
        <Card title="Schema" bodyless>
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Type</th>
                  <th scope="col">Nullable</th>
                </tr>
              </thead>
              <tbody>
                {d.columns.map((c) => (
                  <tr key={c.name}>
                    <td className="mono">{c.name}</td>
                    <td className="mono">
                      {c.type}
                      {imageKind(c) && <span className="tag" style={{ marginLeft: 'var(--s-2)' }}>image</span>}
                    </td>
                    <td>{c.nullable ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
        <Card title="Versions" bodyless>
          {versions.data ? (
            <div className="table-wrap">
              <table className="table table-compact table-cards">
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Written</th>
                    <th scope="col">Rows</th>
                    <th scope="col">
                      <span className="visually-hidden">Browse</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {[...versions.data.versions].reverse().map((v) => {
                    const current = version ? version === String(v.version) || v.tags.includes(version) : v.version === d.version;
                    return (
                      <tr key={v.version} aria-current={current ? 'true' : undefined}>
                        <td className="cell-primary">
                          <span className="num" style={{ fontWeight: current ? 700 : 500 }}>
                            v{v.version}
                          </span>
                          {v.tags.map((t) => (
                            <span key={t} className="tag" style={{ marginLeft: 'var(--s-1)' }}>
                              {t}
                            </span>
                          ))}
                        </td>
                        <td data-label="Written" className="nowrap small">
                          {dateTime(v.timestamp)}
                        </td>
                        <td data-label="Rows" className="num">
                          {count(v.num_rows)}
                        </td>
                        <td className="actions">
                          {current ? (
                            <span className="muted small">Showing</span>
                          ) : (
                            <button type="button" className="btn btn-sm" onClick={() => setQuery({ version: v.version === d.version ? null : v.version, page: null })}>
                              Browse
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : versions.error !== undefined ? (
            <ErrorState error={versions.error} onRetry={versions.reload} what="the versions" />
          ) : (
            <SkeletonRows rows={2} columns={3} />
          )}
        </Card>
      </div>
      <Card title="Lineage" hint="Which task wrote each version, from which inputs">
        <LineageList records={d.lineage} />
      </Card>
    </Page>
  );
}

function RowsCard({ id, version, page, size, latest, columns }: { id: string; version: string; page: number; size: number; latest: number; columns: Column[] }) {
  // Picture columns come whole (expanded), so they can be drawn; others stay summarized.
  const expand = columns.filter((c) => imageKind(c)).map((c) => c.name).join(',');
  const rows = useResource(
    (signal) => api.rows('datasets', id, { offset: page * size, limit: size, version: version || undefined, expand: expand || undefined }, signal),
    `${id}|${version}|${page}|${size}|${expand}`,
  );
  const r = rows.data;
  const pages = r ? Math.max(1, Math.ceil(r.total / size)) : 1;
  return (
    <Card
      title="Rows"
      hint={r ? `Version ${r.version}${r.version !== latest ? ' (not the latest)' : ''}` : undefined}
      actions={
        <div className="row">
          {version && (
            <button type="button" className="btn btn-sm btn-ghost" onClick={() => setQuery({ version: null, page: null })}>
              Back to latest
            </button>
          )}
          <label htmlFor="page-size" className="small muted">
            Rows per page
          </label>
          <select id="page-size" className="select select-sm" style={{ width: 'auto' }} value={size} onChange={(e) => setQuery({ size: e.target.value, page: null })}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      }
      bodyless
    >
      {rows.error !== undefined && !r ? (
        <ErrorState error={rows.error} onRetry={rows.reload} what="the rows" />
      ) : !r ? (
        <SkeletonRows rows={Math.min(size, 6)} columns={4} />
      ) : r.rows.length === 0 ? (
        <EmptyState icon="database" title={r.total === 0 ? 'This version has no rows' : 'No rows on this page'} />
      ) : (
        <div className="table-wrap" aria-busy={rows.loading}>
          <table className="table table-compact rows-table" data-testid="rows-table">
            <thead>
              <tr>
                <th scope="col">#</th>
                {r.columns.map((c) => (
                  <th key={c.name} scope="col">
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.rows.map((row, i) => (
                <tr key={r.offset + i}>
                  <td className="muted num nowrap">{r.offset + i + 1}</td>
                  {r.columns.map((c) => (
                    <td key={c.name}>
                      <Cell value={row[c.name]} column={c} row={r.offset + i + 1} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {r && (
        <nav className="pager" aria-label="Rows pages">
          <span className="num">
            {r.total === 0 ? 'No rows' : `Rows ${count(r.offset + 1)}–${count(r.offset + r.rows.length)} of ${count(r.total)}`}
          </span>
          <div className="row">
            <button type="button" className="btn btn-sm" disabled={page === 0} onClick={() => setQuery({ page: page - 1 || null })} aria-label="Previous page">
              <Icon name="chevronLeft" /> Prev
            </button>
            <span className="num small">
              Page {page + 1} of {count(pages)}
            </span>
            <button type="button" className="btn btn-sm" disabled={page + 1 >= pages} onClick={() => setQuery({ page: page + 1 })} aria-label="Next page">
              Next <Icon name="chevronRight" />
            </button>
          </div>
        </nav>
      )}
    </Card>
  );
}
