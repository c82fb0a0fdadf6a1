import type { Project } from '@protocol/labeling';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { ProgressBar } from '@ui/progress-bar';
import { Cell, Table } from '@ui/table';
import { type FormEvent, useState } from 'react';
import { buyerApi, type WorkAction } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApplyUpdate } from '../api/use-apply-update';
import { usePendingWork } from '../api/use-pending-work';
import { useApi } from '../auth/api-key-context';
import { Fact, Facts } from '../layout/facts';
import { formatDateTime, formatShare } from '../layout/format';
import { PageHeader, Section } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { WorkControls } from '../layout/work-controls';
import { WorkStateBadge } from '../layout/work-state';
import { ItemsFileField, sourcedItems, useItemsFile } from './items-file-field';
import { itemsHint } from './new-project-page';
import { RefusalTable } from './project-refusals';
import { addItemsInBatches, type ProjectUpload } from './project-upload';

/** One labeling project: progress, agreement, per-labeler quality, more items, and its controls. */
export function ProjectPage({ projectId }: { projectId: string }) {
  const api = useApi();
  const applyUpdate = useApplyUpdate(queryKeys.project(projectId), queryKeys.projects);
  const project = useQuery({
    queryKey: queryKeys.project(projectId),
    queryFn: () => buyerApi.project(api, projectId),
    refetchInterval: (query) => (query.state.data?.state === 'active' ? 5000 : false),
  });
  const act = async (action: WorkAction) => applyUpdate(await buyerApi.controlProject(api, projectId, action));
  if (project.isPending) return <p>Loading the project…</p>;
  if (project.isError) return <QueryError error={project.error} />;
  const { data } = project;
  return (
    <>
      <PageHeader title={data.name}>
        <WorkStateBadge state={data.state} />
      </PageHeader>
      <div className="space-y-6">
        <Section title="Progress">
          <ProgressBar label="Items labeled" value={data.progress.itemsComplete} max={data.progress.items} />
          <Facts>
            <Fact term="Items">
              {data.progress.items} ({data.progress.goldItems} gold)
            </Fact>
            <Fact term="Labels">{data.progress.labels}</Fact>
            <Fact term="Labelers">{data.progress.labelers}</Fact>
            <Fact term="Agreement (mean confidence)" testId="agreement">
              {formatShare(data.progress.agreement)}
            </Fact>
            {data.progress.aggregation && (
              <Fact term="Aggregation" testId="aggregation">
                {describeAggregation(data.progress.aggregation)}
              </Fact>
            )}
            <Fact term="Labels per item">{data.overlap}</Fact>
            <Fact term="Gold share">{formatShare(data.goldRate)}</Fact>
            <Fact term="Schema">{describeSchema(data)}</Fact>
            <Fact term="Created">{formatDateTime(data.createdAt)}</Fact>
          </Facts>
          <WorkControls what="project" state={data.state} act={act} />
        </Section>
        <Section title="Instructions">
          <p className="whitespace-pre-wrap text-sm">{data.instructions}</p>
        </Section>
        <LabelerQualitySection project={data} />
        {data.state !== 'cancelled' && <AddItems project={data} />}
      </div>
    </>
  );
}

function describeSchema({ labelSchema }: Project): string {
  switch (labelSchema.type) {
    case 'single_choice':
      return `one of ${labelSchema.choices.join(', ')}`;
    case 'multi_choice':
      return `any of ${labelSchema.choices.join(', ')}`;
    case 'pairwise':
      return 'pairwise preference';
    case 'spans':
      return `spans labeled ${labelSchema.labels.join(', ')}`;
  }
}

