import { BaseError } from '@protocol/errors';

export interface CsvRecord {
  /** The line the record starts on (1-based), for error messages. */
  line: number;
  fields: string[];
}

const quote = 34;
const comma = 44;
const carriageReturn = 13;
const lineFeed = 10;
const space = 32;
const tab = 9;

/**
 * Parses CSV (RFC 4180): fields in double quotes may hold commas, line breaks and "" for a quote;
 * lines end in LF or CRLF; blank lines and a byte-order mark are skipped; unquoted fields are trimmed.
 * Malformed text throws an error naming `source` and the line.
 */
export function parseCsv(text: string, source: string): CsvRecord[] {
  const fail = (line: number, problem: string) => {
    throw new BaseError('bad_request', `${source} line ${line}: ${problem}`);
  };
  const records: CsvRecord[] = [];
  const length = text.length;
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (at < length) {
    const recordLine = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      let start = at;
      while (at < length && (text.charCodeAt(at) === space || text.charCodeAt(at) === tab)) at += 1;
      if (text.charCodeAt(at) === quote) {
        quoted = true;
        const quoteLine = line;
        at += 1;
        let value = '';
        start = at;
        for (;;) {
          if (at >= length) fail(quoteLine, 'a quoted field is never closed (a " is missing).');
          const code = text.charCodeAt(at);
          if (code === quote) {
            value += text.slice(start, at);
            if (text.charCodeAt(at + 1) === quote) {
              value += '"';
              at += 2;
              start = at;
              continue;
            }
            at += 1;
            break;
          }
          if (code === lineFeed) line += 1;
          at += 1;
        }
        while (at < length && (text.charCodeAt(at) === space || text.charCodeAt(at) === tab)) at += 1;
        fields.push(value);
      } else {
        at = start;
        for (; at < length; at += 1) {
          const code = text.charCodeAt(at);
          if (code === comma || code === carriageReturn || code === lineFeed) break;
          if (code === quote)
            fail(line, 'a " inside an unquoted field; quote the whole field and double the " inside.');
        }
        fields.push(text.slice(start, at).trim());
      }
      if (at >= length) break;
      const code = text.charCodeAt(at);
      if (code === comma) {
        at += 1;
        continue;
      }
      if (code === carriageReturn || code === lineFeed) {
        at += code === carriageReturn && text.charCodeAt(at + 1) === lineFeed ? 2 : 1;
        line += 1;
        break;
      }
      fail(line, 'text after a closing quote; a quoted field must end at a comma or the end of the line.');
    }
    const blank = !quoted && fields.length === 1 && fields[0] === '';
    if (!blank) records.push({ line: recordLine, fields });
  }
  return records;
}

/** One CSV line (with its LF), quoting fields that hold a comma, a quote, a line break or edge spaces. */
export function formatCsvRow(fields: readonly string[]): string {
  return `${fields
    .map((field) => (/[",\r\n]|^\s|\s$/.test(field) ? `"${field.replaceAll('"', '""')}"` : field))
    .join(',')}\n`;
}
