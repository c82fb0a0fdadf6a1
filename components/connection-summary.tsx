import { formatDateTime } from '@/lib/format';
import type { Connection } from '@/lib/settings';
import { StatusBadge } from './status-badge';

/** The link to the server at a glance: state word, device address, last contact and, when offline, why. */
export function ConnectionSummary({ connection }: { connection: Connection }) {
  return (
    <div className="space-y-2">
      <div className="flex items-center gap-2">
        <span className="text-sm text-slate-600">Status</span>
        <StatusBadge state={connection.state} />
      </div>
      {connection.deviceAddress && (
        // An address is one word: it never wraps mid-string; a narrow window cuts it, the title keeps it whole.
        <div className="flex min-w-0 items-baseline gap-1 text-sm">
          <span className="shrink-0 text-slate-600">Device</span>
          <code
            data-testid="device-address"
            title={connection.deviceAddress}
            className="min-w-0 truncate font-mono text-xs"
          >
            {connection.deviceAddress}
          </code>
        </div>
      )}
      {connection.lastContactAt !== null && (
        <p className="text-xs text-slate-500">
          Last contact with the server: {formatDateTime(connection.lastContactAt)}
        </p>
      )}
      {connection.state === 'offline' && connection.lastError && (
        <p data-testid="last-error" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {connection.lastError}
        </p>
      )}
    </div>
  );
}
