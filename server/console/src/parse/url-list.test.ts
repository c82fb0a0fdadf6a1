import { describe, expect, it } from 'vitest';
import { batches, urlsFromCsv, urlsFromText } from './url-list';

describe('urlsFromText', () => {
  it('takes one URL per line and skips blanks and comments', () => {
    expect(urlsFromText('  https://a.example/ \n\n# mine\r\nhttps://b.example/x\n')).toEqual([
      'https://a.example/',
      'https://b.example/x',
    ]);
  });
});

describe('urlsFromCsv', () => {
  it('reads the url column wherever it is, whatever its case', () => {
    const csv = 'title,URL\n"Home, sweet",https://a.example/\nOther,https://b.example/?q=1,2\n';
    expect(urlsFromCsv(csv)).toEqual({ urls: ['https://a.example/', 'https://b.example/?q=1'], problems: [] });
  });

  it('reads the first column when no column is called url, skipping a header row', () => {
    expect(urlsFromCsv('address,note\nhttps://a.example/,x\n').urls).toEqual(['https://a.example/']);
  });

  it('keeps the first row when it is itself a URL (a file without a header)', () => {
    expect(urlsFromCsv('https://a.example/\nhttps://b.example/').urls).toEqual([
      'https://a.example/',
      'https://b.example/',
    ]);
  });

  it('names the lines whose url cell is empty, and keeps the rest', () => {
    const result = urlsFromCsv('name,url\nfirst,https://a.example/\nsecond,\nthird,https://c.example/\n');
    expect(result.urls).toEqual(['https://a.example/', 'https://c.example/']);
    expect(result.problems).toEqual([{ line: 3, message: 'no value in the url column' }]);
  });
});

describe('batches', () => {
  it('splits into full batches and a remainder, losing and repeating nothing', () => {
    const items = Array.from({ length: 25_001 }, (_, i) => i);
    const split = batches(items, 10_000);
    expect(split.map((batch) => batch.length)).toEqual([10_000, 10_000, 5_001]);
    expect(split.flat()).toEqual(items);
  });
});
