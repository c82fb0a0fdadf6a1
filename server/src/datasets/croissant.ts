import type { ColumnDefinition, ColumnType } from '@protocol/dataset-rows';
import type { DatasetFile } from '@protocol/datasets';
import {
  columnsOfDataset,
  type DatasetDescription,
  licenseUrl,
  rawLabelFields,
  rowFilesOf,
  rowKindOf,
} from './dataset-description';

/**
 * `croissant.json`: the dataset described in MLCommons Croissant 1.0 (JSON-LD). Every data file is a
 * `cr:FileObject` with its relative path, size and sha256; the rows are one `cr:RecordSet` named `default`
 * (as the Hugging Face config is), with one `cr:Field` per column, read from the Parquet shards (a
 * `cr:FileSet` whose glob matches exactly them) or, without Parquet, from the JSONL files.
 */

/** What the Croissant file is built from. */
export type CroissantInput = DatasetDescription;

/** The JSON-LD context of Croissant 1.0 (the spec's Appendix 1). */
export const croissantContext = {
  '@language': 'en',
  '@vocab': 'https://schema.org/',
  sc: 'https://schema.org/',
  cr: 'http://mlcommons.org/croissant/',
  rai: 'http://mlcommons.org/croissant/RAI/',
  dct: 'http://purl.org/dc/terms/',
  citeAs: 'cr:citeAs',
  column: 'cr:column',
  conformsTo: 'dct:conformsTo',
  data: { '@id': 'cr:data', '@type': '@json' },
  dataType: { '@id': 'cr:dataType', '@type': '@vocab' },
  examples: { '@id': 'cr:examples', '@type': '@json' },
  extract: 'cr:extract',
  field: 'cr:field',
  fileProperty: 'cr:fileProperty',
  fileObject: 'cr:fileObject',
  fileSet: 'cr:fileSet',
  format: 'cr:format',
  includes: 'cr:includes',
  isLiveDataset: 'cr:isLiveDataset',
  jsonPath: 'cr:jsonPath',
  key: 'cr:key',
  md5: 'cr:md5',
  parentField: 'cr:parentField',
  path: 'cr:path',
  recordSet: 'cr:recordSet',
  references: 'cr:references',
  regex: 'cr:regex',
  repeated: 'cr:repeated',
  replace: 'cr:replace',
  separator: 'cr:separator',
  source: 'cr:source',
  subField: 'cr:subField',
  transform: 'cr:transform',
} as const;

/** The record set's id, the same name as the Hugging Face config. */
export const recordSetId = 'default';

/** The MIME type (or, for formats without one, the spec's URL) of each kind of data file. */
const encodingFormats: Record<DatasetFile['kind'], string> = {
  parquet: 'application/x-parquet',
  jsonl: 'application/jsonlines',
  warc: 'application/warc',
  cdxj: 'https://specs.webrecorder.net/cdxj/0.1.0/',
  card: 'text/markdown',
  croissant: 'application/ld+json',
};

/** Croissant data types of the column types. */
const dataTypes: Record<Exclude<ColumnType, 'raw_labels'>, string> = {
  string: 'sc:Text',
  int32: 'sc:Integer',
  int64: 'sc:Integer',
  float64: 'sc:Float',
  timestamp: 'sc:DateTime',
};

