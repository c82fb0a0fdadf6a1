import { labelSchemaSchema } from '@protocol/labeling';
import { syntheticCrowd } from '../server/src/aggregation/synthetic-crowd';
import type { Database } from '../server/src/db/database';
import { aggregateProject } from '../server/src/services/label-aggregation';
import { closeAggregationPool } from '../server/src/services/label-aggregation-pool';
import { type LabelFitRow, labelFitInput } from '../server/src/services/label-aggregation-worker';
import { labelReference, settleLabels } from '../server/src/services/label-settlement';
import { seedLabeledProject } from '../server/src/test/labeled-project';
import { openBenchDatabase } from './bench-database';
import { median, numberFromEnv } from './stats';

/** A project of `labels` single-choice labels (10 per item), written in a few statements, paid or not yet. */
async function seedProject(db: Database, labels: number, paid: boolean): Promise<string> {
  const crowd = syntheticCrowd({
    seed: 5,
    items: labels / 10,
    workers: 1000,
    classes: 5,
    labelsPerItem: 10,
    spammers: 0.3,
  });
  const projectId = await seedLabeledProject(db, crowd, { overlap: 10, complete: true });
  // A live project's labels were paid as they came: what a re-aggregation meets is already in the ledger.
  if (paid)
    await db.query(
      `insert into points_ledger (device, reference, reason, points, state)
     select device, $2 || id, 'label', 1, 'pending' from labels where project_id = $1`,
      [projectId, labelReference('')],
    );
  return projectId;
}

/** Runs `work` with a 5 ms timer beside it: its wall time and the longest the timer waited past its due time. */
async function withStallWatch(work: () => Promise<unknown>): Promise<{ seconds: number; stallMs: number }> {
  let worst = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  const start = performance.now();
  try {
    await work();
  } finally {
    clearInterval(ticker);
  }
  return { seconds: (performance.now() - start) / 1000, stallMs: Math.max(worst, performance.now() - last - 5) };
}

/**
 * The anchor: what aggregation did on the main thread before it read in chunks, in one statement the whole
 * project's labels, then the loops over those rows that built the fit's columns.
 */
async function readWhole(db: Database, projectId: string): Promise<void> {
  const [project] = await db.query<{ label_schema: string }>('select label_schema from projects where id = $1', [
    projectId,
  ]);
  const rows = await db.query<LabelFitRow & { id: string; credited: boolean }>(
    `select l.id::text as id, l.device, l.item_id::text as item_id, l.value, l.is_gold, l.shown_left, i.gold_answer
       from labels l join project_items i on i.id = l.item_id where l.project_id = $1`,
    [projectId],
  );
  const references = rows.map((row) => labelReference(row.id));
  await db.query('select reference from points_ledger where reference = any($1::text[])', [references]);
  labelFitInput(labelSchemaSchema.parse(JSON.parse(project?.label_schema ?? '')), rows);
}

/**
 * How long a large project's re-aggregation holds the server's event loop (every request of the process waits
 * that long): the whole aggregation as it runs now (labels read in chunks, the fit in a thread), against the
 * anchor of reading the labels in one statement as it used to, before any fit. PostgreSQL with `DATABASE_URL`,
 * else PGlite; `GLEANER_BENCH_STALL_LABELS` labels (default 1,000,000), `BENCH_RUNS` runs (default 3).
 */
export async function benchAggregationStall(): Promise<string> {
  const labels = numberFromEnv('GLEANER_BENCH_STALL_LABELS', 1_000_000);
  const runs = numberFromEnv('BENCH_RUNS', 3);
  const { db, label, dispose } = await openBenchDatabase();
  try {
    const projectId = await seedProject(db, labels, true);
    // A project whose labels were never paid (a first aggregation after a bulk import), aggregated once below.
    const unpaid = await seedProject(db, labels, false);
    // Statistics as a live database has them (autovacuum), read once both projects are in.
    await db.query('analyze');
    const anchor: Array<{ seconds: number; stallMs: number }> = [];
    const chunked: Array<{ seconds: number; stallMs: number }> = [];
    for (let run = 0; run < runs; run += 1) {
      anchor.push(await withStallWatch(() => readWhole(db, projectId)));
      chunked.push(await withStallWatch(() => aggregateProject(db, projectId, { settleWindowMs: 0 })));
    }
    const first = await withStallWatch(() => aggregateProject(db, unpaid, { settleWindowMs: 0 }));
    // With a settle window of 0 every label the first aggregation paid is due at once.
    let settled = { verified: 0, rejected: 0 };
    const settling = await withStallWatch(async () => {
      settled = await settleLabels(db, unpaid);
    });
    if (settled.verified + settled.rejected !== labels) {
      throw new Error(`settlement settled ${settled.verified + settled.rejected} of ${labels} due labels`);
    }
    const figure = (measured: typeof chunked) =>
      `${median(measured.map((run) => run.seconds)).toFixed(1)} s, longest stall ${median(
        measured.map((run) => run.stallMs),
      ).toFixed(0)} ms (runs: ${measured.map((run) => run.stallMs.toFixed(0)).join(', ')})`;
    return [
      `label aggregation's hold on the event loop (${label}, one project of ${labels.toLocaleString('en')} labels: ${(
        labels / 10
      ).toLocaleString('en')} items × 10, 1,000 labelers, all already paid; median of ${runs} runs)`,
      `  anchor: the labels read in one statement and made columns   ${figure(anchor)}`,
      `  re-aggregation (read in chunks, fit in a thread, written)   ${figure(chunked)}`,
      `  first aggregation, every label unpaid (one run)            ${figure([first])}`,
      `  settling those labels, every one due at once (one run)     ${figure([settling])}`,
      '  longest stall: the most a 5 ms timer on the main thread ran late, i.e. how long every other request of the process waited',
    ].join('\n');
  } finally {
    await closeAggregationPool();
    await dispose();
  }
}
