/** Models of the lake. */
import { api } from '../api/client.ts';
import { Card, Page } from '../components/Page.tsx';
import { useResource } from '../hooks/useResource.ts';
import { EmptyLake, TableList } from './lake/TableList.tsx';

export function ModelsPage() {
  const models = useResource(async (signal) => (await api.models(signal)).models, 'models');
  return (
    <Page title="Models" subtitle="Trained models with their files, metrics, parameters and the data they were trained on.">
      <Card bodyless title={models.data ? `${models.data.length} ${models.data.length === 1 ? 'model' : 'models'}` : 'Models'}>
        <TableList kind="models" resource={models} empty={<EmptyLake kind="models" />} />
      </Card>
    </Page>
  );
}
