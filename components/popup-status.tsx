import { formatDateTime } from '@/lib/format';
import type { Connection } from '@/lib/settings';
import { StatusBadge } from './status-badge';

/** The device address in one line: the middle gives way first, the full address is the title. */
function DeviceAddress({ address }: { address: string }) {
  return (
    <code data-testid="device-address" title={address} className="block min-w-0 truncate font-mono text-xs">
      {address}
    </code>
  );
}

/**
 * The link to the server in two lines for the popup: the state word, the device, and either when
 * the server last answered or, offline, why not with a way to try again now.
 */
export function PopupStatus({
  connection,
  onRetry,
  retrying,
}: {
  connection: Connection;
  onRetry: () => void;
  retrying: boolean;
}) {
  const offline = connection.state === 'offline';
  return (
    <section className="space-y-1">
      <div className="flex items-center gap-2">
        <StatusBadge state={connection.state} />
        {connection.deviceAddress && <DeviceAddress address={connection.deviceAddress} />}
        {offline && (
          <button
            type="button"
            data-testid="check-now"
            disabled={retrying}
            onClick={onRetry}
            className="ml-auto shrink-0 rounded-md border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100 disabled:opacity-60"
          >
            {retrying ? 'Trying…' : 'Try now'}
          </button>
        )}
      </div>
      {offline && connection.lastError ? (
        <p data-testid="last-error" title={connection.lastError} className="line-clamp-2 text-xs text-red-800">
          {connection.lastError}
        </p>
      ) : (
        connection.lastContactAt !== null && (
          <p className="text-xs text-slate-500">Server last answered {formatDateTime(connection.lastContactAt)}</p>
        )
      )}
    </section>
  );
}
