import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { formatFigure, median, numberFromEnv } from './stats';

/**
 * Our streamed Parquet writer against DuckDB's `COPY ... TO (FORMAT parquet, COMPRESSION zstd)` on the same
 * synthetic pages (about 8 KB of text each), every measurement in its own child process so its peak RSS is
 * its own. Both sides read the same JSONL file, untimed to prepare: DuckDB with `read_json` (its fastest
 * path), ours line by line with `JSON.parse` in batches of 500, as rows would come from a database cursor.
 *
 * Env: GLEANER_BENCH_PAGES (rows in the head-to-head, default 100000 as issue 9 asks; the JSONL is about
 * 830 MB in the temp directory), GLEANER_BENCH_RUNS (default 3), GLEANER_BENCH_PARQUET_SCALES (rows for the
 * memory scaling, default "10000,100000"; add 1000000 for the 1M point, which takes 15 minutes or more).
 * The machine is shared: each line carries the 1-minute load average seen when its runs started.
 */

const run = promisify(execFile);
const child = fileURLToPath(new URL('./dataset-parquet-child.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../server/tsconfig.json', import.meta.url));

interface Measurement {
  rows: number;
  bytes: number;
  ms: number;
  maxRssMb: number;
  /** Size of parquet-wasm's memory at the end (its peak: it never shrinks); ours only. */
  wasmMb?: number;
  /** 1-minute load average when the child started. */
  load: number;
}

async function measure(...args: string[]): Promise<Measurement> {
  const load = loadavg()[0] as number;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
    maxBuffer: 1024 * 1024,
  });
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measurement), load };
}

