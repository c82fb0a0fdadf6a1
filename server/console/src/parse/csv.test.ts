import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';

describe('parseCsv', () => {
  it('keeps commas, line breaks and doubled quotes inside quoted fields, and numbers records by their first line', () => {
    const result = parseCsv('\uFEFFid,text\r\n1,"a, ""quoted""\nsecond line"\r\n\r\n2,plain\n');
    expect(result).toEqual({
      ok: true,
      records: [
        { line: 1, cells: ['id', 'text'] },
        { line: 2, cells: ['1', 'a, "quoted"\nsecond line'] },
        { line: 5, cells: ['2', 'plain'] },
      ],
    });
  });

  it('keeps empty cells, including a trailing one and a quoted empty one', () => {
    expect(parseCsv('a,,\n"",b')).toEqual({
      ok: true,
      records: [
        { line: 1, cells: ['a', '', ''] },
        { line: 2, cells: ['', 'b'] },
      ],
    });
  });

  it('names the line of a quote that never closes instead of swallowing the rest of the file', () => {
    expect(parseCsv('url\nhttps://a.example/\n"https://b.example/\nhttps://c.example/\n')).toEqual({
      ok: false,
      line: 3,
      message: 'a quoted field is never closed',
    });
  });
});
