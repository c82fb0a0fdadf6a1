import { BaseError } from '@protocol/errors';
import { type ByteInterner, grow } from './byte-interner';
import { CsvReader, type CsvRecordView } from './csv';
import { encodingOption, readAsUtf8 } from './file-encoding';

const encoder = new TextEncoder();

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

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const byteOrderMark = '\uFEFF';

/** Receives the reader's records: a class, so the per-row path touches fixed fields and one id array. */
class TableBuilder {
  positions: Int32Array | null = null;
  private headerNames: Uint8Array[] = [];
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

  private fieldText(record: CsvRecordView, f: number): string {
    return decoder.decode(record.bytes.subarray(record.start[f], record.end[f])).toLowerCase();
  }

  private readHeader(record: CsvRecordView): void {
    const names: string[] = [];
    for (let f = 0; f < record.count; f += 1) names.push(this.fieldText(record, f));
    // A second byte-order mark (a file that was given one twice) says nothing about the columns.
    if (names[0]?.startsWith(byteOrderMark)) names[0] = names[0].slice(1);
    const found = this.columns.map((column) => names.indexOf(column));
    // Only the start of a long first line: it is echoed to say what was found.
    // As a JSON string (a name with a line break prints as \n), and only its start: a long first line is echoed.
    const shown = JSON.stringify(names.join(',')).replaceAll(byteOrderMark, '\\ufeff');
    const seen = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
    if (record.problem !== null || found.includes(-1)) {
      throw new BaseError(
        'bad_request',
        `${this.path} line ${record.line}: the header must name the columns ${this.columns.join(',')} (found ${seen}).`,
      );
    }
    const twice = this.columns.find((column) => names.lastIndexOf(column) !== names.indexOf(column));
    if (twice !== undefined) {
      throw new BaseError(
        'bad_request',
        `${this.path} line ${record.line}: the header names the column ${twice} more than once (found ${seen}); which one holds the ${twice}s is not for this tool to guess.`,
      );
    }
    this.positions = Int32Array.from(found);
    this.headerNames = this.columns.map((column) => encoder.encode(column));
    this.headerCount = record.count;
  }

  /** Whether a row spells the header again (case aside): two files joined, the second's header kept. */
  private repeatsHeader(record: CsvRecordView, positions: Int32Array): boolean {
    for (let c = 0; c < this.width; c += 1) {
      const f = positions[c] as number;
      const length = (record.end[f] as number) - (record.start[f] as number);
      const name = this.headerNames[c] as Uint8Array;
      // A byte-order mark (3 bytes) may lead the joined file's header.
      if (length !== name.length && !(f === 0 && length === name.length + 3)) return false;
    }
    return this.columns.every(
      (column, c) => this.fieldText(record, positions[c] as number).replace(byteOrderMark, '') === column,
    );
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
      // One kind of problem whatever the count found, so a file with many widths still lists every line.
      this.problems.add(`the row does not have the header's ${this.headerCount} fields.`, record.line);
      return;
    }
    if (this.repeatsHeader(record, positions)) {
      this.problems.add('the header line again: two files joined into one? Keep the first header only.', record.line);
      return;
    }
    const { start, end, bytes } = record;
    const width = this.width;
    let bad = false;
    for (let c = 0; c < width; c += 1) {
      const f = positions[c] as number;
      const at = start[f] as number;
      if (at === end[f]) {
        this.problems.add(`the ${this.columns[c]} is empty.`, record.line);
        bad = true;
      } else if (bytes[at] === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf) {
        // U+FEFF is invisible: an id starting with it prints like the id without it, yet is another.
        this.problems.add(
          `the ${this.columns[c]} starts with a byte-order mark (U+FEFF), the mark of a file joined in; remove it.`,
          record.line,
        );
        bad = true;
      }
    }
    if (bad) return;
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
