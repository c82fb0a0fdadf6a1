import { BaseError } from '@protocol/errors';
import { type ByteInterner, grow } from './byte-interner';
import { CsvReader, type CsvRecordView } from './csv';
import { encodingOption, readAsUtf8 } from './file-encoding';
import { FileProblems } from './file-problems';

export interface TableColumns {
  /** Rows read (every data line that had no problem). */
  rows: number;
  /** Per named column: each row's id in that column's interner. */
  ids: Int32Array[];
  /** Each row's line in the file, when asked for. */
  lines: Int32Array | null;
  /** How the file was decoded, for the summary ("UTF-8", "UTF-16LE (byte-order mark)"). */
  encoding: string;
}

const decoder = new TextDecoder();

/**
 * Streams a CSV whose header names `columns` (any order, any case, extra columns ignored) into one
 * growing Int32Array of interned ids per column: nothing per line is kept but those integers. Every
 * malformed row is collected, and the file is refused with all of them listed once it has been read.
 */
export async function readTable(
  path: string,
  what: string,
  columns: readonly string[],
  interners: readonly ByteInterner[],
  options: { encoding?: string | undefined; keepLines?: boolean },
): Promise<TableColumns> {
  const declared = encodingOption(options.encoding);
  const problems = new FileProblems();
  let positions: number[] | null = null;
  let headerCount = 0;
  let capacity = 1 << 16;
  let ids = columns.map(() => new Int32Array(capacity));
  let lines: Int32Array | null = options.keepLines ? new Int32Array(capacity) : null;
  let rows = 0;

  const readHeader = (record: CsvRecordView) => {
    const names: string[] = [];
    for (let f = 0; f < record.count; f += 1) {
      names.push(decoder.decode(record.bytes.subarray(record.start[f], record.end[f])).toLowerCase());
    }
    const found = columns.map((column) => names.indexOf(column));
    if (record.problem !== null || found.includes(-1)) {
      throw new BaseError(
        'bad_request',
        `${path} line ${record.line}: the header must name the columns ${columns.join(',')} (found "${names.join(',')}").`,
      );
    }
    positions = found;
    headerCount = record.count;
  };

  const reader = new CsvReader((record) => {
    if (positions === null) return readHeader(record);
    if (record.problem !== null) return problems.add(record.problem, record.line);
    if (record.count !== headerCount) {
      return problems.add(`expected ${headerCount} fields like the header, found ${record.count}.`, record.line);
    }
    let empty = false;
    for (let c = 0; c < columns.length; c += 1) {
      const f = positions[c] as number;
      if (record.start[f] === record.end[f]) {
        problems.add(`the ${columns[c]} is empty.`, record.line);
        empty = true;
      }
    }
    if (empty) return;
    if (rows === capacity) {
      capacity *= 2;
      ids = ids.map((column) => grow(column, capacity));
      if (lines) lines = grow(lines, capacity);
    }
    for (let c = 0; c < columns.length; c += 1) {
      const f = positions[c] as number;
      (ids[c] as Int32Array)[rows] = (interners[c] as ByteInterner).intern(
        record.bytes,
        record.start[f] as number,
        record.end[f] as number,
      );
    }
    if (lines) lines[rows] = record.line;
    rows += 1;
  });
  const encoding = await readAsUtf8(path, what, declared, (chunk) => reader.push(chunk));
  reader.end();
  if (positions === null) {
    throw new BaseError('bad_request', `${path} is empty: it needs the header line "${columns.join(',')}".`);
  }
  problems.throwIfAny(path);
  return { rows, ids, lines, encoding };
}
