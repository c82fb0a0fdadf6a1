import { describe, expect, it } from 'vitest';
import { absoluteUrl, datasetSnippets } from './dataset-snippets';

describe('datasetSnippets', () => {
  it('reads one Parquet file with each library, by its full URL', () => {
    const url = 'http://127.0.0.1:8787/v1/files/d/data/train-00000-of-00001.parquet?expires=1&signature=ab';
    const snippets = datasetSnippets([url]);
    expect(snippets.pandas).toContain(`pd.read_parquet('${url}')`);
    expect(snippets.duckdb).toBe(`SELECT * FROM read_parquet('${url}');`);
    expect(snippets.datasets).toContain(`load_dataset("parquet", data_files='${url}')`);
  });

  it('reads every shard when there are several, and escapes quotes for each language', () => {
    const snippets = datasetSnippets(["http://h/a'1.parquet", 'http://h/b.parquet']);
    expect(snippets.duckdb).toBe("SELECT * FROM read_parquet(['http://h/a''1.parquet', 'http://h/b.parquet']);");
    expect(snippets.pandas).toContain("'http://h/a\\'1.parquet',");
    expect(snippets.pandas).toContain('pd.concat(');
    expect(snippets.datasets).toContain('data_files=urls');
  });
});

describe('absoluteUrl', () => {
  it('prefixes server-relative paths with the origin and leaves full URLs alone', () => {
    expect(absoluteUrl('/v1/files/x?s=1', 'http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787/v1/files/x?s=1');
    expect(absoluteUrl('https://cdn.example/x', 'http://127.0.0.1:8787')).toBe('https://cdn.example/x');
  });
});
