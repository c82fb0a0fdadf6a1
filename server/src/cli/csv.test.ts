import { describe, expect, it } from 'vitest';
import { CsvReader, formatCsvRow } from './csv';

interface Read {
  line: number;
  fields: string[];
  problem: string | null;
}

const decoder = new TextDecoder();

/** Feeds `text` to a reader in chunks of `chunkSize` bytes and collects what it hands over. */
function read(text: string, chunkSize = Number.POSITIVE_INFINITY): Read[] {
  const records: Read[] = [];
  const reader = new CsvReader((record) => {
    const fields = Array.from({ length: record.count }, (_, f) =>
      decoder.decode(record.bytes.subarray(record.start[f], record.end[f])),
    );
    records.push({ line: record.line, fields, problem: record.problem });
  });
  const bytes = new TextEncoder().encode(text);
  const size = Math.min(chunkSize, bytes.length || 1);
  // One Buffer reused for every chunk, as the file reader does (a Buffer's slice() is a view, not a copy).
  const buffer = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    const chunk = bytes.subarray(at, at + size);
    buffer.set(chunk);
    reader.push(buffer.subarray(0, chunk.length));
  }
  reader.end();
  return records;
}

const fields = (text: string) => read(text).map((record) => record.fields);

describe('CsvReader', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(fields('a,"b, c","say ""hi""","two\nlines"\n')).toEqual([['a', 'b, c', 'say "hi"', 'two\nlines']]);
  });

  it('accepts CRLF and CR, skips blank lines, and keeps each record’s starting line', () => {
    expect(read('worker,task\r\n\r\n  \r\nw1,"t\r\n1"\r\nw2,t2\rw3,t3')).toEqual([
      { line: 1, fields: ['worker', 'task'], problem: null },
      { line: 4, fields: ['w1', 't\r\n1'], problem: null },
      { line: 6, fields: ['w2', 't2'], problem: null },
      { line: 7, fields: ['w3', 't3'], problem: null },
    ]);
  });

  it('trims unquoted fields, keeps quoted ones exact, and keeps empty fields', () => {
    expect(fields(' a , " b ",\n""\n')).toEqual([['a', ' b ', ''], ['']]);
  });

  it('reads the same records whatever the chunk boundaries (inside quotes, "", CRLF, multi-byte characters)', () => {
    const text = 'w,t,l\r\nw1,"a ""q"" b",café\r\n"w\n2",t2,"x,y"\r\nw3,t3,naïve\n\r\nw4,t4,""""\r\n';
    const whole = read(text);
    expect(whole.map((record) => record.fields)).toEqual([
      ['w', 't', 'l'],
      ['w1', 'a "q" b', 'café'],
      ['w\n2', 't2', 'x,y'],
      ['w3', 't3', 'naïve'],
      ['w4', 't4', '"'],
    ]);
    for (const size of [1, 2, 3, 5, 7, 16]) expect(read(text, size)).toEqual(whole);
  });

  it('reads a quoted field far longer than a chunk in one piece', () => {
    const long = 'x,'.repeat(200_000);
    const records = read(`a,b\n"${long}",end\nc,d\n`, 4096);
    expect(records.map((record) => record.fields.map((field) => field.length))).toEqual([
      [1, 1],
      [long.length, 3],
      [1, 1],
    ]);
  });

  it('hands over every malformed line with its problem and reads on from the next line', () => {
    expect(read('a,b\nc,d"e\n"c"d,e\nf,g\n"h,i\nj,k\n')).toEqual([
      { line: 1, fields: ['a', 'b'], problem: null },
      { line: 2, fields: ['c', 'd'], problem: expect.stringMatching(/^a " inside an unquoted field/) },
      { line: 3, fields: ['c'], problem: expect.stringMatching(/^text after a closing quote/) },
      { line: 4, fields: ['f', 'g'], problem: null },
      { line: 5, fields: [], problem: 'a quoted field is never closed (a " is missing).' },
    ]);
  });

  it('reads on past a long line with a stray quote instead of gathering the rest of the file', () => {
    const stray = `w1,s_x,a,b"${'y'.repeat(200_000)}\n`;
    const after = Array.from({ length: 2_000 }, (_, n) => `w${n},t${n},a\n`).join('');
    const bytes = new TextEncoder().encode(`worker,task,label\n${stray}${after}`);
    const problems: string[] = [];
    let records = 0;
    const reader = new CsvReader((record) => {
      records += 1;
      if (record.problem) problems.push(`${record.line}: ${record.problem}`);
    });
    const size = 1 << 16;
    for (let at = 0; at < bytes.length; at += size) reader.push(bytes.slice(at, at + size));
    // Every record came out while reading: none waits in memory for the end of the file.
    expect(records).toBe(2_002);
    reader.end();
    expect(records).toBe(2_002);
    expect(problems).toEqual(['2: a " inside an unquoted field; quote the whole field and double the " inside.']);
  });

  it('names the line a never-closed quote opened on when its record began earlier', () => {
    expect(read('a,b\nc,d\n"e\nx","f\ng\n')).toEqual([
      { line: 1, fields: ['a', 'b'], problem: null },
      { line: 2, fields: ['c', 'd'], problem: null },
      { line: 3, fields: ['e\nx'], problem: 'a quoted field opened on line 4 is never closed (a " is missing).' },
    ]);
  });
});

describe('formatCsvRow', () => {
  it('quotes only what needs quoting, and the reader reads it back', () => {
    const row = ['plain', 'with,comma', 'with "quote"', 'two\nlines', ' edge'];
    expect(formatCsvRow(row)).toBe('plain,"with,comma","with ""quote""","two\nlines"," edge"\n');
    expect(fields(formatCsvRow(row))).toEqual([row]);
  });
});
