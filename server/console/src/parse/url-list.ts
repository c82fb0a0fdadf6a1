import { parseCsv } from './csv';

/** A line of an upload the console could not use, and why. */
export interface LineProblem {
  line: number;
  message: string;
}

export interface UrlList {
  urls: string[];
  problems: LineProblem[];
}

/** URLs typed or pasted one per line; blank lines and `#` comments are skipped. The server vets each URL. */
export function urlsFromText(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const looksLikeUrl = (value: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim());

/**
 * URLs from a CSV file: the column headed `url` (any case) when there is one, else the first column. Without
 * a `url` header, a first row whose first cell is not a URL is taken for a header and skipped; rows with
 * no URL in the column are reported by line.
 */
export function urlsFromCsv(text: string): UrlList {
  const parsed = parseCsv(text);
  if (!parsed.ok) return { urls: [], problems: [{ line: parsed.line, message: parsed.message }] };
  const [first, ...rest] = parsed.records;
  if (!first) return { urls: [], problems: [] };
  const headerIndex = first.cells.findIndex((cell) => cell.trim().toLowerCase() === 'url');
  const column = Math.max(headerIndex, 0);
  const rows = headerIndex >= 0 || !looksLikeUrl(first.cells[0] ?? '') ? rest : parsed.records;
  const urls: string[] = [];
  const problems: LineProblem[] = [];
  for (const record of rows) {
    const value = record.cells[column]?.trim() ?? '';
    if (value === '') {
      problems.push({
        line: record.line,
        message: headerIndex >= 0 ? 'no value in the url column' : 'no value in the first column',
      });
    } else {
      urls.push(value);
    }
  }
  return { urls, problems };
}

/** Splits a list into consecutive batches of at most `size`. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
