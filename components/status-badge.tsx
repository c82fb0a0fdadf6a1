import type { ConnectionState } from '@/lib/settings';
import { StateBadge, type StateLooks } from './ui/state-badge';

/** Each connection state's tone and words; e2e tests read these exact words. */
const connectionStateLooks: StateLooks<ConnectionState> = {
  'no-consent': { tone: 'neutral', words: 'No consent' },
  registering: { tone: 'working', words: 'Registering' },
  connected: { tone: 'good', words: 'Connected' },
  offline: { tone: 'bad', words: 'Offline' },
  paused: { tone: 'paused', words: 'Paused' },
};

/** The extension's connection state as a badge. */
export function StatusBadge({ state }: { state: ConnectionState }) {
  return <StateBadge state={state} looks={connectionStateLooks} testId="status" />;
}
