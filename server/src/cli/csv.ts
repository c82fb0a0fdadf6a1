const quote = 34;
const comma = 44;
const carriageReturn = 13;
const lineFeed = 10;
const space = 32;
const tab = 9;

/** An unfinished record this long is gathered chunk by chunk instead of being re-read with each one. */
const longRecord = 1 << 16;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/**
 * Where a scan of a record stands, by the reader's own rules: at a field's start, in an unquoted field, in a
 * quoted one, just after a quote inside one (closing, or half of ""), after a closing quote's trailing spaces,
 * or past a problem (the reader then skips to the next line break, quotes and all).
 */
enum Scan {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  AfterClosingQuote,
  ToLineEnd,
}

/**
 * Scans `bytes` from `state` for the line break that ends the record, as the reader will read it. A stray
 * quote inside an unquoted field is a problem the reader skips past; counting every quote instead took it
 * for an opening one, and the rest of the file was gathered in memory as one record.
 */
function scanRecord(bytes: Uint8Array, state: Scan): { state: Scan; lineBreak: boolean } {
  let at = state;
  for (let i = 0; i < bytes.length; i += 1) {
    const code = bytes[i];
    const lineBreak = code === lineFeed || code === carriageReturn;
    switch (at) {
      case Scan.Quoted:
        if (code === quote) at = Scan.QuoteInQuoted;
        continue;
      case Scan.QuoteInQuoted:
        if (code === quote) at = Scan.Quoted;
        else if (code === space || code === tab) at = Scan.AfterClosingQuote;
        else if (code === comma) at = Scan.FieldStart;
        else if (lineBreak) return { state: at, lineBreak: true };
        else at = Scan.ToLineEnd;
        continue;
      case Scan.ToLineEnd:
        if (lineBreak) return { state: at, lineBreak: true };
        continue;
      default:
        if (lineBreak) return { state: at, lineBreak: true };
        if (code === comma) at = Scan.FieldStart;
        else if (at === Scan.FieldStart && code === quote) at = Scan.Quoted;
        else if (code === quote) at = Scan.ToLineEnd;
        else if (at === Scan.AfterClosingQuote && code !== space && code !== tab) at = Scan.ToLineEnd;
        else if (at === Scan.FieldStart && code !== space && code !== tab) at = Scan.Unquoted;
    }
  }
  return { state: at, lineBreak: false };
}

/**
 * One record as the reader sees it, valid only during the callback: field `f` is `bytes[start[f], end[f])`.
 * The arrays are reused for every record, so nothing per line is kept unless the callback keeps it.
 */
export interface CsvRecordView {
  bytes: Uint8Array;
  /** The line the record starts on (1-based). */
  line: number;
  count: number;
  start: Int32Array;
  end: Int32Array;
  /** Why the record is malformed (its fields are then unreliable), or null. */
  problem: string | null;
}

/**
 * A byte-level CSV reader (RFC 4180) fed chunk by chunk: fields in double quotes may hold commas, line
 * breaks and "" for a quote; lines end in LF, CRLF or CR; blank lines are skipped; unquoted fields are
 * trimmed of spaces and tabs. Input must be UTF-8 (or ASCII-compatible): every byte it acts on is ASCII,
 * and UTF-8 never uses ASCII bytes inside a multi-byte character, so fields are cut without decoding.
 * A malformed record is handed over with its `problem` and reading goes on at the next line, so a caller
 * can list every bad line at once.
 */
export class CsvReader {
  private carry: Uint8Array | null = null;
  private pending: Uint8Array[] = [];
  private pendingState = Scan.FieldStart;
  private line = 1;
  private readonly view: CsvRecordView = {
    bytes: new Uint8Array(0),
    line: 0,
    count: 0,
    start: new Int32Array(8),
    end: new Int32Array(8),
    problem: null,
  };
  private escaped = new Uint8Array(8);

  constructor(private readonly onRecord: (record: CsvRecordView) => void) {}

  /** Reads every complete record in `chunk`; an unfinished last record waits for the next chunk. */
  push(chunk: Uint8Array): void {
    if (this.carry && this.carry.length >= longRecord) {
      // A record longer than a chunk (a long quoted field, or a quote never closed): re-reading it with each
      // chunk would be quadratic, so gather chunks until a line break outside quotes and read them once.
      if (this.pending.length === 0) this.pendingState = scanRecord(this.carry, Scan.FieldStart).state;
      const scan = scanRecord(chunk, this.pendingState);
      // Copied: the caller may reuse its buffer for the next chunk.
      this.pending.push(new Uint8Array(chunk));
      this.pendingState = scan.state;
      if (scan.lineBreak) this.readJoined(false);
      return;
    }
    let bytes = chunk;
    if (this.carry) bytes = concat([this.carry, chunk]);
    this.carry = null;
    const stop = this.readRecords(bytes, false);
    // Only the unfinished record is copied: a line or a quoted field, never the chunk. A copy, not slice():
    // on a Buffer, slice() is a view, and the caller reuses its buffer.
    if (stop < bytes.length) this.carry = new Uint8Array(bytes.subarray(stop));
  }

  /** Reads what is left at the end of input (a last line without a line break, or an unclosed quote). */
  end(): void {
    if (this.carry) this.readJoined(true);
  }

