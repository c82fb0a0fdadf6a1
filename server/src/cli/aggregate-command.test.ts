import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateEncoded } from '../aggregation/aggregate';
import { encodeLabels } from '../aggregation/encode-labels';
import { syntheticCrowd } from '../aggregation/synthetic-crowd';
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

async function file(name: string, content: string | Uint8Array) {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Output rows as [task, label, confidence, tied] (the tests' labels need no quoting). */
const rowsOf = (csv: string) =>
  csv
    .trim()
    .split('\n')
    .map((line) => line.split(','));

const crowd = syntheticCrowd({ seed: 21, items: 300, workers: 20, classes: 3, labelsPerItem: 5, spammers: 0.3 });
// Another column order, an extra column, CRLF line ends, a blank line and quoted fields, as exports have them.
const answersCsv = `Task,source,Label,Worker\r\n\r\n${crowd.labels
  .map((label, n) =>
    n % 7 === 0
      ? `"${label.item}",web,"${label.label}","${label.worker}"`
      : `${label.item},web,${label.label},${label.worker}`,
  )
  .join('\r\n')}\r\n`;
const goldCsv = `task,label\n${[...crowd.truth].map(([task, label]) => `${task},${label}`).join('\n')}\n`;

describe('gleaner aggregate', () => {
  it('writes task,label,confidence,tied from the library’s own result, and scores it and each worker on gold', async () => {
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
    expect(result).toMatchObject({ code: 0, out: '' });
    const [header, ...rows] = rowsOf(await readFile(output, 'utf8'));
    expect(header).toEqual(['task', 'label', 'confidence', 'tied']);
    const encoded = encodeLabels(crowd.labels);
    const library = aggregateEncoded(encoded, { method: 'ds' });
    expect(rows.map((row) => row.slice(0, 2))).toEqual(
      encoded.items.map((item, i) => [item, encoded.classes[library.label[i] as number]]),
    );
    for (const [i, row] of rows.entries()) {
      expect(Number(row[2])).toBeCloseTo(library.confidence[i] as number, 5);
      expect(Number(row[3])).toBe(library.tied[i]);
    }
    expect(result.err).toMatch(
      /^Aggregated 300 tasks from 1500 answers \(20 workers, 3 classes\) with Dawid-Skene \(ds: smoothing [\d.]+, diagonal [\d.]+, pooled [\d.]+\), as named; (converged|stopped) after \d+ iterations; wrote .*ds\.csv\.\nRead as UTF-8\. No worker answered a task twice\.\n/,
    );
    const accuracy = Number(
      /Accuracy on gold: ([\d.]+), expected accuracy [\d.]+ \(\d+ of 300 gold tasks right\)/.exec(result.err)?.[1],
    );
    expect(accuracy).toBeGreaterThan(0.9);
    expect(result.err).toContain('worker,gold_answered,gold_correct,accuracy,status\n');
    expect(result.err).toMatch(/\nw0,\d+,\d+,0\.\d+,(counting|below_threshold)\n/);
  });

  it('picks the method itself by default and says which, with its priors; stdout is only the CSV', async () => {
    const result = await cli(['--input', await file('answers.csv', answersCsv)]);
    expect(result.code).toBe(0);
    const rows = rowsOf(result.out);
    expect(rows).toHaveLength(301);
    expect(rows.every((row) => row.length === 4)).toBe(true);
    expect(result.err).toMatch(
      /^Aggregated 300 tasks .* with .* \((mv|wawa|ds|onecoin|mace)\b.*\), chosen among \d+ candidates by the likelihood of held-out answers;/,
    );
  });

  it('keeps a worker’s latest answer to a task and counts the repeats, exact and changed', async () => {
    // w1 says b, then a, then a again on t1; w2 repeats c on t2 exactly; w3 changes its mind on t2;
    // w4 goes x, y, back to x on t3: its last x repeats a label it gave before.
    const input = await file(
      'repeats.csv',
      'worker,task,label\nw1,t1,b\nw2,t1,a\nw1,t1,a\nw2,t2,c\nw3,t2,d\nw2,t2,c\nw1,t1,a\nw3,t2,c\nw4,t3,x\nw4,t3,y\nw4,t3,x\n',
    );
    const result = await cli(['--input', input, '--method', 'mv']);
    expect(result.code).toBe(0);
    // t1: w1's latest (a) and w2 (a) agree; t2: w2 c and w3's latest c agree; t3: w4's latest.
    expect(rowsOf(result.out).map((row) => [row[0], row[1], row[3]])).toEqual([
      ['task', 'label', 'tied'],
      ['t1', 'a', '1'],
      ['t2', 'c', '1'],
      ['t3', 'x', '1'],
    ]);
    // b, d and y were only ever replaced: they are no class of what was aggregated.
    expect(result.err).toContain('Aggregated 3 tasks from 11 answers (4 workers, 3 classes)');
    expect(result.err).toContain(
      "6 repeated answers (a worker answering a task again) were replaced by that worker's latest: 3 repeated a label the worker had given that task before, 3 gave a new one.",
    );
  });

  it('flags ties with how many classes share the top, and gives them 1/k in expected accuracy', async () => {
    const input = await file('ties.csv', 'worker,task,label\nw1,t1,x\nw2,t1,y\nw1,t2,x\nw2,t2,x\n');
    const gold = await file('ties-gold.csv', 'task,label\nt1,y\nt2,x\n');
    const result = await cli(['--input', input, '--method', 'mv', '--gold', gold]);
    const rows = rowsOf(result.out);
    expect(rows.map((row) => [row[0], row[3]])).toEqual([
      ['task', 'tied'],
      ['t1', '2'],
      ['t2', '1'],
    ]);
    expect(Number(rows[1]?.[2])).toBeCloseTo(0.5, 6);
    // t1 tied 2 ways with the truth among them: half a point, whichever label the tie rule printed.
    expect(result.err).toMatch(/Accuracy on gold: (0\.5|1), expected accuracy 0\.75 \(\d of 2 gold tasks right\)/);
  });

  it('refuses a file with bad rows, listing every bad line by problem, and writes nothing', async () => {
    const output = join(dir, 'never.csv');
    const rows = ['worker,task,label', 'w1,t1,a', 'w2,t1,', 'w3,t1', 'w4,t2,b', ',t2,b', 'w5,t3,', 'w6,"t"3,a'];
    const input = await file('bad.csv', `${rows.join('\n')}\n`);
    const result = await cli(['--input', input, '--method', 'ds', '--output', output]);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `Error: ${input} has 5 problems; nothing was aggregated:\n` +
        '  line 3, 7: the label is empty.\n' +
        "  line 4: the row does not have the header's 3 fields.\n" +
        '  line 6: the worker is empty.\n' +
        '  line 8: text after a closing quote; a quoted field must end at a comma or the end of the line.\n',
    );
    expect(existsSync(output)).toBe(false);
  });

  it('caps the lines it prints per problem and counts the rest', async () => {
    const rows = Array.from({ length: 40 }, (_, n) => `w${n},t${n},`);
    const result = await cli(['--input', await file('empty-labels.csv', `worker,task,label\n${rows.join('\n')}\n`)]);
    expect(result.err).toContain(
      'has 40 problems; nothing was aggregated:\n  line 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 28 more: the label is empty.\n',
    );
  });

  it('refuses a gold file that gives one task two labels, naming both lines', async () => {
    const result = await cli([
      '--input',
      await file('small.csv', 'worker,task,label\nw1,t1,a\n'),
      '--gold',
      await file('two-gold.csv', 'task,label\nt1,a\nt2,b\nt1,a\nt1,b\n'),
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /two-gold\.csv has 1 problem; nothing was aggregated:\n {2}line 5: task "t1" already has the gold label "a" on line 2\./,
    );
  });

  describe('encodings', () => {
    // Latin-1 bytes: é is 0xE9, è is 0xE8; two different labels.
    const latin1 = Buffer.from(
      'worker,task,label\nw1,t1,caf\xe9\nw2,t1,caf\xe9\nw1,t2,caf\xe8\nw2,t2,caf\xe8\n',
      'latin1',
    );

    it('refuses Latin-1 without --encoding, naming the encoding and the line, rather than merge café and cafè', async () => {
      const result = await cli(['--input', await file('latin1.csv', latin1), '--method', 'mv']);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(
        /latin1\.csv is not UTF-8 \(looks like Latin-1\/Windows-1252 at line 2: the byte 0xE9 would be "é"\); re-run with --encoding latin1/,
      );
      expect(result.out).toBe('');
    });

    it('names UTF-32 and UTF-16 without a mark for what they are, even with CJK labels', async () => {
      const text = 'worker,task,label\nw1,t1,一\nw2,t1,一\n';
      const asUtf32 = (littleEndian: boolean, mark: boolean) => {
        const points = [...(mark ? '\uFEFF' : ''), ...text].map((char) => char.codePointAt(0) as number);
        const bytes = Buffer.alloc(points.length * 4);
        points.forEach((point, i) => {
          if (littleEndian) bytes.writeUInt32LE(point, i * 4);
          else bytes.writeUInt32BE(point, i * 4);
        });
        return bytes;
      };
      for (const [name, bytes] of [
        ['utf32le-mark.csv', asUtf32(true, true)],
        ['utf32be.csv', asUtf32(false, false)],
      ] as const) {
        const result = await cli(['--input', await file(name, bytes), '--method', 'mv']);
        expect(result.err, name).toMatch(/looks like UTF-32, which this does not read: convert it to UTF-8 first/);
      }
      const utf16 = await cli([
        '--input',
        await file('utf16le-cjk.csv', Buffer.from(text, 'utf16le')),
        '--method',
        'mv',
      ]);
      expect(utf16.err).toMatch(/it looks like UTF-16LE without a byte-order mark; re-run with --encoding utf16le/);
    });

    it('names the line of a bad byte whatever the line ends: CR alone, CRLF or LF', async () => {
      for (const end of ['\r', '\r\n', '\n']) {
        const text = ['worker,task,label', 'w1,t1,a', 'w2,t1,a', 'w3,t2,caf\xe9', 'w4,t2,b'].join(end);
        const result = await cli([
          '--input',
          await file('line-ends.csv', Buffer.from(text, 'latin1')),
          '--method',
          'mv',
        ]);
        expect(result.err, JSON.stringify(end)).toMatch(/looks like Latin-1\/Windows-1252 at line 4:/);
      }
    });

    it('decodes Latin-1 with --encoding latin1 and keeps café and cafè two classes', async () => {
      const result = await cli(['--input', await file('latin1.csv', latin1), '--method', 'mv', '--encoding', 'latin1']);
      expect(result.code).toBe(0);
      expect(rowsOf(result.out).map((row) => row.slice(0, 2))).toEqual([
        ['task', 'label'],
        ['t1', 'café'],
        ['t2', 'cafè'],
      ]);
      expect(result.err).toContain('(2 workers, 2 classes)');
      expect(result.err).toContain('Read as Latin-1/Windows-1252 (--encoding).');
    });

    it('reads Windows-1252’s 0x80–0x9F as the standard says: €, curly quotes, and unused bytes kept apart', async () => {
      const bytes = Buffer.concat([
        Buffer.from('worker,task,label\nw1,t1,'),
        Buffer.from([0x80, 0x31, 0x30]),
        Buffer.from('\nw2,t1,'),
        Buffer.from([0x80, 0x31, 0x30]),
        Buffer.from('\nw1,t2,'),
        Buffer.from([0x93, 0x71, 0x94]),
        Buffer.from('\nw2,t2,'),
        Buffer.from([0x93, 0x71, 0x94]),
        // 0x81 and 0x8D name no character: two different labels still, not one replacement character.
        Buffer.from('\nw1,t3,'),
        Buffer.from([0x81]),
        Buffer.from('\nw2,t3,'),
        Buffer.from([0x8d]),
        Buffer.from('\n'),
      ]);
      const input = await file('cp1252.csv', bytes);
      const result = await cli(['--input', input, '--method', 'mv', '--encoding', 'windows-1252']);
      expect(rowsOf(result.out).map((row) => row.slice(0, 2))).toEqual([
        ['task', 'label'],
        ['t1', '€10'],
        ['t2', '“q”'],
        ['t3', expect.stringMatching(/^[\u0081\u008d]$/)],
      ]);
      expect(result.err).toContain('(2 workers, 4 classes)');
      // Without --encoding, the refusal shows the byte as the character it would be.
      const refused = await cli(['--input', input, '--method', 'mv']);
      expect(refused.err).toContain('at line 2: the byte 0x80 would be "€"');
    });

    const text = 'worker,task,label\nw1,t1,café\nw2,t1,café\nw1,t2,cafè\nw2,t2,cafè\n';
    const utf16be = (value: string) => Buffer.from(value, 'utf16le').swap16();

    it('reads UTF-16 with a byte-order mark (LE and BE) as the same answers as UTF-8', async () => {
      const expected = await cli(['--input', await file('utf8.csv', text), '--method', 'mv']);
      const le = await cli([
        '--input',
        await file('le.csv', Buffer.from(`\ufeff${text}`, 'utf16le')),
        '--method',
        'mv',
      ]);
      const be = await cli(['--input', await file('be.csv', utf16be(`\ufeff${text}`)), '--method', 'mv']);
      expect(le.out).toBe(expected.out);
      expect(be.out).toBe(expected.out);
      expect(le.err).toContain('Read as UTF-16LE (byte-order mark).');
      expect(be.err).toContain('Read as UTF-16BE (byte-order mark).');
    });

    it('refuses UTF-16 without a byte-order mark with the encoding it looks like, and reads it when declared', async () => {
      const input = await file('le-nomark.csv', Buffer.from(text, 'utf16le'));
      const refused = await cli(['--input', input, '--method', 'mv']);
      expect(refused.err).toMatch(
        /le-nomark\.csv is not UTF-8: it looks like UTF-16LE without a byte-order mark; re-run with --encoding utf16le\./,
      );
      const declared = await cli(['--input', input, '--method', 'mv', '--encoding', 'utf16le']);
      expect(rowsOf(declared.out)[1]?.slice(0, 2)).toEqual(['t1', 'café']);
    });

    it('names the line and byte where a UTF-16 file breaks, past the first read buffer too', async () => {
      // 300,000 rows (about 4.8 MB) before the bad one: the decoder refuses a chunk far past the first.
      const rows = `worker,task,label\n${'w1,t1,a\r\n'.repeat(300_000)}`;
      const before = Buffer.from(`\ufeff${rows}w2,t2,`, 'utf16le');
      const loneHigh = Buffer.from([0x3d, 0xd8]);
      const broken = Buffer.concat([before, loneHigh, Buffer.from('x\nw3,t3,b\n', 'utf16le')]);
      const result = await cli(['--input', await file('broken-le.csv', broken), '--method', 'mv']);
      expect(result.code).not.toBe(0);
      expect(result.err).toContain(
        `broken-le.csv is not valid UTF-16LE at line 300002: an unpaired surrogate 0xD83D at byte ${before.length};`,
      );
      // A UTF-16 file cut short by one byte: the last line is named, and the reason.
      const cut = Buffer.concat([utf16be(`\ufeff${text}`), Buffer.from([0x00])]);
      const short = await cli(['--input', await file('cut-be.csv', cut), '--method', 'mv']);
      expect(short.err).toContain(
        `cut-be.csv is not valid UTF-16BE at line 6: a lone byte at the end of the file (UTF-16 needs byte pairs) at byte ${cut.length - 1};`,
      );
    });

    it('reads a UTF-8 character cut in two by the read buffer’s edge', async () => {
      // The file is read 1 MiB at a time: put a 2-byte é across that edge.
      const header = 'worker,task,label\n';
      const filler = 'x'.repeat((1 << 20) - header.length - 'w1,t1,caf'.length - 2);
      // More than a buffer after it, so a tail kept as a view of the buffer would be overwritten.
      const content = `${header}w0,t0,${filler.slice(6)}\nw1,t1,café\n${'w2,t2,x\n'.repeat(150_000)}`;
      const bytes = Buffer.from(content);
      expect(bytes.indexOf('é')).toBe((1 << 20) - 1);
      const result = await cli(['--input', await file('edge.csv', bytes), '--method', 'mv']);
      expect(result.code).toBe(0);
      expect(rowsOf(result.out)[2]?.slice(0, 2)).toEqual(['t1', 'café']);
    });

    it('refuses a byte-order mark that contradicts --encoding, and an unknown encoding', async () => {
      const bom = await cli([
        '--input',
        await file('le.csv', Buffer.from(`\ufeff${text}`, 'utf16le')),
        '--encoding',
        'latin1',
      ]);
      expect(bom.err).toMatch(/starts with a UTF-16LE byte-order mark, but --encoding says Latin-1\/Windows-1252/);
      const unknown = await cli(['--input', await file('utf8.csv', text), '--encoding', 'ebcdic']);
      expect(unknown.err).toMatch(/--encoding must be utf8, utf16le, utf16be or latin1 \(windows-1252\), not "ebcdic"/);
    });
  });

  it('refuses a second header line (two exports joined), with or without its byte-order mark', async () => {
    const joined = await file(
      'joined.csv',
      'worker,task,label\nw1,t1,a\nw2,t1,a\n\uFEFFWorker,Task,Label\nw3,t1,b\nworker,task,label\nw4,t2,b\n',
    );
    const result = await cli(['--input', joined, '--method', 'mv']);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      '  line 4, 6: the header line again: two files joined into one? Keep the first header only.\n',
    );
  });

  it('refuses ids that start with an invisible byte-order mark, which print like another id', async () => {
    const result = await cli([
      '--input',
      await file('bom-id.csv', 'worker,task,label\nw1,t1,a\nw2,\uFEFFt1,b\nw3,t1,\uFEFFa\n'),
      '--method',
      'mv',
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      '  line 3: the task starts with a byte-order mark (U+FEFF), the mark of a file joined in; remove it.\n',
    );
    expect(result.err).toContain(
      '  line 4: the label starts with a byte-order mark (U+FEFF), the mark of a file joined in; remove it.\n',
    );
  });

  it('prints names from the file as quoted strings, so one holding a line break cannot forge a line of the report', async () => {
    const result = await cli([
      '--input',
      await file('forge-answers.csv', 'worker,task,label\nw1,t1,a\n'),
      '--gold',
      await file('forge-gold.csv', 'task,label\n"t1\n  line 9: all fine",a\n"t1\n  line 9: all fine",b\n'),
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('task "t1\\n  line 9: all fine" already has the gold label "a" on line 2.');
    expect(result.err.split('\n').filter((line) => line.startsWith('  line 9'))).toEqual([]);
  });

  it('reads a file given its byte-order mark twice, and shows an invisible mark in a refused header', async () => {
    const twice = await cli([
      '--input',
      await file('two-marks.csv', '\uFEFF\uFEFFworker,task,label\nw1,t1,a\nw2,t1,a\n'),
      '--method',
      'mv',
    ]);
    expect(twice.code).toBe(0);
    const hidden = await cli(['--input', await file('marked-header.csv', 'worker,\uFEFFtask,label\nw1,t1,a\n')]);
    expect(hidden.err).toContain('(found "worker,\\ufefftask,label")');
  });

  it('does not take a zeroed tail for UTF-32', async () => {
    const bytes = Buffer.concat([Buffer.from('worker,task,label\nw1,t1,a\n'), Buffer.alloc(600)]);
    const result = await cli(['--input', await file('zero-tail.csv', bytes), '--method', 'mv']);
    expect(result.err).not.toContain('UTF-32');
  });

  it('refuses a header that names a column twice, in any case', async () => {
    const result = await cli([
      '--input',
      await file('two-labels.csv', 'worker,task,Label,label\nw1,t1,a,b\n'),
      '--method',
      'mv',
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/line 1: the header names the column label more than once/);
  });

  it('lists every line of rows of many widths under one problem, hiding none', async () => {
    const rows = Array.from({ length: 24 }, (_, n) => `w${n},t${n},a${',x'.repeat(n + 1)}`);
    const result = await cli([
      '--input',
      await file('widths.csv', `worker,task,label\n${rows.join('\n')}\nw9,"t"9,a\n`),
      '--method',
      'mv',
    ]);
    expect(result.err).toContain(
      "line 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 12 more: the row does not have the header's 3 fields.",
    );
    expect(result.err).toContain('line 26: text after a closing quote');
    expect(result.err).not.toContain('other kinds');
  });

  it('never writes its results over an input file, and writes them in place', async () => {
    const input = await file('keep-me.csv', 'worker,task,label\nw1,t1,a\nw2,t1,a\n');
    const gold = await file('keep-gold.csv', 'task,label\nt1,a\n');
    const before = await readFile(input, 'utf8');
    for (const output of [input, join(dir, '.', 'keep-me.csv'), gold]) {
      const result = await cli(['--input', input, '--gold', gold, '--method', 'mv', '--output', output]);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/--output .* is the input file .*: writing the results there would replace/);
    }
    expect(await readFile(input, 'utf8')).toBe(before);
    expect(await readFile(gold, 'utf8')).toBe('task,label\nt1,a\n');
    const output = join(dir, 'whole.csv');
    expect((await cli(['--input', input, '--method', 'mv', '--output', output])).code).toBe(0);
    expect(await readFile(output, 'utf8')).toBe('task,label,confidence,tied\nt1,a,1,1\n');
    // Written in place: a device or a symlink stays what it is.
    expect((await cli(['--input', input, '--method', 'mv', '--output', '/dev/null'])).code).toBe(0);
    const target = join(dir, 'target.csv');
    await writeFile(target, 'old\n');
    const link = join(dir, 'latest.csv');
    await symlink(target, link);
    expect((await cli(['--input', input, '--method', 'mv', '--output', link])).code).toBe(0);
    expect(await readFile(target, 'utf8')).toBe('task,label,confidence,tied\nt1,a,1,1\n');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it('reads the gold file in its own encoding, and says which gold labels no worker gave', async () => {
    const latin1 = Buffer.from('worker,task,label\nw1,t1,café\nw2,t1,café\nw1,t2,thé\nw2,t2,thé\n', 'latin1');
    const input = await file('latin1-answers.csv', latin1);
    const gold = await file('utf8-gold.csv', 'task,label\nt1,café\nt2,thé\n');
    const right = await cli(['--input', input, '--encoding', 'latin1', '--gold', gold, '--method', 'mv']);
    expect(right.code).toBe(0);
    expect(right.err).toMatch(/\(2 of 2 gold tasks right\)/);
    const misspelt = await cli([
      '--input',
      input,
      '--encoding',
      'latin1',
      '--gold',
      await file('gold-misspelt.csv', 'task,label\nt1,cafe\nt2,thé\n'),
      '--method',
      'mv',
    ]);
    expect(misspelt.err).toContain(
      '1 gold label is no label any worker gave, so its task counts as wrong: task "t1" "cafe".',
    );
  });

  it('says a folder or a device cannot be read, in words', async () => {
    const folder = await cli(['--input', dir, '--method', 'mv']);
    expect(folder.err).toMatch(/Cannot read the answers file .*: it is a folder; save the answers to a file/);
    // A device (a pipe is refused the same way; opening one here could wait for a writer).
    const device = await cli(['--input', '/dev/null', '--method', 'mv']);
    expect(device.code).toBe(1);
    expect(device.err).toMatch(
      /Cannot read the answers file \/dev\/null: it is not a regular file \(a pipe or a device\)/,
    );
  });

  it('refuses free-text answers with too many classes to model, in words, before trying', async () => {
    const rows = Array.from({ length: 1_000 }, (_, n) => `w${n % 40},t${n % 500},answer number ${n}`);
    const result = await cli(['--input', await file('free-text.csv', `worker,task,label\n${rows.join('\n')}\n`)]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /1,000 classes over 40 workers and 500 tasks need 309 MB of model .* above the 153 MB one model may take\. .* map them to a set of labels first\./,
    );
  });

  it('explains a missing header, a missing file, a bad method and missing options', async () => {
    const noHeader = await cli(['--input', await file('noheader.csv', 'w1,t1,a\n'), '--method', 'mv']);
    expect(noHeader).toMatchObject({ code: 1 });
    expect(noHeader.err).toMatch(
      /noheader\.csv line 1: the header must name the columns worker,task,label \(found "w1,t1,a"\)/,
    );
    const onlyHeader = await cli(['--input', await file('header-only.csv', 'worker,task,label\n')]);
    expect(onlyHeader.err).toMatch(/header-only\.csv has a header but no answers\./);
    const missing = await cli(['--input', join(dir, 'nope.csv'), '--method', 'mv']);
    expect(missing.err).toMatch(/Cannot read the answers file .*nope\.csv: ENOENT/);
    const method = await cli(['--input', join(dir, 'answers.csv'), '--method', 'em']);
    expect(method.err).toMatch(/--method must be one of auto, mv, wawa, ds, onecoin, mace, not "em"/);
    const noInput = await cli(['--method', 'ds']);
    expect(noInput).toMatchObject({ code: 1, err: expect.stringMatching(/aggregate needs --input FILE/) });
  });
});
