import { Link } from '@tanstack/react-router';
import { Cell } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { CursorList } from '../layout/cursor-list';
import { formatDateTime } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { DatasetBuildProgress, DatasetStateBadge, datasetIsBuilding } from './dataset-state';

/** The buyer's datasets, newest first, with live progress for builds under way. */
export function DatasetsPage() {
  return (
    <>
      <PageHeader title="Datasets">
        <Link to="/datasets/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New dataset
        </Link>
      </PageHeader>
      <CursorList
        noun="datasets"
        listKey={queryKeys.datasetList}
        fetchPage={buyerApi.datasets}
        rowsOf={(reply) => reply.datasets}
        pollEvery={(datasets) => (datasets.some(datasetIsBuilding) ? 2000 : false)}
        empty="No datasets yet: build one from a campaign or a project."
        caption="Datasets, newest first"
        columns={['Name', 'State', 'Rows', 'Formats', 'Created']}
        row={(dataset) => (
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
        )}
      />
    </>
  );
}
