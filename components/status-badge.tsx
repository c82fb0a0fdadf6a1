import type { ConnectionState } from '@/lib/settings';
import { Badge, type BadgeTone } from './ui/badge';

/** The word shown for each connection state; e2e tests read these exact words. */
const connectionStateLabels: Record<ConnectionState, string> = {
  'no-consent': 'No consent',
  registering: 'Registering',
  connected: 'Connected',
  offline: 'Offline',
  paused: 'Paused',
};

const tones: Record<ConnectionState, BadgeTone> = {
  'no-consent': 'neutral',
  registering: 'working',
  connected: 'good',
  offline: 'bad',
  paused: 'paused',
};

/** The extension's connection state as a badge. */
export function StatusBadge({ state }: { state: ConnectionState }) {
  return (
    <Badge tone={tones[state]} testId="status">
      {connectionStateLabels[state]}
    </Badge>
  );
}
