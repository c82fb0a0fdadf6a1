import type { Dataset } from '@protocol/datasets';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { Cell, Table } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApi } from '../auth/api-key-context';
import { useCursorPages } from '../layout/cursor-pages';
import { formatDateTime } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { DatasetBuildProgress, DatasetStateBadge, datasetIsBuilding } from './dataset-state';

/** The buyer's datasets, newest first, with live progress for builds under way. */
export function DatasetsPage() {
  const api = useApi();
  const pages = useCursorPages();
  const list = useQuery({
    queryKey: queryKeys.datasetList(pages.cursor),
    queryFn: () => buyerApi.datasets(api, pages.cursor),
    refetchInterval: (query) => (query.state.data?.datasets.some(datasetIsBuilding) ? 2000 : false),
  });
  return (
    <>
      <PageHeader title="Datasets">
        <Link to="/datasets/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New dataset
        </Link>
      </PageHeader>
      <QueryError error={list.error} />
      {list.isPending && <p>Loading datasets…</p>}
      {list.data && list.data.datasets.length === 0 && !pages.hasNewer && (
        <p className="text-stone-600">No datasets yet: build one from a campaign or a project.</p>
      )}
      {list.data && list.data.datasets.length > 0 && (
        <Table caption="Datasets, newest first" columns={['Name', 'State', 'Rows', 'Formats', 'Created']}>
          {list.data.datasets.map((dataset: Dataset) => (
            <tr key={dataset.id}>
              <Cell>
                <Link to="/datasets/$datasetId" params={{ datasetId: dataset.id }} className="underline">
                  {dataset.name}
                </Link>
              </Cell>
              <Cell>
                <DatasetStateBadge state={dataset.state} />
              </Cell>
              <Cell className="w-64">
                {datasetIsBuilding(dataset) ? (
                  <DatasetBuildProgress dataset={dataset} label={`Build of ${dataset.name}`} />
                ) : (
                  (dataset.stats?.rows.toLocaleString('en-US') ?? '—')
                )}
              </Cell>
              <Cell>{dataset.formats.join(', ')}</Cell>
              <Cell>{formatDateTime(dataset.createdAt)}</Cell>
            </tr>
          ))}
        </Table>
      )}
      <div className="mt-4 flex gap-2">
        <Button variant="secondary" disabled={!pages.hasNewer} onClick={pages.newer}>
          Newer
        </Button>
        <Button
          variant="secondary"
          disabled={!list.data?.next}
          onClick={() => list.data?.next && pages.older(list.data.next)}
        >
          Older
        </Button>
      </div>
    </>
  );
}
