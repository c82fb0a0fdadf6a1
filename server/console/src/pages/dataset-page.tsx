import type { Dataset } from '@protocol/datasets';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { CopyButton } from '@ui/copy-button';
import { Cell, Table } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApplyUpdate } from '../api/use-apply-update';
import { useApi } from '../auth/api-key-context';
import { Fact, Facts } from '../layout/facts';
import { formatBytes, formatDateTime } from '../layout/format';
import { PageHeader, Section } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { absoluteUrl, datasetSnippets } from './dataset-snippets';
import { DatasetBuildProgress, DatasetStateBadge, datasetIsBuilding } from './dataset-state';

/** How long the links on the page stay valid; they are fetched again before they run out. */
const linkLifetimeSeconds = 3600;

/** One dataset: a live progress bar while it builds; then its files, stats and ready-to-paste readers. */
export function DatasetPage({ datasetId }: { datasetId: string }) {
  const api = useApi();
  const applyUpdate = useApplyUpdate(queryKeys.dataset(datasetId), queryKeys.datasets);
  const dataset = useQuery({
    queryKey: queryKeys.dataset(datasetId),
    queryFn: () => buyerApi.dataset(api, datasetId),
    refetchInterval: (query) => (query.state.data && datasetIsBuilding(query.state.data) ? 1000 : false),
  });
  const cancel = useMutation({
    mutationFn: () => buyerApi.cancelDataset(api, datasetId),
    onSuccess: (updated) => {
      void applyUpdate(updated);
    },
  });
  if (dataset.isPending) return <p>Loading the dataset…</p>;
  if (dataset.isError) return <QueryError error={dataset.error} />;
  const { data } = dataset;
  return (
    <>
      <PageHeader title={data.name}>
        <DatasetStateBadge state={data.state} />
      </PageHeader>
      <div className="space-y-6">
        <Section title="Build">
          <DatasetBuildProgress dataset={data} label="Build progress" />
          {data.state === 'failed' && (
            <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
              The build failed: {data.error ?? 'no reason given'}
            </p>
          )}
          <Facts>
            <Fact term="Source">
              {data.source.kind === 'campaign' ? (
                <Link to="/campaigns/$campaignId" params={{ campaignId: data.source.campaignId }} className="underline">
                  the campaign
                </Link>
              ) : (
                <Link to="/projects/$projectId" params={{ projectId: data.source.projectId }} className="underline">
                  the project
                </Link>
              )}
            </Fact>
            <Fact term="Formats">{data.formats.join(', ')}</Fact>
            <Fact term="Created">{formatDateTime(data.createdAt)}</Fact>
            {data.snapshotAt && <Fact term="Snapshot">{formatDateTime(data.snapshotAt)}</Fact>}
            {data.merkleRoot && (
              <Fact term="Merkle root" className="break-all font-mono text-xs" testId="merkle-root">
                {data.merkleRoot}
              </Fact>
            )}
          </Facts>
          {datasetIsBuilding(data) && (
            <Button variant="secondary" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
              Cancel the build
            </Button>
          )}
          <QueryError error={cancel.error} />
        </Section>
        {data.stats && <Stats dataset={data} />}
        {data.state === 'ready' && <Files dataset={data} />}
      </div>
    </>
  );
}

function Stats({ dataset }: { dataset: Dataset }) {
  const stats = dataset.stats;
  if (!stats) return null;
  const rows: [string, number][] = [
    ['Rows in the source', stats.sourceRows],
    ['Left out: not verified', stats.notVerified],
    ['Left out: exact duplicates', stats.exactDuplicates],
    ['Left out: near duplicates', stats.nearDuplicates],
    ['Left out: too short', stats.tooShort],
    ['Left out: other language', stats.otherLanguage],
    ['E-mail addresses redacted', stats.emailsRedacted],
    ['Phone numbers redacted', stats.phonesRedacted],
    ['Rows in the dataset', stats.rows],
  ];
  return (
    <Section title="Cleaning">
      <Facts>
        {rows.map(([label, value]) => (
          <Fact key={label} term={label}>
            {value.toLocaleString('en-US')}
          </Fact>
        ))}
      </Facts>
    </Section>
  );
}

function Files({ dataset }: { dataset: Dataset }) {
  const api = useApi();
  const urls = useQuery({
    queryKey: queryKeys.datasetUrls(dataset.id),
    queryFn: () => buyerApi.datasetUrls(api, dataset.id, linkLifetimeSeconds),
    // Fresh links well before the old ones expire.
    refetchInterval: (linkLifetimeSeconds / 2) * 1000,
  });
  const origin = window.location.origin;
  const urlOf = new Map((urls.data?.files ?? []).map((file) => [file.path, absoluteUrl(file.url, origin)]));
  const parquetUrls = dataset.files
    .filter((file) => file.kind === 'parquet')
    .map((file) => urlOf.get(file.path))
    .filter((url): url is string => url !== undefined);
  const snippets = parquetUrls.length > 0 ? datasetSnippets(parquetUrls) : null;
  return (
    <>
      <Section title="Files">
        <QueryError error={urls.error} />
        <Table caption="Files of the dataset" columns={['Path', 'Kind', 'Size', 'Rows', 'SHA-256', 'Download']}>
          {dataset.files.map((file) => {
            const url = urlOf.get(file.path);
            return (
              <tr key={file.path}>
                <Cell className="font-mono text-xs">{file.path}</Cell>
                <Cell>{file.kind}</Cell>
                <Cell>{formatBytes(file.bytes)}</Cell>
                <Cell>{file.rows?.toLocaleString('en-US') ?? '—'}</Cell>
                <Cell className="max-w-[12rem] break-all font-mono text-xs">{file.sha256}</Cell>
                <Cell>
                  {url ? (
                    <a
                      href={url}
                      download={file.path.split('/').pop()}
                      className="underline"
                      aria-label={`Download ${file.path}`}
                    >
                      Download
                    </a>
                  ) : (
                    '…'
                  )}
                </Cell>
              </tr>
            );
          })}
        </Table>
        {urls.data && (
          <p className="text-xs text-stone-500">
            Links need no key and work until {formatDateTime(urls.data.expiresAt)}; this page renews them.
          </p>
        )}
      </Section>
      {snippets && (
        <Section title="Read it">
          <Snippet title="pandas" code={snippets.pandas} />
          <Snippet title="DuckDB" code={snippets.duckdb} />
          <Snippet title="Hugging Face datasets" code={snippets.datasets} />
        </Section>
      )}
    </>
  );
}

function Snippet({ title, code }: { title: string; code: string }) {
  return (
    <figure>
      <figcaption className="mb-1 flex items-center justify-between text-sm font-medium">
        {title}
        <CopyButton text={code} label={`Copy the ${title} snippet`} />
      </figcaption>
      <pre
        data-testid={`snippet-${title}`}
        className="overflow-x-auto rounded-md bg-stone-900 p-3 text-xs text-stone-100"
      >
        <code>{code}</code>
      </pre>
    </figure>
  );
}
