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

/** Receives the reader's records: a class, so the per-row path touches fixed fields and one id array. */
class TableBuilder {
  positions: Int32Array | null = null;
  headerCount = 0;
  rows = 0;
  private capacity = 1 << 16;
  /** Row-major: row n's ids are ids[n·width … n·width + width). */
  ids: Int32Array;
  lines: Int32Array | null;
  readonly problems = new FileProblems();
  private readonly width: number;

  constructor(
    private readonly path: string,
    private readonly columns: readonly string[],
    private readonly interners: readonly ByteInterner[],
    keepLines: boolean,
  ) {
    this.width = columns.length;
    this.ids = new Int32Array(this.capacity * this.width);
    this.lines = keepLines ? new Int32Array(this.capacity) : null;
  }

  private readHeader(record: CsvRecordView): void {
    const names: string[] = [];
    for (let f = 0; f < record.count; f += 1) {
      names.push(decoder.decode(record.bytes.subarray(record.start[f], record.end[f])).toLowerCase());
    }
    const found = this.columns.map((column) => names.indexOf(column));
    if (record.problem !== null || found.includes(-1)) {
      throw new BaseError(
        'bad_request',
        `${this.path} line ${record.line}: the header must name the columns ${this.columns.join(',')} (found "${names.join(',')}").`,
      );
    }
    this.positions = Int32Array.from(found);
    this.headerCount = record.count;
  }

  onRecord(record: CsvRecordView): void {
    const positions = this.positions;
    if (positions === null) {
      this.readHeader(record);
      return;
    }
    if (record.problem !== null) {
      this.problems.add(record.problem, record.line);
      return;
    }
    if (record.count !== this.headerCount) {
      this.problems.add(`expected ${this.headerCount} fields like the header, found ${record.count}.`, record.line);
      return;
    }
    const { start, end, bytes } = record;
    const width = this.width;
    let empty = false;
    for (let c = 0; c < width; c += 1) {
      const f = positions[c] as number;
      if (start[f] === end[f]) {
        this.problems.add(`the ${this.columns[c]} is empty.`, record.line);
        empty = true;
      }
    }
    if (empty) return;
    if (this.rows === this.capacity) {
      this.capacity *= 2;
      this.ids = grow(this.ids, this.capacity * width);
      if (this.lines) this.lines = grow(this.lines, this.capacity);
    }
    const at = this.rows * width;
    for (let c = 0; c < width; c += 1) {
      const f = positions[c] as number;
      this.ids[at + c] = (this.interners[c] as ByteInterner).intern(bytes, start[f] as number, end[f] as number);
    }
    if (this.lines) this.lines[this.rows] = record.line;
    this.rows += 1;
  }
}

/**
 * Streams a CSV whose header names `columns` (any order, any case, extra columns ignored) into interned
 * ids, one Int32Array per column: nothing per line is kept but those integers. Every malformed row is
 * collected, and the file is refused with all of them listed once it has been read.
 */
export async function readTable(
  path: string,
  what: string,
  columns: readonly string[],
  interners: readonly ByteInterner[],
  options: { encoding?: string | undefined; keepLines?: boolean },
): Promise<TableColumns> {
  const declared = encodingOption(options.encoding);
  const table = new TableBuilder(path, columns, interners, options.keepLines ?? false);
  const reader = new CsvReader((record) => table.onRecord(record));
  const encoding = await readAsUtf8(path, what, declared, (chunk) => reader.push(chunk));
  reader.end();
  if (table.positions === null) {
    throw new BaseError('bad_request', `${path} is empty: it needs the header line "${columns.join(',')}".`);
  }
  table.problems.throwIfAny(path);
  // Split the row-major ids into one column each.
  const width = columns.length;
  const ids = columns.map((_, c) => {
    const column = new Int32Array(table.rows);
    for (let n = 0; n < table.rows; n += 1) column[n] = table.ids[n * width + c] as number;
    return column;
  });
  return { rows: table.rows, ids, lines: table.lines, encoding };
}
