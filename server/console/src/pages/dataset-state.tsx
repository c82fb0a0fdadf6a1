import type { Dataset, DatasetState } from '@protocol/datasets';
import { ProgressBar } from '@ui/progress-bar';
import { StateBadge, type StateLooks } from '@ui/state-badge';

const datasetStateLooks: StateLooks<DatasetState> = {
  queued: { tone: 'neutral', words: 'Queued' },
  building: { tone: 'working', words: 'Building' },
  ready: { tone: 'good', words: 'Ready' },
  failed: { tone: 'bad', words: 'Failed' },
  cancelled: { tone: 'paused', words: 'Cancelled' },
};

/** A dataset's state as a badge; e2e tests read these words. */
export function DatasetStateBadge({ state }: { state: DatasetState }) {
  return <StateBadge state={state} looks={datasetStateLooks} testId="dataset-state" />;
}

/** Whether the build can still move. */
export function datasetIsBuilding(dataset: Pick<Dataset, 'state'>): boolean {
  return dataset.state === 'queued' || dataset.state === 'building';
}

/** Rows written out of rows to write, with the build's phase. */
export function DatasetBuildProgress({ dataset, label }: { dataset: Dataset; label: string }) {
  const { progress } = dataset;
  return (
    <ProgressBar
      label={label}
      value={progress.rowsDone}
      max={progress.rowsTotal}
      detail={dataset.state === 'queued' ? 'waiting for a worker' : progress.phase}
    />
  );
}
