import type { WorkState } from '@protocol/campaigns';
import { StateBadge, type StateLooks } from '@ui/state-badge';

const workStateLooks: StateLooks<WorkState> = {
  active: { tone: 'working', words: 'Active' },
  paused: { tone: 'paused', words: 'Paused' },
  cancelled: { tone: 'bad', words: 'Cancelled' },
  complete: { tone: 'good', words: 'Complete' },
};

/** A campaign's or project's state as a badge; e2e tests read these words. */
export function WorkStateBadge({ state }: { state: WorkState }) {
  return <StateBadge state={state} looks={workStateLooks} testId="work-state" />;
}
