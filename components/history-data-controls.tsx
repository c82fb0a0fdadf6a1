import { useLiveQuery } from 'dexie-react-hooks';
import { useState } from 'react';
import { type ExportFormat, exportFetchLog } from '@/lib/export-fetch-log';
import { sendMessage } from '@/lib/messages';
import { useDb } from './db-context';
import { Button } from './ui/button';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

const plural = (count: number, one: string, many: string) => `${count.toLocaleString()} ${count === 1 ? one : many}`;

/** Hands a file to the browser's downloads: nothing leaves the computer. */
function download(file: { filename: string; mimeType: string; text: string }): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.filename;
  link.click();
  // The click starts the download synchronously; the object URL is not needed after it.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * The person's own data (options page): download the whole fetch log, or delete what this browser keeps of
 * their work, after saying exactly what goes and what stays (lib/history-delete.ts does the same).
 */
export function HistoryDataControls() {
  const db = useDb();
  const held = useLiveQuery(
    async () => ({ fetchLog: await db.fetchLog.count(), outbox: await db.outbox.count() }),
    [db],
  );
  const exporting = useAction(async (format: ExportFormat) => download(await exportFetchLog(db, format, Date.now())));
  const [confirming, setConfirming] = useState(false);
  const [resetDevice, setResetDevice] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const deleting = useAction(async () => {
    const result = await sendMessage('deleteLocalData', { resetDevice });
    const deleted = result.deleted;
    setDone(
      `Deleted ${plural(deleted.fetchLog ?? 0, 'fetch log entry', 'fetch log entries')} and ${plural(
        deleted.outbox ?? 0,
        'result or label waiting to upload',
        'results and labels waiting to upload',
      )}${result.deviceReset ? '; this browser will register as a new device' : ''}.`,
    );
    setConfirming(false);
    setResetDevice(false);
  });

  return (
    <div className="space-y-4 text-sm">
      <div className="space-y-2">
        <p className="text-slate-700">
          Download every entry of the fetch log kept in this browser ({plural(held?.fetchLog ?? 0, 'entry', 'entries')}
          ), oldest first, with times in UTC.
        </p>
        <div className="flex gap-2">
          <Button
            variant="secondary"
            data-testid="export-csv"
            disabled={exporting.pending}
            onClick={() => void exporting.run('csv')}
          >
            Download as CSV
          </Button>
          <Button
            variant="secondary"
            data-testid="export-json"
            disabled={exporting.pending}
            onClick={() => void exporting.run('json')}
          >
            Download as JSON
          </Button>
        </div>
        <ErrorText error={exporting.error} />
      </div>

      <div className="space-y-2">
        {!confirming ? (
          <Button
            variant="secondary"
            data-testid="delete-local-data"
            onClick={() => {
              setDone(null);
              setConfirming(true);
            }}
          >
            Delete my local data…
          </Button>
        ) : (
          <div data-testid="delete-confirm" className="space-y-3 rounded-md border border-red-200 bg-red-50 p-3">
            <p className="font-medium text-red-900">This deletes, from this browser only:</p>
            <ul className="list-disc space-y-1 pl-5 text-red-900">
              <li>
                the fetch log ({plural(held?.fetchLog ?? 0, 'entry', 'entries')}), and with it the pages and bytes of
                the history above;
              </li>
              <li>
                work not uploaded yet ({plural(held?.outbox ?? 0, 'result or label', 'results and labels')}): it will
                never reach the server and earns nothing;
              </li>
              <li>
                pages and labeling tasks leased but not done (the server gives them to someone else when their lease
                ends), uploads the server refused, and the last points, standing and refusals shown here.
              </li>
            </ul>
            <p className="text-slate-700">
              It keeps your settings (server, daily budget), your consent and pause, and this device’s key: the server
              still knows this device, and its points and labels stay there and show again here.
            </p>
            <label className="flex items-start gap-2 text-slate-800">
              <input
                type="checkbox"
                data-testid="delete-reset-device"
                checked={resetDevice}
                onChange={(event) => setResetDevice(event.target.checked)}
                className="mt-0.5"
              />
              <span>
                Also reset this device: delete its key, so this browser registers as a new device with no points. What
                the old device earned stays on the server under its address (and goes to your wallet if it is linked);
                this browser can no longer show it, and must be linked to your wallet again.
              </span>
            </label>
            <div className="flex gap-2">
              <Button
                variant="danger"
                data-testid="delete-local-data-confirm"
                disabled={deleting.pending}
                onClick={() => void deleting.run()}
              >
                {resetDevice ? 'Delete and reset the device' : 'Delete'}
              </Button>
              <Button variant="secondary" disabled={deleting.pending} onClick={() => setConfirming(false)}>
                Cancel
              </Button>
            </div>
            <ErrorText error={deleting.error} />
          </div>
        )}
        {done && (
          <p role="status" data-testid="delete-local-data-done" className="text-slate-700">
            {done}
          </p>
        )}
      </div>
    </div>
  );
}
