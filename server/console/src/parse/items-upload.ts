import { type LabelSchema, type LabelValue, type ProjectItemInput, projectItemInputSchema } from '@protocol/labeling';
import type { z } from 'zod';
import { parseCsv } from './csv';
import type { LineProblem } from './url-list';

export interface ItemUpload {
  items: ProjectItemInput[];
  /** The file line each item came from, so the server's refusals (by index) can name lines too. */
  lines: number[];
  problems: LineProblem[];
}

export type ItemFileFormat = 'jsonl' | 'csv';

/** The format a file name says, JSONL unless it ends in `.csv`. */
export function formatOfFile(name: string): ItemFileFormat {
  return name.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
}

/**
 * Items from a JSONL or CSV upload, each checked against the project's wire format and its label schema,
 * so every bad line is named with why before anything is sent. With `requireGold` (the gold file) a line
 * without a known answer is a problem too.
 */
export function parseItemUpload(
  text: string,
  format: ItemFileFormat,
  labelSchema: LabelSchema,
  { requireGold = false } = {},
): ItemUpload {
  const upload: ItemUpload = { items: [], lines: [], problems: [] };
  const candidates =
    format === 'csv'
      ? candidatesFromCsv(text, labelSchema, upload.problems)
      : candidatesFromJsonl(text, upload.problems);
  for (const { line, value } of candidates) {
    const parsed = projectItemInputSchema.safeParse(value);
    if (!parsed.success) {
      upload.problems.push({ line, message: describeIssues(parsed.error.issues) });
      continue;
    }
    const item = parsed.data;
    const mismatch = item.gold ? goldMismatch(item.gold, labelSchema) : null;
    if (mismatch) upload.problems.push({ line, message: mismatch });
    else if (requireGold && !item.gold)
      upload.problems.push({ line, message: 'a gold item needs its known answer (gold)' });
    else {
      upload.items.push(item);
      upload.lines.push(line);
    }
  }
  upload.problems.sort((a, b) => a.line - b.line);
  return upload;
}

interface Candidate {
  line: number;
  value: unknown;
}

function candidatesFromJsonl(text: string, problems: LineProblem[]): Candidate[] {
  const candidates: Candidate[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    try {
      candidates.push({ line, value: JSON.parse(raw) });
    } catch (error) {
      problems.push({ line, message: `not JSON (${error instanceof Error ? error.message : String(error)})` });
    }
  });
  return candidates;
}

/**
 * CSV columns: `id`; the content as `text`, or `image_url` (and `caption`), or `prompt`, `answer_a`, `answer_b`;
 * and an optional `gold`: a choice for single choice, choices separated by `|` for multiple choice,
 * `a`, `b` or `tie` for pairwise, and JSON (`[{"start":0,"end":4,"label":"X"}]`) for spans.
 */
function candidatesFromCsv(text: string, labelSchema: LabelSchema, problems: LineProblem[]): Candidate[] {
  const parsed = parseCsv(text);
  if (!parsed.ok) {
    problems.push({ line: parsed.line, message: parsed.message });
    return [];
  }
  const [header, ...rows] = parsed.records;
  if (!header) return [];
  const names = header.cells.map((cell) => cell.trim().toLowerCase());
  if (!names.includes('id')) {
    problems.push({ line: header.line, message: 'the first row must name the columns, with an id column' });
    return [];
  }
  const candidates: Candidate[] = [];
  for (const row of rows) {
    const cell = (name: string) => {
      const index = names.indexOf(name);
      const value = index >= 0 ? row.cells[index] : undefined;
      return value === undefined || value === '' ? undefined : value;
    };
    const content = contentFromCells(cell);
    if (typeof content === 'string') {
      problems.push({ line: row.line, message: content });
      continue;
    }
    const goldCell = cell('gold');
    const gold = goldCell === undefined ? undefined : goldFromCell(goldCell.trim(), labelSchema);
    if (typeof gold === 'string') {
      problems.push({ line: row.line, message: gold });
      continue;
    }
    candidates.push({ line: row.line, value: { id: cell('id'), content, ...(gold ? { gold } : {}) } });
  }
  return candidates;
}

function contentFromCells(cell: (name: string) => string | undefined): unknown {
  const text = cell('text');
  if (text !== undefined) return { type: 'text', text };
  const imageUrl = cell('image_url');
  if (imageUrl !== undefined) {
    const caption = cell('caption');
    return { type: 'image', imageUrl, ...(caption === undefined ? {} : { caption }) };
  }
  const prompt = cell('prompt');
  if (prompt !== undefined) return { type: 'pairwise', prompt, answers: [cell('answer_a'), cell('answer_b')] };
  return 'no content: give a text, image_url or prompt (with answer_a and answer_b) column';
}

function goldFromCell(value: string, labelSchema: LabelSchema): LabelValue | string {
  switch (labelSchema.type) {
    case 'single_choice':
      return { type: 'single_choice', choice: value };
    case 'multi_choice':
      return {
        type: 'multi_choice',
        choices: value
          .split('|')
          .map((choice) => choice.trim())
          .filter(Boolean),
      };
    case 'pairwise':
      if (value === 'a' || value === 'b' || value === 'tie') return { type: 'pairwise', preferred: value };
      return `gold for a pairwise project is a, b or tie, not "${value}"`;
    case 'spans':
      try {
        return { type: 'spans', spans: JSON.parse(value) };
      } catch {
        return 'gold spans are JSON: [{"start":0,"end":4,"label":"…"}]';
      }
  }
}

/** Whether a gold answer fits the project's schema: the right kind, and only choices or labels it has. */
function goldMismatch(gold: LabelValue, labelSchema: LabelSchema): string | null {
  if (gold.type !== labelSchema.type)
    return `gold is a ${gold.type} answer but the project asks for ${labelSchema.type}`;
  const known = 'choices' in labelSchema ? labelSchema.choices : 'labels' in labelSchema ? labelSchema.labels : [];
  const given =
    gold.type === 'single_choice'
      ? [gold.choice]
      : gold.type === 'multi_choice'
        ? gold.choices
        : gold.type === 'spans'
          ? gold.spans.map((span) => span.label)
          : [];
  const unknown = given.filter((value) => !known.includes(value));
  if (unknown.length > 0)
    return `gold names ${unknown.map((value) => `"${value}"`).join(', ')}, not one of: ${known.join(', ')}`;
  if (gold.type === 'spans' && gold.spans.some((span) => span.end <= span.start))
    return 'a gold span ends before it starts';
  return null;
}

/** Zod issues as one line: where, then what. */
export function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