function LabelerQualitySection({ project }: { project: Project }) {
  const api = useApi();
  const labelers = useQuery({
    queryKey: queryKeys.projectLabelers(project.id),
    queryFn: () => buyerApi.projectLabelers(api, project.id),
    refetchInterval: project.state === 'active' ? 15_000 : false,
  });
  const quality = labelers.data?.labelers ?? [];
  const bias = new Map((project.progress.positionBias ?? []).map((entry) => [entry.labeler, entry]));
  return (
    <Section title="Labelers">
      <QueryError error={labelers.error} />
      {labelers.data && quality.length === 0 && <p className="text-sm text-stone-600">No labels yet.</p>}
      {quality.length > 0 && (
        <Table
          caption="Each labeler's labels, accuracy on check questions, and agreement with the aggregated label"
          columns={[
            'Labeler',
            'Labels',
            'Gold accuracy',
            'Counted',
            'Agrees with aggregate',
            ...(project.progress.positionBias ? ['Left share', 'Position bias'] : []),
          ]}
        >
          {quality.map((entry) => {
            const leaning = bias.get(entry.labeler);
            return (
              <tr key={entry.labeler}>
                <Cell className="font-mono text-xs">{entry.labeler}</Cell>
                <Cell>{entry.labels}</Cell>
                <Cell>
                  {entry.goldAccuracy === null
                    ? `warming up (${entry.goldAnswered} answered)`
                    : `${formatShare(entry.goldAccuracy)} of ${entry.goldAnswered}`}
                </Cell>
                <Cell>{entry.counted ? 'yes' : 'no: below the gold threshold'}</Cell>
                <Cell>{entry.compared > 0 ? `${formatShare(entry.agreement)} of ${entry.compared}` : '—'}</Cell>
                {project.progress.positionBias && (
                  <>
                    <Cell>{formatShare(leaning?.leftShare)}</Cell>
                    <Cell>{leaning?.biased ? 'biased' : 'fair'}</Cell>
                  </>
                )}
              </tr>
            );
          })}
        </Table>
      )}
    </Section>
  );
}

function AddItems({ project }: { project: Project }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const items = useItemsFile(project.labelSchema, false);
  const gold = useItemsFile(project.labelSchema, true);
  const { pending, error, run } = usePendingWork();
  const [upload, setUpload] = useState<ProjectUpload | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const sourced = sourcedItems([items.parsed, gold.parsed]);
    const start: ProjectUpload = { project, sent: 0, total: sourced.length, added: 0, refused: [] };
    setUpload(start);
    await run(async () => {
      setUpload(await addItemsInBatches(api, start, sourced, setUpload));
      await queryClient.invalidateQueries({ queryKey: queryKeys.project(project.id) });
    });
  };
  const count = (items.parsed?.upload.items.length ?? 0) + (gold.parsed?.upload.items.length ?? 0);
  return (
    <Section title="Add items">
      <form onSubmit={submit} className="space-y-4">
        <ItemsFileField label="Items file" hint={itemsHint} state={items} />
        <ItemsFileField label="Gold file" hint="Items with their known answer (gold), same formats." state={gold} />
        <Button type="submit" disabled={pending || count === 0}>
          {pending ? 'Sending…' : `Add ${count.toLocaleString('en-US')} items`}
        </Button>
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
            {error}
          </p>
        )}
      </form>
      {upload && upload.total > 0 && (
        <>
          <ProgressBar label="Items sent" value={upload.sent} max={upload.total} />
          <p className="text-sm">
            {upload.added} added, {upload.refused.length} refused.
          </p>
          <RefusalTable refused={upload.refused} />
        </>
      )}
    </Section>
  );
}

/** The chosen method with its priors and what chose it, e.g. "ds (smoothing 0.01, diagonal 0, pooled 8), chosen on held-out answers". */
function describeAggregation(aggregation: NonNullable<Project['progress']['aggregation']>): string {
  const priors = Object.entries(aggregation.parameters).map(([name, value]) => `${name} ${value}`);
  const chosen = aggregation.selectedBy === 'named' ? '' : `, chosen on held-out ${aggregation.selectedBy}`;
  return `${aggregation.method}${priors.length > 0 ? ` (${priors.join(', ')})` : ''}${chosen}`;
}
