/**
 * One model: headline metrics, the training history as charts (metrics.history: one object
 * per epoch), files to download, parameters, and lineage back to the task that trained it
 * and the dataset version it read.
 */
import { ApiError, api } from '../api/client.ts';
import { Icon } from '../components/Icon.tsx';
import { Legend, LineChart, type Series } from '../components/LineChart.tsx';
import { Card, Page } from '../components/Page.tsx';
import { EmptyState, ErrorState, SkeletonBlock } from '../components/States.tsx';
import { useResource } from '../hooks/useResource.ts';
import { bytes, dateTime, metricText } from '../lib/format.ts';
import { Link, useLocation } from '../router.tsx';
import { LineageList } from './lake/Lineage.tsx';
import { headlineMetrics } from './lake/model-summary.ts';
import { ParamsList } from './lake/ParamsList.tsx';

/** Per-epoch history → one series per numeric field, grouped by kind (loss vs the rest). */
function historySeries(history: unknown): { x: string; groups: { title: string; series: Series[] }[] } | null {
  if (!Array.isArray(history) || history.length === 0) return null;
  const rows = history.filter((h): h is Record<string, unknown> => !!h && typeof h === 'object');
  const xKey = ['epoch', 'step', 'iteration'].find((k) => rows.every((r) => typeof r[k] === 'number')) ?? null;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== xKey && rows.some((r) => typeof r[k] === 'number'));
  if (keys.length === 0) return null;
  const series = (k: string): Series => ({ name: k, points: rows.map((r, i) => ({ x: xKey ? (r[xKey] as number) : i + 1, y: Number(r[k]) })).filter((p) => Number.isFinite(p.y)) });
  const loss = keys.filter((k) => /loss/i.test(k));
  const other = keys.filter((k) => !/loss/i.test(k));
  const groups = [
    ...(loss.length ? [{ title: 'Loss', series: loss.map(series) }] : []),
    ...other.map((k) => ({ title: k.replace(/_/g, ' '), series: [series(k)] })),
  ];
  return { x: xKey ?? 'epoch', groups };
}

export function ModelPage({ id }: { id: string }) {
  const { search } = useLocation();
  const model = useResource((signal) => api.model(id, signal), id);
  const m = model.data;
  if (!m) {
    return (
      <Page title={id} crumbs={[{ to: '/models', label: 'Models' }]} docTitle={`${id} · Model`}>
        <div className="card card-body">
          {model.error !== undefined ? (
            model.error instanceof ApiError && model.error.notFound ? (
              <EmptyState icon="search" title="No such model" action={<Link to="/models" className="btn">All models</Link>}>
                <p>
                  The lake has no model <code>{id}</code>.
                </p>
              </EmptyState>
            ) : (
              <ErrorState error={model.error} onRetry={model.reload} what="the model" />
            )
          ) : (
            <SkeletonBlock lines={4} />
          )}
        </div>
      </Page>
    );
  }
  const metrics = m.metrics ?? {};
  const scalars = headlineMetrics(metrics, 2);
  const history = historySeries(metrics.history);
  const params = m.params ?? {};
  const trainedOn = m.lineage[0]?.inputs ?? [];
  const askedVersion = search.get('version');

  return (
    <Page
      title={m.id}
      docTitle={`${m.id} · Model`}
      crumbs={[{ to: '/models', label: 'Models' }]}
      subtitle={
        <span>
          Version {m.version} · {bytes(m.size_bytes)} · updated {dateTime(m.updated_at)}
          {m.task_id && (
            <>
              {' · trained by '}
              <Link to={`/tasks/${encodeURIComponent(m.task_id)}`} className="mono">
                {m.task_id}
              </Link>
            </>
          )}
          {trainedOn.length > 0 && (
            <>
              {' on '}
              {trainedOn.map((i, n) => (
                <span key={i.name}>
                  {n > 0 && ', '}
                  <Link to={`/${i.kind}/${encodeURIComponent(i.name)}?version=${i.version}`} className="mono">
                    {i.name}@v{i.version}
                  </Link>
                </span>
              ))}
            </>
          )}
        </span>
      }
    >
      {askedVersion && askedVersion !== String(m.version) && (
        <p className="muted small">
          Showing the latest version (v{m.version}); files of v{askedVersion} download with <code>?version={askedVersion}</code>.
        </p>
      )}
      {scalars.length > 0 && (
        <dl className="stats">
          {scalars.map((s) => (
            <div key={s.name} className="stat">
              <dt>{s.label}</dt>
              <dd>{s.text}</dd>
            </div>
          ))}
        </dl>
      )}
      {history && (
        <Card title="Training history" hint={`Per ${history.x}, from metrics.history`}>
          <div className="charts">
            {history.groups.map((g) => (
              <div key={g.title} className="chart-card">
                <h3>
                  <span style={{ textTransform: 'capitalize' }}>{g.title}</span>
                  {g.series.length === 1 && <span className="last">{metricText(g.series[0]!.name, g.series[0]!.points.at(-1)?.y)}</span>}
                </h3>
                <LineChart series={g.series} label={`${g.title} by ${history.x}`} xLabel={history.x} />
                {g.series.length > 1 && <Legend names={g.series.map((s) => s.name)} />}
              </div>
            ))}
          </div>
        </Card>
      )}
      <div className="grid-2">
        <Card title="Files" bodyless>
          {m.files && m.files.length > 0 ? (
            <div className="table-wrap">
              <table className="table table-compact table-cards">
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col">Type</th>
                    <th scope="col">Size</th>
                    <th scope="col">
                      <span className="visually-hidden">Download</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {m.files.map((f) => (
                    <tr key={f.file}>
                      <td className="mono cell-primary">{f.file}</td>
                      <td data-label="Type" className="small muted">
                        {f.content_type ?? '—'}
                      </td>
                      <td data-label="Size" className="num nowrap">
                        {bytes(f.size)}
                      </td>
                      <td className="actions">
                        <a className="btn btn-sm" href={api.modelFileUrl(m.id, f.file)} download={f.file} aria-label={`Download ${f.file}`}>
                          <Icon name="download" /> Download
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <div className="card-body muted small">No files.</div>
          )}
        </Card>
        <Card title="Parameters">
          <ParamsList params={params} />
        </Card>
      </div>
      <Card title="Lineage" hint="The task that wrote each version, and the data it read">
        <LineageList records={m.lineage} />
      </Card>
    </Page>
  );
}
