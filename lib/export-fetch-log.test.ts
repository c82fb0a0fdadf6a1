import { describe, expect, it } from 'vitest';
import type { FetchLogRow } from './db';
import { exportFetchLog, fetchLogToCsv } from './export-fetch-log';
import { createTestDb } from './testing/test-db';

const base: Omit<FetchLogRow, 'id'> = {
  kind: 'page',
  at: Date.parse('2025-04-10T08:00:00Z'),
  url: 'https://example.com/a',
  status: 200,
  bytes: 1000,
  outcome: 'ok',
  reason: null,
  assignmentId: 'as-1',
  rejection: null,
};

describe('exporting the fetch log', () => {
  it('writes every entry, oldest first, beyond the hundred the page shows', async () => {
    const db = createTestDb();
    await db.fetchLog.bulkAdd(
      Array.from({ length: 150 }, (_, i) => ({
        ...base,
        at: base.at - i * 60_000,
        url: `https://example.com/${i}`,
      })) as FetchLogRow[],
    );
    const json = await exportFetchLog(db, 'json', Date.parse('2025-04-10T12:00:00Z'));
    expect(json.mimeType).toBe('application/json');
    expect(json.filename).toMatch(/^gleaner-fetch-log-\d{4}-\d{2}-\d{2}\.json$/);
    const parsed = JSON.parse(json.text) as { exportedAt: string; entries: Array<Record<string, unknown>> };
    expect(parsed.exportedAt).toBe('2025-04-10T12:00:00.000Z');
    expect(parsed.entries).toHaveLength(150);
    expect(parsed.entries[0]).toMatchObject({ url: 'https://example.com/149', at: '2025-04-10T05:31:00.000Z' });
    // Every field as written, the time as ISO text.
    expect(parsed.entries.at(-1)).toMatchObject({
      ...base,
      url: 'https://example.com/0',
      at: '2025-04-10T08:00:00.000Z',
    });

    const csv = await exportFetchLog(db, 'csv', Date.now());
    expect(csv.mimeType).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines).toHaveLength(151);
    expect(lines[0]).toBe('id,kind,at,url,status,bytes,outcome,reason,assignmentId,rejection');
    expect(lines[1]).toMatch(/^\d+,page,2025-04-10T05:31:00.000Z,https:\/\/example.com\/149,200,1000,ok,,as-1,$/);
  });

  it('quotes commas, quotes and line breaks, and keeps a formula from running in a spreadsheet', () => {
    const csv = fetchLogToCsv([
      {
        ...base,
        id: 7,
        url: 'https://example.com/a,b',
        status: null,
        outcome: 'error',
        reason: 'network_error: "reset",\nthen gave up',
        rejection: '=HYPERLINK("https://evil.example","x")',
      },
    ]);
    const [, line] = csv.split('\r\n', 2);
    expect(csv).toContain('"https://example.com/a,b"');
    expect(csv).toContain('"network_error: ""reset"",\nthen gave up"');
    expect(csv).toContain(`"'=HYPERLINK(""https://evil.example"",""x"")"`);
    expect(line?.startsWith('7,page,2025-04-10T08:00:00.000Z,"https://example.com/a,b",,1000,error,')).toBe(true);
  });
});
