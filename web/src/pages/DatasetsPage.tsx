/** Datasets of the lake. */
import { api } from '../api/client.ts';
import { Card, Page } from '../components/Page.tsx';
import { useResource } from '../hooks/useResource.ts';
import { EmptyLake, TableList } from './lake/TableList.tsx';

export function DatasetsPage() {
  const datasets = useResource((signal) => api.datasets(signal), 'datasets');
  return (
    <Page title="Datasets" subtitle="Versioned tables in the Lance lake: every write is a new version, and lineage says what made it.">
      <Card bodyless title={datasets.data ? `${datasets.data.length} ${datasets.data.length === 1 ? 'dataset' : 'datasets'}` : 'Datasets'}>
        <TableList kind="datasets" resource={datasets} empty={<EmptyLake kind="datasets" />} />
      </Card>
    </Page>
  );
}
