/** Models of the lake, with what each was trained on and how well it did. */
import { api } from '../api/client.ts';
import { Card, Page } from '../components/Page.tsx';
import { useResource } from '../hooks/useResource.ts';
import { ModelList, type ModelRow } from './lake/ModelList.tsx';

/** Details are fetched a few at a time, so a lake of many models does not flood the server. */
const PARALLEL_DETAILS = 6;

async function loadModels(signal: AbortSignal): Promise<ModelRow[]> {
  const models = await api.models(signal);
  const rows: ModelRow[] = models.map((m) => ({ ...m, detail: null }));
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++]!;
      try {
        row.detail = await api.model(row.id, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        // Deleted meanwhile, or unreadable: the row still shows what the list knows.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DETAILS, rows.length) }, worker));
  return rows;
}

export function ModelsPage() {
  const models = useResource(loadModels, 'models');
  return (
    <Page title="Models" subtitle="Trained models with their metrics, parameters and the data they were trained on.">
      <Card bodyless title={models.data ? `${models.data.length} ${models.data.length === 1 ? 'model' : 'models'}` : 'Models'}>
        <ModelList resource={models} />
      </Card>
    </Page>
  );
}
