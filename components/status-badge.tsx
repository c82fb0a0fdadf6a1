import type { ConnectionState } from '@/lib/settings';

/** The word shown for each connection state; e2e tests read these exact words. */
const connectionStateLabels: Record<ConnectionState, string> = {
  'no-consent': 'No consent',
  registering: 'Registering',
  connected: 'Connected',
  offline: 'Offline',
  paused: 'Paused',
};

const colors: Record<ConnectionState, string> = {
  'no-consent': 'bg-slate-100 text-slate-700',
  registering: 'bg-amber-100 text-amber-800',
  connected: 'bg-emerald-100 text-emerald-800',
  offline: 'bg-red-100 text-red-800',
  paused: 'bg-sky-100 text-sky-800',
};

export function StatusBadge({ state }: { state: ConnectionState }) {
  return (
    <span
      data-testid="status"
      className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-sm font-medium ${colors[state]}`}
    >
      {connectionStateLabels[state]}
    </span>
  );
}
