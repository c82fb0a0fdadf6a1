import { BaseError } from '@protocol/errors';

/** Lines printed per kind of problem, and kinds printed; the rest are counted. */
const shownLines = 12;
const shownKinds = 20;

/** Every problem found in a file, grouped by what is wrong, each with the lines it is on. */
export class FileProblems {
  private readonly byMessage = new Map<string, { lines: number[]; count: number }>();
  private total = 0;

  add(message: string, line: number): void {
    let entry = this.byMessage.get(message);
    if (!entry) {
      entry = { lines: [], count: 0 };
      this.byMessage.set(message, entry);
    }
    // Only the first lines are kept: a file that is wrong on every line must not cost a number per line.
    if (entry.lines.length < shownLines) entry.lines.push(line);
    entry.count += 1;
    this.total += 1;
  }

  /** Refuses the file with every kind of problem and its lines ("line 4, 9, 17: the label is empty"). */
  throwIfAny(path: string): void {
    if (this.total === 0) return;
    const kinds = [...this.byMessage];
    const lines = kinds.slice(0, shownKinds).map(([message, { lines, count }]) => {
      const more = count > lines.length ? ` and ${count - lines.length} more` : '';
      return `  line ${lines.join(', ')}${more}: ${message}`;
    });
    let hidden = 0;
    for (const [, { count }] of kinds.slice(shownKinds)) hidden += count;
    if (hidden > 0) lines.push(`  and ${hidden} more problems of ${kinds.length - shownKinds} other kinds`);
    throw new BaseError(
      'bad_request',
      `${path} has ${this.total} ${this.total === 1 ? 'problem' : 'problems'}; nothing was aggregated:\n${lines.join('\n')}`,
    );
  }
}
