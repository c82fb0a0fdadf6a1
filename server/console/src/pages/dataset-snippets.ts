/** Python and SQL that read a dataset's Parquet files over HTTP, with no header: pre-signed URLs only. */
export interface DatasetSnippets {
  pandas: string;
  duckdb: string;
  datasets: string;
}

/** Quotes a URL for Python or SQL single-quoted strings (pre-signed URLs hold no quote, but never assume). */
const quoted = (url: string) => `'${url.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const sqlQuoted = (url: string) => `'${url.replaceAll("'", "''")}'`;

/** Snippets for pandas, DuckDB and Hugging Face `datasets`, for one Parquet file or several shards. */
export function datasetSnippets(parquetUrls: string[]): DatasetSnippets {
  if (parquetUrls.length === 1) {
    const [url = ''] = parquetUrls;
    return {
      pandas: `import pandas as pd\n\ndf = pd.read_parquet(${quoted(url)})`,
      duckdb: `SELECT * FROM read_parquet(${sqlQuoted(url)});`,
      datasets: `from datasets import load_dataset\n\nds = load_dataset("parquet", data_files=${quoted(url)})`,
    };
  }
  const pythonList = `[\n${parquetUrls.map((url) => `    ${quoted(url)},`).join('\n')}\n]`;
  return {
    pandas: `import pandas as pd\n\nurls = ${pythonList}\ndf = pd.concat([pd.read_parquet(url) for url in urls], ignore_index=True)`,
    duckdb: `SELECT * FROM read_parquet([${parquetUrls.map(sqlQuoted).join(', ')}]);`,
    datasets: `from datasets import load_dataset\n\nurls = ${pythonList}\nds = load_dataset("parquet", data_files=urls)`,
  };
}

/** A pre-signed path from the API made absolute, so it works pasted into Python on another machine. */
export function absoluteUrl(url: string, origin: string): string {
  return /^https?:\/\//.test(url) ? url : `${origin}${url.startsWith('/') ? '' : '/'}${url}`;
}