/** Rows and uncompressed size of each row group, as DuckDB's `parquet_metadata` reports them. */
async function rowGroupsOf(path: string): Promise<Array<{ rows: number; uncompressedMb: number }>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT row_group_id, any_value(row_group_num_rows) AS n, sum(total_uncompressed_size) AS bytes
         FROM parquet_metadata('${path}') GROUP BY row_group_id ORDER BY row_group_id`,
    );
    return reader
      .getRowObjectsJS()
      .map((group) => ({ rows: Number(group.n), uncompressedMb: Number(group.bytes) / 1024 / 1024 }));
  } finally {
    connection.closeSync();
  }
}

/** "n groups, rows a-b, c-d MB uncompressed" (the last group is a remainder, so it is left out of the range). */
function describeRowGroups(groups: Array<{ rows: number; uncompressedMb: number }>): string {
  const full = groups.length > 1 ? groups.slice(0, -1) : groups;
  const range = (values: number[], digits = 0) =>
    `${formatFigure(Math.min(...values), digits)}-${formatFigure(Math.max(...values), digits)}`;
  return `${groups.length} row groups; full ones ${range(full.map((g) => g.rows))} rows, ${range(
    full.map((g) => g.uncompressedMb),
  )} MB uncompressed`;
}

const runsOf = (list: Measurement[]) =>
  list.map((m) => `${formatFigure((m.rows / m.ms) * 1000)}/${formatFigure(m.maxRssMb)}`).join(', ');

const loads = (list: Measurement[]) => `load ${list.map((m) => formatFigure(m.load, 1)).join('/')}`;

/** `npm run bench dataset-parquet`: rows/s and peak RSS of our writer vs DuckDB, and our RSS at growing sizes. */
export async function benchDatasetParquet(): Promise<string> {
  const pages = numberFromEnv('GLEANER_BENCH_PAGES', 100_000);
  const runs = numberFromEnv('GLEANER_BENCH_RUNS', 3);
  const scales = (process.env.GLEANER_BENCH_PARQUET_SCALES ?? '10000,100000')
    .split(',')
    .map(Number)
    .filter((value) => value > 0);
  const directory = await mkdtemp(join(tmpdir(), 'gleaner-bench-parquet-'));
  try {
    const jsonl = join(directory, 'pages.jsonl');
    const prepared = await measure('write-jsonl', String(pages), jsonl);
    const idle = await measure('idle');

    const ours: Measurement[] = [];
    const duckdb: Measurement[] = [];
    // DuckDB's default row group is 122,880 rows (about 1 GB of 8 KB pages), which is most of its memory: also
    // measure it cut into row groups of as many rows as ours, the like-for-like comparison.
    const duckdbMatched: Measurement[] = [];
    let oursGroupRows = 0;
    for (let attempt = 0; attempt < runs; attempt += 1) {
      // Alternate so drift on the shared machine hits all sides alike.
      ours.push(await measure('ours-jsonl', jsonl, join(directory, 'ours.parquet')));
      oursGroupRows ||= (await rowGroupsOf(join(directory, 'ours.parquet')))[0]?.rows ?? pages;
      duckdb.push(await measure('duckdb-jsonl', jsonl, join(directory, 'duckdb.parquet')));
      const matchedOut = join(directory, 'duckdb-matched.parquet');
      duckdbMatched.push(await measure('duckdb-jsonl', jsonl, matchedOut, String(oursGroupRows)));
    }
    for (const measurement of [...ours, ...duckdb, ...duckdbMatched]) {
      if (measurement.rows !== pages) throw new Error(`a writer wrote ${measurement.rows} rows, not ${pages}`);
    }
    const summary = (list: Measurement[]) => ({
      rowsPerSecond: median(list.map((m) => (m.rows / m.ms) * 1000)),
      maxRssMb: median(list.map((m) => m.maxRssMb)),
      mb: median(list.map((m) => m.bytes / 1024 / 1024)),
      wasmMb: median(list.map((m) => m.wasmMb ?? 0)),
    });
    const oursSummary = summary(ours);
    const duckdbSummary = summary(duckdb);
    const matchedSummary = summary(duckdbMatched);
    const oursGroups = describeRowGroups(await rowGroupsOf(join(directory, 'ours.parquet')));
    const duckdbGroups = describeRowGroups(await rowGroupsOf(join(directory, 'duckdb.parquet')));
    const matchedGroups = describeRowGroups(await rowGroupsOf(join(directory, 'duckdb-matched.parquet')));

    const scaling: Array<[number, Measurement, string]> = [];
    for (const rows of scales) {
      const out = join(directory, `scale-${rows}.parquet`);
      const measurement = await measure('ours-generated', String(rows), out);
      scaling.push([rows, measurement, describeRowGroups(await rowGroupsOf(out))]);
      await rm(out, { force: true });
    }

    const aboveIdle = (mb: number) => Math.max(mb - idle.maxRssMb, 1);
    const lines = [
      `dataset-parquet: ${formatFigure(pages)} synthetic pages (${formatFigure(prepared.bytes / pages / 1024, 1)} KB JSON each), median of ${runs} runs, each in its own process`,
      `writer                    rows/s     peak RSS MB   file MB`,
      `ours (parquet-wasm zstd)  ${formatFigure(oursSummary.rowsPerSecond).padStart(7)}  ${formatFigure(oursSummary.maxRssMb).padStart(12)}  ${formatFigure(oursSummary.mb, 1).padStart(8)}   ${loads(ours)}`,
      `DuckDB COPY zstd          ${formatFigure(duckdbSummary.rowsPerSecond).padStart(7)}  ${formatFigure(duckdbSummary.maxRssMb).padStart(12)}  ${formatFigure(duckdbSummary.mb, 1).padStart(8)}   ${loads(duckdb)}`,
      `DuckDB, ours' row groups  ${formatFigure(matchedSummary.rowsPerSecond).padStart(7)}  ${formatFigure(matchedSummary.maxRssMb).padStart(12)}  ${formatFigure(matchedSummary.mb, 1).padStart(8)}   ${loads(duckdbMatched)}`,
      `  each run (rows/s/MB): ours ${runsOf(ours)}; DuckDB ${runsOf(duckdb)}; DuckDB matched ${runsOf(duckdbMatched)}`,
      `  ours: ${oursGroups}; parquet-wasm memory ${formatFigure(oursSummary.wasmMb)} MB of its peak RSS`,
      `  DuckDB: ${duckdbGroups}`,
      `  DuckDB matched: ${matchedGroups}`,
      `ours/DuckDB: ${formatFigure(oursSummary.rowsPerSecond / duckdbSummary.rowsPerSecond, 2)}x rows/s (goal >= 0.5), ${formatFigure(oursSummary.maxRssMb / duckdbSummary.maxRssMb, 2)}x peak RSS (goal <= 0.33)`,
      `  above an idle child's ${formatFigure(idle.maxRssMb)} MB (Node + tsx): ${formatFigure(aboveIdle(oursSummary.maxRssMb) / aboveIdle(duckdbSummary.maxRssMb), 2)}x peak RSS`,
      `ours/DuckDB with ours' row groups: ${formatFigure(oursSummary.rowsPerSecond / matchedSummary.rowsPerSecond, 2)}x rows/s, ${formatFigure(oursSummary.maxRssMb / matchedSummary.maxRssMb, 2)}x peak RSS (${formatFigure(aboveIdle(oursSummary.maxRssMb) / aboveIdle(matchedSummary.maxRssMb), 2)}x above idle)`,
      `our peak RSS by size (rows generated in process, batches of 500):`,
      ...scaling.map(
        ([rows, m, groups]) =>
          `  ${formatFigure(rows).padStart(9)} rows  ${formatFigure(m.maxRssMb).padStart(5)} MB  ${formatFigure((m.rows / m.ms) * 1000).padStart(6)} rows/s  ${formatFigure(m.bytes / 1024 / 1024, 1)} MB file  load ${formatFigure(m.load, 1)}; WASM ${formatFigure(m.wasmMb ?? 0)} MB; ${groups}`,
      ),
    ];
    return lines.join('\n');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
