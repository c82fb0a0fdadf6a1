import { type FetchLogRow, fetchLogRowSchema, type GleanerDb } from './db';
import { localDayKey } from './history';
import { logger } from './logger';

/** The person's own copy of everything in the local fetch log, oldest first. */
export type ExportFormat = 'csv' | 'json';

export interface ExportFile {
  filename: string;
  mimeType: string;
  text: string;
}

const columns = [
  'id',
  'kind',
  'at',
  'url',
  'status',
  'bytes',
  'outcome',
  'reason',
  'assignmentId',
  'rejection',
] as const satisfies ReadonlyArray<keyof FetchLogRow>;

/** Every fetch log row that validates, oldest first; unreadable rows are logged and left out, as on screen. */
async function readWholeFetchLog(db: GleanerDb): Promise<FetchLogRow[]> {
  const rows = await db.fetchLog.orderBy('at').toArray();
  return rows.flatMap((row) => {
    const parsed = fetchLogRowSchema.safeParse(row);
    if (parsed.success) return [parsed.data];
    logger.warn('Left an unreadable fetch log row out of the export.', { row, issues: parsed.error.issues });
    return [];
  });
}

/**
 * One CSV field (RFC 4180). A text a spreadsheet would run as a formula (=, +, -, @, tab, return first) gets a
 * leading apostrophe: a rejection reason comes from the server, and opening one's own log must not run it.
 */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The rows as CSV with a header line; times as ISO 8601 in UTC so the file reads the same anywhere. */
export function fetchLogToCsv(rows: readonly FetchLogRow[]): string {
  const lines = [columns.join(',')];
  for (const row of rows) {
    lines.push(
      columns.map((column) => csvField(column === 'at' ? new Date(row.at).toISOString() : row[column])).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The whole local fetch log as a file to download, named after the local day it was made. */
export async function exportFetchLog(db: GleanerDb, format: ExportFormat, now: number): Promise<ExportFile> {
  const rows = await readWholeFetchLog(db);
  const filename = `gleaner-fetch-log-${localDayKey(now)}.${format}`;
  if (format === 'csv') return { filename, mimeType: 'text/csv;charset=utf-8', text: fetchLogToCsv(rows) };
  const text = JSON.stringify(
    {
      exportedAt: new Date(now).toISOString(),
      entries: rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() })),
    },
    null,
    2,
  );
  return { filename, mimeType: 'application/json', text: `${text}\n` };
}