  private readJoined(final: boolean): void {
    const bytes = concat([this.carry ?? new Uint8Array(0), ...this.pending]);
    this.carry = null;
    this.pending = [];
    const stop = this.readRecords(bytes, final);
    if (stop < bytes.length) this.carry = new Uint8Array(bytes.subarray(stop));
  }

  /** Makes room for one more field in the reused arrays. */
  private addField(at: number, start: number, end: number, escaped: boolean): void {
    const view = this.view;
    if (at === view.start.length) {
      const grow = (old: Int32Array) => {
        const next = new Int32Array(old.length * 2);
        next.set(old);
        return next;
      };
      view.start = grow(view.start);
      view.end = grow(view.end);
      const flags = new Uint8Array(this.escaped.length * 2);
      flags.set(this.escaped);
      this.escaped = flags;
    }
    view.start[at] = start;
    view.end[at] = end;
    this.escaped[at] = escaped ? 1 : 0;
  }

  /** Turns "" into " inside the quoted fields that have one; the record is complete, so editing in place is safe. */
  private unescape(bytes: Uint8Array, count: number): void {
    const view = this.view;
    for (let f = 0; f < count; f += 1) {
      if (this.escaped[f] === 0) continue;
      const from = view.start[f] as number;
      const to = view.end[f] as number;
      let write = from;
      for (let read = from; read < to; read += 1) {
        bytes[write] = bytes[read] as number;
        write += 1;
        if (bytes[read] === quote) read += 1;
      }
      view.end[f] = write;
    }
  }

  /** Returns where the first unfinished record starts (bytes.length when there is none). */
  private readRecords(bytes: Uint8Array, final: boolean): number {
    const length = bytes.length;
    const view = this.view;
    view.bytes = bytes;
    let at = 0;
    while (at < length) {
      const recordStart = at;
      let line = this.line;
      let count = 0;
      let problem: string | null = null;
      let quoted = false;
      let complete = false;
      fields: for (;;) {
        while (at < length && (bytes[at] === space || bytes[at] === tab)) at += 1;
        if (at < length && bytes[at] === quote) {
          quoted = true;
          const quoteLine = line;
          at += 1;
          const start = at;
          let escaped = false;
          for (;;) {
            if (at >= length) {
              if (!final) return recordStart;
              problem = `a quoted field${quoteLine === this.line ? '' : ` opened on line ${quoteLine}`} is never closed (a " is missing).`;
              complete = true;
              break fields;
            }
            const code = bytes[at];
            if (code === quote) {
              // A quote as the chunk's last byte may be the first half of "": wait for the next byte.
              if (at + 1 >= length && !final) return recordStart;
              if (bytes[at + 1] === quote) {
                escaped = true;
                at += 2;
                continue;
              }
              break;
            }
            if (code === lineFeed || (code === carriageReturn && bytes[at + 1] !== lineFeed)) line += 1;
            at += 1;
          }
          this.addField(count, start, at, escaped);
          count += 1;
          at += 1;
          while (at < length && (bytes[at] === space || bytes[at] === tab)) at += 1;
          if (at < length && bytes[at] !== comma && bytes[at] !== lineFeed && bytes[at] !== carriageReturn) {
            problem = 'text after a closing quote; a quoted field must end at a comma or the end of the line.';
          }
        } else {
          const start = at;
          while (at < length) {
            const code = bytes[at];
            if (code === comma || code === lineFeed || code === carriageReturn) break;
            if (code === quote) {
              problem = 'a " inside an unquoted field; quote the whole field and double the " inside.';
              break;
            }
            at += 1;
          }
          let end = at;
          while (end > start && (bytes[end - 1] === space || bytes[end - 1] === tab)) end -= 1;
          this.addField(count, start, end, false);
          count += 1;
        }
        if (problem !== null) {
          // Resynchronize at the next line break, ignoring quotes, so one bad line costs one line.
          while (at < length && bytes[at] !== lineFeed && bytes[at] !== carriageReturn) at += 1;
        }
        if (at >= length) {
          if (!final) return recordStart;
          complete = true;
          break;
        }
        const code = bytes[at];
        if (code === comma) {
          at += 1;
          continue;
        }
        if (code === carriageReturn) {
          // A CR as the chunk's last byte may be half of a CRLF.
          if (at + 1 >= length && !final) return recordStart;
          at += bytes[at + 1] === lineFeed ? 2 : 1;
        } else {
          at += 1;
        }
        line += 1;
        complete = true;
        break;
      }
      if (!complete) return recordStart;
      const recordLine = this.line;
      this.line = line;
      const blank = !quoted && problem === null && count === 1 && view.start[0] === view.end[0];
      if (blank) continue;
      if (problem === null) this.unescape(bytes, count);
      view.line = recordLine;
      view.count = count;
      view.problem = problem;
      this.onRecord(view);
      if (problem !== null && at >= length) break;
    }
    return length;
  }
}

/** One CSV line (with its LF), quoting fields that hold a comma, a quote, a line break or edge spaces. */
export function formatCsvRow(fields: readonly string[]): string {
  return `${fields
    .map((field) => (/[",\r\n]|^\s|\s$/.test(field) ? `"${field.replaceAll('"', '""')}"` : field))
    .join(',')}\n`;
}
