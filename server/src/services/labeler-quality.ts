import { goldPolicy, type LabelerStanding } from '@protocol/labeling';
import type { Queryable } from '../db/database';

/** Gold answers needed before a labeler's accuracy is judged (the warm-up). */
const goldWarmUp = goldPolicy.minGold;
/** Below this gold accuracy a labeler's labels stop counting and stop earning. */
const goldAccuracyThreshold = goldPolicy.minAccuracy;

export interface GoldRecord {
  answered: number;
  correct: number;
}

/** Accuracy once past the warm-up; null before. */
export function goldAccuracy(record: GoldRecord): number | null {
  return record.answered >= goldWarmUp ? record.correct / record.answered : null;
}

/** Whether a labeler's labels count: yes during the warm-up and while at or above the threshold. */
export function isInGoodStanding(record: GoldRecord): boolean {
  const accuracy = goldAccuracy(record);
  return accuracy === null || accuracy >= goldAccuracyThreshold;
}

/** How much a labeler's work is worth: gold accuracy, or a neutral 0.75 during the warm-up. */
export function reliability(record: GoldRecord): number {
  return goldAccuracy(record) ?? 0.75;
}

/** One labeler's gold record. */
export async function goldRecordOf(tx: Queryable, device: string): Promise<GoldRecord> {
  return (await goldRecordsOf(tx, [device])).get(device) ?? { answered: 0, correct: 0 };
}

/** The gold records of many labelers in one grouped query; a labeler with no gold answer has a zero record. */
export async function goldRecordsOf(tx: Queryable, devices: readonly string[]): Promise<Map<string, GoldRecord>> {
  const records = new Map<string, GoldRecord>(devices.map((device) => [device, { answered: 0, correct: 0 }]));
  if (devices.length === 0) return records;
  const rows = await tx.query<{ device: string; answered: number; correct: number }>(
    `select device, count(*)::int as answered, count(*) filter (where gold_correct)::int as correct
       from labels where device = any($1::text[]) and is_gold group by device`,
    [[...new Set(devices)]],
  );
  for (const row of rows) records.set(row.device, { answered: row.answered, correct: row.correct });
  return records;
}

/** What the popup shows a labeler after each submission. */
export async function labelerStanding(tx: Queryable, device: string): Promise<LabelerStanding> {
  const record = await goldRecordOf(tx, device);
  const accuracy = goldAccuracy(record);
  const earning = isInGoodStanding(record);
  const labels = await tx.query<{ count: number }>('select count(*)::int as count from labels where device = $1', [
    device,
  ]);
  const points = await tx.query<{ state: string; points: number | string }>(
    `select state, coalesce(sum(points), 0)::int8 as points from points_ledger
      where device = $1 and reason in ('label', 'label_gold') group by state`,
    [device],
  );
  const sum = (state: string) => Number(points.find((row) => row.state === state)?.points ?? 0);
  return {
    goldAnswered: record.answered,
    goldCorrect: record.correct,
    goldAccuracy: accuracy,
    earning,
    reason: earning
      ? null
      : `Your accuracy on check questions is ${Math.round((accuracy ?? 0) * 100)}%, below the ${Math.round(
          goldAccuracyThreshold * 100,
        )}% needed: your labels do not count or earn until it rises.`,
    labels: labels[0]?.count ?? 0,
    points: { pending: sum('pending'), verified: sum('verified') },
  };
}
