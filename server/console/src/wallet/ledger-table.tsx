import { type LedgerEntry, ledgerQuerySchema, ledgerStateSchema } from '@protocol/contributors';
import { useQuery } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { SelectField } from '@ui/field';
import { Cell, Table } from '@ui/table';
import { useState } from 'react';
import { contributorApi, type LedgerFilter } from '../api/contributor-api';
import { useCursorPages } from '../layout/cursor-pages';
import { formatDateTime } from '../layout/format';
import { QueryError } from '../layout/query-error';
import { useContributorSession, walletQueryKey } from './contributor-session';

const reasons = ledgerQuerySchema.shape.reason.unwrap().options;
const pageSize = 25;

/** Every ledger entry of the wallet's devices, newest first, filtered by state, reason and device, a page at a time. */
export function LedgerTable({ devices }: { devices: string[] }) {
  const [filter, setFilter] = useState<Pick<LedgerFilter, 'state' | 'reason' | 'device'>>({});
  const set = (key: keyof typeof filter) => (event: React.ChangeEvent<HTMLSelectElement>) =>
    setFilter((current) => ({ ...current, [key]: event.target.value || undefined }));
  return (
    <div className="space-y-3">
      <div className="grid gap-3 sm:grid-cols-3">
        <SelectField label="State" value={filter.state ?? ''} onChange={set('state')}>
          <option value="">Any state</option>
          {ledgerStateSchema.options.map((state) => (
            <option key={state} value={state}>
              {state}
            </option>
          ))}
        </SelectField>
        <SelectField label="Reason" value={filter.reason ?? ''} onChange={set('reason')}>
          <option value="">Any reason</option>
          {reasons.map((reason) => (
            <option key={reason} value={reason}>
              {reason.replace('_', ' ')}
            </option>
          ))}
        </SelectField>
        <SelectField label="Device" value={filter.device ?? ''} onChange={set('device')}>
          <option value="">Any device</option>
          {devices.map((device) => (
            <option key={device} value={device}>
              {device}
            </option>
          ))}
        </SelectField>
      </div>
      {/* A new filter starts again at the newest page: the old cursors belong to the old filter. */}
      <LedgerPages key={JSON.stringify(filter)} filter={filter} />
    </div>
  );
}

function LedgerPages({ filter }: { filter: LedgerFilter }) {
  const { api } = useContributorSession();
  const pages = useCursorPages();
  const query = { ...filter, cursor: pages.cursor, limit: pageSize };
  const ledger = useQuery({
    queryKey: [...walletQueryKey, 'ledger', query],
    queryFn: () => contributorApi.ledger(api, query),
  });
  const entries = ledger.data?.entries ?? [];
  return (
    <>
      <QueryError error={ledger.error} />
      {ledger.isPending && <p className="text-sm">Loading the ledger…</p>}
      {ledger.data && entries.length === 0 && (
        <p className="text-sm text-stone-600" data-testid="ledger-empty">
          No ledger entry matches.
        </p>
      )}
      {entries.length > 0 && (
        <Table caption="Ledger entries" columns={['When', 'Points', 'State', 'Reason', 'Reference', 'Device', 'Epoch']}>
          {entries.map((entry) => (
            <LedgerRow key={entry.id} entry={entry} />
          ))}
        </Table>
      )}
      <div className="flex items-center gap-2">
        <Button variant="secondary" disabled={!pages.hasNewer} onClick={pages.newer}>
          Newer
        </Button>
        <Button
          variant="secondary"
          disabled={!ledger.data?.nextCursor}
          onClick={() => ledger.data?.nextCursor && pages.older(ledger.data.nextCursor)}
        >
          Older
        </Button>
        <span className="text-xs text-stone-500">Page {pages.pageNumber}</span>
      </div>
    </>
  );
}

const stateClass: Record<LedgerEntry['state'], string> = {
  pending: 'text-amber-700',
  verified: 'text-emerald-700',
  rejected: 'text-red-700',
  reversed: 'text-red-700',
};

function LedgerRow({ entry }: { entry: LedgerEntry }) {
  return (
    <tr data-testid="ledger-row">
      <Cell className="whitespace-nowrap">{formatDateTime(entry.createdAt)}</Cell>
      <Cell>{entry.points}</Cell>
      <Cell className={stateClass[entry.state]}>
        {entry.state}
        {entry.rejectionReason && <span className="block text-xs text-stone-600">{entry.rejectionReason}</span>}
      </Cell>
      <Cell>{entry.reason.replace('_', ' ')}</Cell>
      <Cell className="max-w-xs break-all text-xs">
        {/* Only web links: a javascript: URL from a bad row must never become a clickable link. */}
        {entry.url && /^https?:\/\//i.test(entry.url) ? (
          <a className="underline" href={entry.url} rel="noreferrer noopener" target="_blank">
            {entry.reference}
          </a>
        ) : (
          entry.reference
        )}
      </Cell>
      <Cell className="font-mono text-xs">{`${entry.device.slice(0, 8)}…${entry.device.slice(-4)}`}</Cell>
      <Cell>{entry.epoch ?? '—'}</Cell>
    </tr>
  );
}
