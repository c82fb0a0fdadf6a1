import { describe, expect, it } from 'vitest';
import { formatCsvRow, parseCsv } from './csv';

const fields = (text: string) => parseCsv(text, 'in.csv').map((record) => record.fields);

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    expect(fields('a,"b, c","say ""hi""","two\nlines"\n')).toEqual([['a', 'b, c', 'say "hi"', 'two\nlines']]);
  });

  it('accepts CRLF, skips blank lines and a byte-order mark, and keeps each record’s starting line', () => {
    const records = parseCsv('\ufeffworker,task\r\n\r\n  \r\nw1,"t\r\n1"\r\nw2,t2', 'in.csv');
    expect(records).toEqual([
      { line: 1, fields: ['worker', 'task'] },
      { line: 4, fields: ['w1', 't\r\n1'] },
      { line: 6, fields: ['w2', 't2'] },
    ]);
  });

  it('trims unquoted fields, keeps quoted ones exact, and keeps empty fields', () => {
    expect(fields(' a , " b ",\n""\n')).toEqual([['a', ' b ', ''], ['']]);
  });

  it('names the line of a quote that is never closed', () => {
    expect(() => parseCsv('a,b\nc,"d\ne,f\n', 'answers.csv')).toThrow(
      'answers.csv line 2: a quoted field is never closed (a " is missing).',
    );
  });

  it('names the line of a stray quote or text after a closing quote', () => {
    expect(() => parseCsv('a,b\nc,d"e\n', 'x.csv')).toThrow(/^x\.csv line 2: a " inside an unquoted field/);
    expect(() => parseCsv('a,b\n"c"d,e\n', 'x.csv')).toThrow(/^x\.csv line 2: text after a closing quote/);
  });
});

describe('formatCsvRow', () => {
  it('quotes only what needs quoting, and parseCsv reads it back', () => {
    const row = ['plain', 'with,comma', 'with "quote"', 'two\nlines', ' edge'];
    expect(formatCsvRow(row)).toBe('plain,"with,comma","with ""quote""","two\nlines"," edge"\n');
    expect(fields(formatCsvRow(row))).toEqual([row]);
  });
});
