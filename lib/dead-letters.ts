import type { DeadLetterRow, GleanerDb } from './db';

/** A dead letter as the pages show it: when, what, and why, without the records' payloads. */
export interface DeadLetterSummary {
  id: number;
  at: number;
  code: DeadLetterRow['code'];
  message: string;
  results: number;
  labels: number;
}

/** The batches the server refused for good, newest first, summarized for the person. */
export async function listDeadLetters(db: GleanerDb): Promise<DeadLetterSummary[]> {
  const rows = await db.deadLetters.orderBy('at').reverse().toArray();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    code: row.code,
    message: row.message,
    results: row.records.filter((record) => record.kind === 'scrape').length,
    labels: row.records.filter((record) => record.kind === 'label').length,
  }));
}

/** How many batches and records wait among the dead letters. */
export async function countDeadLetters(db: GleanerDb): Promise<{ batches: number; records: number }> {
  let records = 0;
  let batches = 0;
  await db.deadLetters.each((row) => {
    batches += 1;
    records += row.records.length;
  });
  return { batches, records };
}

/** Deletes the dead letters with these ids (the person decided they are not needed); answers how many went. */
export async function deleteDeadLetters(db: GleanerDb, ids: readonly number[]): Promise<number> {
  return db.transaction('rw', db.deadLetters, async () => {
    const existing = (await db.deadLetters.bulkGet([...ids])).filter((row) => row !== undefined).length;
    await db.deadLetters.bulkDelete([...ids]);
    return existing;
  });
}
