import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dawidSkene } from '../aggregation/dawid-skene';
import { syntheticCrowd } from '../aggregation/synthetic-crowd';
import { parseCsv } from './csv';
import { runCli } from './run-cli';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gleaner-aggregate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['aggregate', ...args], {
    env: {},
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
  });
  return { code, out, err };
}

async function file(name: string, text: string) {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const crowd = syntheticCrowd({ seed: 21, items: 300, workers: 20, classes: 3, labelsPerItem: 5, spammers: 0.3 });
// CRLF line ends, a blank line and quoted fields, as a spreadsheet export might have them.
const answersCsv = `worker,task,label\r\n\r\n${crowd.labels
  .map((label, n) =>
    n % 7 === 0 ? `"${label.worker}",${label.item},"${label.label}"` : `${label.worker},${label.item},${label.label}`,
  )
  .join('\r\n')}\r\n`;
const goldCsv = `task,label\n${[...crowd.truth].map(([task, label]) => `${task},${label}`).join('\n')}\n`;

describe('gleaner aggregate', () => {
  it('writes task,label,confidence from the server’s Dawid-Skene and scores it and each worker on gold', async () => {
    const output = join(dir, 'ds.csv');
    const result = await cli([
      '--input',
      await file('answers.csv', answersCsv),
      '--method',
      'ds',
      '--gold',
      await file('gold.csv', goldCsv),
      '--output',
      output,
    ]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const [header, ...rows] = parseCsv(await readFile(output, 'utf8'), output);
    expect(header?.fields).toEqual(['task', 'label', 'confidence']);
    const library = dawidSkene(crowd.labels).items;
    expect(rows.map((row) => row.fields.slice(0, 2))).toEqual(library.map((item) => [item.item, item.label]));
    for (const [index, row] of rows.entries()) {
      expect(Number(row.fields[2])).toBeCloseTo(library[index]?.confidence ?? Number.NaN, 5);
    }
    expect(result.out).toMatch(
      /^Aggregated 300 tasks from 1500 answers with Dawid-Skene \(converged after \d+ iterations\)/,
    );
    const accuracy = Number(/Accuracy on gold: ([\d.]+) \((\d+) of 300 gold tasks right\)/.exec(result.out)?.[1]);
    expect(accuracy).toBeGreaterThan(0.9);
    expect(result.out).toContain('worker,gold_answered,gold_correct,accuracy,status\n');
    expect(result.out).toMatch(/\nw0,\d+,\d+,0\.\d+,(counting|below_threshold)\n/);
  });

  it('prints only CSV on stdout without --output, and the gold report on stderr', async () => {
    const result = await cli([
      '--input',
      await file('answers.csv', answersCsv),
      '--method',
      'mv',
      '--gold',
      await file('gold.csv', goldCsv),
    ]);
    expect(result.code).toBe(0);
    const records = parseCsv(result.out, 'stdout');
    expect(records).toHaveLength(301);
    expect(records.every((record) => record.fields.length === 3)).toBe(true);
    expect(result.err).toMatch(/^Accuracy on gold: /);
  });

  it('quotes labels that hold commas or quotes on the way out', async () => {
    const input = await file('quoted.csv', 'worker,task,label\nw1,t1,"yes, ""sure"""\nw2,t1,"yes, ""sure"""\n');
    const result = await cli(['--input', input, '--method', 'mv']);
    expect(result.out).toBe('task,label,confidence\nt1,"yes, ""sure""",1\n');
  });

  it('names the file and line of a bad row, exits 1 and writes nothing', async () => {
    const output = join(dir, 'never.csv');
    const input = await file('bad.csv', 'worker,task,label\nw1,t1,a\n\nw2,t1\n');
    const result = await cli(['--input', input, '--method', 'ds', '--output', output]);
    expect(result.code).toBe(1);
    expect(result.err).toBe(`Error: ${input} line 4: expected 3 fields like the header, found 2.\n`);
    expect(existsSync(output)).toBe(false);
  });

  it('names both lines when a worker answers a task twice, and an empty field', async () => {
    const twice = await cli([
      '--input',
      await file('twice.csv', 'worker,task,label\nw1,t1,a\nw2,t1,a\nw1,t1,b\n'),
      '--method',
      'mv',
    ]);
    expect(twice.err).toMatch(/twice\.csv line 4: worker "w1" already answered task "t1" on line 2\./);
    const empty = await cli(['--input', await file('empty.csv', 'worker,task,label\nw1,,a\n'), '--method', 'mv']);
    expect(empty.err).toMatch(/empty\.csv line 2: the task is empty\./);
  });

  it('explains a missing header, a missing file, a bad method and missing options', async () => {
    const noHeader = await cli(['--input', await file('noheader.csv', 'w1,t1,a\n'), '--method', 'mv']);
    expect(noHeader).toMatchObject({ code: 1 });
    expect(noHeader.err).toMatch(
      /noheader\.csv line 1: the header must name the columns worker,task,label \(found "w1,t1,a"\)/,
    );
    const missing = await cli(['--input', join(dir, 'nope.csv'), '--method', 'mv']);
    expect(missing.err).toMatch(/Cannot read the answers file .*nope\.csv: ENOENT/);
    const method = await cli(['--input', join(dir, 'answers.csv'), '--method', 'em']);
    expect(method.err).toMatch(/--method must be ds or mv, not "em"/);
    const noInput = await cli(['--method', 'ds']);
    expect(noInput).toMatchObject({ code: 1, err: expect.stringMatching(/aggregate needs --input FILE/) });
    const badGold = await cli([
      '--input',
      join(dir, 'answers.csv'),
      '--method',
      'mv',
      '--gold',
      await file('badgold.csv', 'task,label\nt1,"a\n'),
    ]);
    expect(badGold.err).toMatch(/badgold\.csv line 2: a quoted field is never closed/);
  });
});