/** The Croissant 1.0 JSON-LD document of a built dataset, ready for `JSON.stringify`. */
export function buildCroissant(input: CroissantInput): Record<string, unknown> {
  const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const distribution: Record<string, unknown>[] = files.map(fileObject);
  const rowFiles = rowFilesOf(files);
  let source: Record<string, unknown> | null = null;
  if (rowFiles && rowFiles.files.length === 1) {
    source = { fileObject: { '@id': (rowFiles.files[0] as DatasetFile).path } };
  } else if (rowFiles) {
    const id = `${rowFiles.format}-files`;
    distribution.push({
      '@type': 'cr:FileSet',
      '@id': id,
      name: id,
      description: `The ${rowFiles.files.length} ${rowFiles.format === 'parquet' ? 'Parquet shards' : 'JSONL files'}, read in path order; each is also listed on its own with its sha256.`,
      encodingFormat: encodingFormats[rowFiles.format],
      // Exact paths when the names share no pattern: a glob must never pick up another file.
      includes: rowFiles.pattern ?? rowFiles.files.map((file) => file.path),
    });
    source = { fileSet: { '@id': id } };
  }
  const license = licenseUrl(input.options.license);
  return {
    '@context': croissantContext,
    '@type': 'sc:Dataset',
    conformsTo: 'http://mlcommons.org/croissant/1.0',
    name: input.name,
    description: datasetSummary(input),
    license: license ?? {
      '@type': 'sc:CreativeWork',
      name: input.options.license,
      description: 'The license the buyer chose; see README.md.',
    },
    url: datasetUrl(input),
    creator: {
      '@type': 'sc:Organization',
      name: 'Gleaner',
      ...(input.publicBaseUrl ? { url: input.publicBaseUrl } : {}),
    },
    datePublished: input.snapshotAt,
    // A dataset is a frozen snapshot: it never gets a second version, only a new dataset.
    version: '1.0.0',
    keywords:
      rowKindOf(input.source) === 'pages'
        ? ['gleaner', 'web pages', 'crowdsourced']
        : ['gleaner', 'labels', 'crowdsourced'],
    ...(input.options.languages.length > 0
      ? { inLanguage: [...new Set(input.options.languages.map((code) => code.toLowerCase()))] }
      : {}),
    distribution,
    recordSet: [
      {
        '@type': 'cr:RecordSet',
        '@id': recordSetId,
        name: recordSetId,
        description: `One record per row, columns in canonical order. Merkle root over the rows: ${input.merkleRoot}.`,
        field: source ? columnsOfDataset(input).map((column) => field(column, source)) : [],
      },
    ],
  };
}

function fileObject(file: DatasetFile): Record<string, unknown> {
  return {
    '@type': 'cr:FileObject',
    '@id': file.path,
    name: file.path,
    contentUrl: file.path,
    encodingFormat: encodingFormats[file.kind],
    contentSize: `${file.bytes} B`,
    sha256: file.sha256,
  };
}

/** A column as a field; `raw_labels`, a list of structs, is a repeated field with one sub-field per key. */
function field(column: ColumnDefinition, from: Record<string, unknown>): Record<string, unknown> {
  const id = `${recordSetId}/${column.name}`;
  const base = { '@type': 'cr:Field', '@id': id, name: id, description: column.description };
  if (column.type === 'raw_labels') {
    return {
      ...base,
      repeated: true,
      subField: rawLabelFields.map((sub) => ({
        '@type': 'cr:Field',
        '@id': `${id}/${sub.name}`,
        name: `${id}/${sub.name}`,
        description: sub.description,
        dataType: dataTypes[sub.type as Exclude<ColumnType, 'raw_labels'>],
        source: { ...from, extract: { column: column.name }, transform: { jsonPath: sub.name } },
      })),
    };
  }
  return { ...base, dataType: dataTypes[column.type], source: { ...from, extract: { column: column.name } } };
}

function datasetSummary(input: CroissantInput): string {
  const what =
    rowKindOf(input.source) === 'pages'
      ? `web pages fetched by consenting Gleaner contributors for the campaign "${input.source.name}"`
      : `items labeled by Gleaner contributors in the labeling project "${input.source.name}", with every raw label`;
  return (
    `A frozen snapshot of ${what}: ${input.stats.rows} rows as of ${input.snapshotAt}, built by Gleaner ` +
    `${input.serverVersion}. Every row is committed to by the Merkle root ${input.merkleRoot}; README.md says ` +
    'how to check a row, and counts what cleaning removed and redacted.'
  );
}

/** The dataset's address on its server when known; otherwise a URN that still names it uniquely. */
function datasetUrl(input: CroissantInput): string {
  if (!input.publicBaseUrl) return `urn:uuid:${input.id}`;
  return `${input.publicBaseUrl.replace(/\/+$/, '')}/v1/datasets/${input.id}`;
}
