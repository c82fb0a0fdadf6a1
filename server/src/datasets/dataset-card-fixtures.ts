import { type DatasetFile, type DatasetOptions, datasetOptionsSchema } from '@protocol/datasets';
import type { DatasetDescription } from './dataset-description';

/** Test fixtures shared by the card and Croissant tests: a built dataset's description, pages or labels. */

const sha = (digit: string) => digit.repeat(64);

/** Data files as a pages build with every format writes them. */
export const pageFiles: DatasetFile[] = [
  { path: 'data/train-00001-of-00002.parquet', kind: 'parquet', bytes: 2_000_123, rows: 900, sha256: sha('b') },
  { path: 'data/train-00000-of-00002.parquet', kind: 'parquet', bytes: 3_500_000, rows: 1_134, sha256: sha('a') },
  { path: 'data/train-00000-of-00001.jsonl.gz', kind: 'jsonl', bytes: 4_000_000, rows: 2_034, sha256: sha('c') },
  { path: 'warc/pages-00000.warc.gz', kind: 'warc', bytes: 9_000_000, rows: 2_034, sha256: sha('d') },
  { path: 'warc/pages.cdxj', kind: 'cdxj', bytes: 300_000, rows: 2_034, sha256: sha('e') },
];

/** A description with every count distinct, so a count shown in the wrong place is caught. */
export function describedDataset(overrides: Partial<DatasetDescription> = {}): DatasetDescription {
  const options: DatasetOptions = datasetOptionsSchema.parse({
    license: 'cc-by-4.0',
    minWords: 50,
    languages: ['en', 'FR'],
    removeNearDuplicates: true,
  });
  return {
    id: '7d0c4a57-3b9e-4a43-9a43-0f3c8ae2d111',
    name: 'News pages, autumn',
    source: { kind: 'campaign', id: '1b2f9f7e-6a1c-4c55-8d1e-2f5f1c1d9e01', name: 'Autumn news' },
    options,
    stats: {
      sourceRows: 3_000,
      notVerified: 411,
      exactDuplicates: 97,
      nearDuplicates: 53,
      tooShort: 201,
      otherLanguage: 204,
      emailsRedacted: 17,
      phonesRedacted: 9,
      rows: 2_034,
    },
    files: pageFiles,
    merkleRoot: `0x${'5a'.repeat(32)}`,
    snapshotAt: '2026-11-28T12:00:00.000Z',
    serverVersion: '0.1.0',
    publicBaseUrl: 'https://gleaner.example',
    ...overrides,
  };
}

/** The same dataset built from a labeling project, Parquet only. */
export function describedLabels(overrides: Partial<DatasetDescription> = {}): DatasetDescription {
  return describedDataset({
    name: 'Sentiment labels',
    source: { kind: 'project', id: '0e4f3f7e-6a1c-4c55-8d1e-2f5f1c1d9e02', name: 'Sentiment' },
    stats: {
      sourceRows: 500,
      notVerified: 20,
      exactDuplicates: 0,
      nearDuplicates: 0,
      tooShort: 0,
      otherLanguage: 0,
      emailsRedacted: 3,
      phonesRedacted: 0,
      rows: 480,
    },
    files: [{ path: 'data/train-00000-of-00001.parquet', kind: 'parquet', bytes: 80_000, rows: 480, sha256: sha('f') }],
    ...overrides,
  });
}
