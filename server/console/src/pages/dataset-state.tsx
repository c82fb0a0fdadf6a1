import type { Dataset, DatasetState } from '@protocol/datasets';
import { Badge, type BadgeTone } from '@ui/badge';
import { ProgressBar } from '@ui/progress-bar';

const tones: Record<DatasetState, BadgeTone> = {
  queued: 'neutral',
  building: 'working',
  ready: 'good',
  failed: 'bad',
  cancelled: 'paused',
};

const words: Record<DatasetState, string> = {
  queued: 'Queued',
  building: 'Building',
  ready: 'Ready',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A dataset's state as a badge; e2e tests read these words. */
export function DatasetStateBadge({ state }: { state: DatasetState }) {
  return (
    <Badge tone={tones[state]} testId="dataset-state">
      {words[state]}
    </Badge>
  );
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
