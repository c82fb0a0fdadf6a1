import type { WorkState } from '@protocol/campaigns';
import { Badge, type BadgeTone } from '@ui/badge';

const tones: Record<WorkState, BadgeTone> = {
  active: 'working',
  paused: 'paused',
  cancelled: 'bad',
  complete: 'good',
};

const words: Record<WorkState, string> = {
  active: 'Active',
  paused: 'Paused',
  cancelled: 'Cancelled',
  complete: 'Complete',
};

/** A campaign's or project's state as a badge; e2e tests read these words. */
export function WorkStateBadge({ state }: { state: WorkState }) {
  return (
    <Badge tone={tones[state]} testId="work-state">
      {words[state]}
    </Badge>
  );
}
