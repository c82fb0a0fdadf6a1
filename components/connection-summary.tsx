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
        <div className="text-sm">
          <span className="text-slate-600">Device </span>
          <code data-testid="device-address" className="break-all font-mono text-xs">
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
