import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { destroySink, endSink, writeToSink } from './sink-writes';
import { surtKey } from './surt';

/**
 * A CDXJ index of a WARC file, as pywb and warcio write them: one line per record,
 * `<SURT key> <14-digit timestamp> {"url":…,"mime":…,"status":…,"digest":…,"length":…,"offset":…,"filename":…}`,
 * sorted as bytes (so by key, then timestamp) for binary search. `offset` and `length` are the record's gzip
 * member in the WARC file; `status`, `length` and `offset` are strings and `digest` drops its `sha256:` label,
 * as warcio's own CDXJ indexer writes them.
 *
 * Records arrive in row order, so the writer sorts at close with bounded memory: lines are held until a
 * character budget, then sorted and spilled to a temporary run file; close merges the runs into the sink.
 */

/** What one CDXJ line says about one WARC record. */
export interface CdxjEntry {
  /** The record's WARC-Target-URI, as written in the record. */
  url: string;
  /** The record's WARC-Date (ISO 8601). */
  date: string;
  /** Media type of the record's block, without parameters. */
  mime: string;
  status: number;
  /** The record's payload digest without its algorithm label (hex sha256 here). */
  digest: string;
  /** Bytes of the record's gzip member in the WARC file. */
  length: number;
  /** Where the record's gzip member starts in the WARC file. */
  offset: number;
  /** The WARC file's name, as a replay tool should look it up. */
  filename: string;
}

/** `2026-11-28T12:00:00.123Z` → `20261128120000`, the CDX timestamp (UTC, to the second). */
export function cdxTimestamp(isoDate: string): string {
  const date = new Date(isoDate);
  if (Number.isNaN(date.getTime())) throw new Error(`not a date: ${JSON.stringify(isoDate)}`);
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** One CDXJ line, without its newline; pure ASCII (non-ASCII in the JSON is `\u` escaped) so it sorts as bytes do. */
export function cdxjLine(entry: CdxjEntry): string {
  const json = JSON.stringify({
    url: entry.url,
    mime: entry.mime,
    status: String(entry.status),
    digest: entry.digest,
    length: String(entry.length),
    offset: String(entry.offset),
    filename: entry.filename,
  }).replace(/[\u007f-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${surtKey(entry.url)} ${cdxTimestamp(entry.date)} ${json}`;
}

export interface CdxjWriter {
  /** Adds one record's line; may spill a sorted run to a temporary file. */
  add(entry: CdxjEntry): Promise<void>;
  /** Writes every line, sorted, to the sink and ends it; removes the temporary runs. */
  close(): Promise<{ lines: number; bytes: number }>;
  /** Gives up: destroys the sink with `reason` and removes the temporary runs. */
  discard(reason: unknown): Promise<void>;
}

/** About 16 M characters (32 MB of JS strings) of lines are held before a sorted run is spilled to disk. */
const defaultMemoryBudget = 16 * 1024 * 1024;
/** Sorted lines go to a sink in chunks of about this many characters. */
const chunkCharacters = 64 * 1024;

/** A CDXJ writer into `sink` that sorts with at most `memoryBudget` characters of lines in memory. */
export function createCdxjWriter(
  sink: Writable,
  options: { memoryBudget?: number; tempDirectory?: string } = {},
): CdxjWriter {
  const memoryBudget = options.memoryBudget ?? defaultMemoryBudget;
  let held: string[] = [];
  let heldCharacters = 0;
  let lines = 0;
  let runDirectory: string | null = null;
  const runs: string[] = [];

  const spill = async () => {
    runDirectory ??= await mkdtemp(join(options.tempDirectory ?? tmpdir(), 'gleaner-cdxj-'));
    const path = join(runDirectory, `run-${runs.length}.cdxj`);
    runs.push(path);
    const sorted = held.sort();
    held = [];
    heldCharacters = 0;
    await writeLines(createWriteStream(path), sorted);
  };

  return {
    async add(entry) {
      const line = cdxjLine(entry);
      held.push(line);
      heldCharacters += line.length;
      lines += 1;
      if (heldCharacters >= memoryBudget) await spill();
    },
    async close() {
      try {
        if (runs.length === 0) return { lines, bytes: await writeLines(sink, held.sort()) };
        if (held.length > 0) await spill();
        return { lines, bytes: await writeLines(sink, mergeRuns(runs)) };
      } finally {
        if (runDirectory) await rm(runDirectory, { recursive: true, force: true });
      }
    },
    async discard(reason) {
      held = [];
      destroySink(sink, reason);
      if (runDirectory) await rm(runDirectory, { recursive: true, force: true });
    },
  };
}

/** Writes lines, each ended by `\n`, in chunks; ends the sink; returns the bytes written (lines are ASCII). */
async function writeLines(sink: Writable, lines: Iterable<string> | AsyncIterable<string>): Promise<number> {
  let bytes = 0;
  let chunk = '';
  for await (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= chunkCharacters) {
      await writeToSink(sink, chunk);
      bytes += chunk.length;
      chunk = '';
    }
  }
  if (chunk) {
    await writeToSink(sink, chunk);
    bytes += chunk.length;
  }
  await endSink(sink);
  return bytes;
}

/** Merges sorted run files into one sorted sequence, reading each a line at a time. */
async function* mergeRuns(paths: readonly string[]): AsyncGenerator<string> {
  const readers = paths.map((path) =>
    createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator](),
  );
  try {
    const heads: (string | null)[] = await Promise.all(readers.map(nextLine));
    for (;;) {
      // A linear scan for the smallest head: runs are few (one per 16 M characters of index).
      let smallest = -1;
      for (let index = 0; index < heads.length; index += 1) {
        const head = heads[index];
        if (head == null) continue;
        const best = smallest >= 0 ? heads[smallest] : null;
        if (best == null || head < best) smallest = index;
      }
      if (smallest < 0) return;
      const reader = readers[smallest];
      const head = heads[smallest];
      if (reader === undefined || head == null) return;
      yield head;
      heads[smallest] = await nextLine(reader);
    }
  } finally {
    await Promise.all(readers.map((reader) => reader.return?.()));
  }
}

async function nextLine(reader: AsyncIterator<string>): Promise<string | null> {
  const next = await reader.next();
  return next.done ? null : next.value;
}
