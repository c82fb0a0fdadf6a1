import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, matchesGlob } from 'node:path';
import { labelColumns, pageColumns } from '@protocol/dataset-rows';
import type { DatasetFile } from '@protocol/datasets';
import { describe, expect, it } from 'vitest';
import { buildCroissant } from './croissant';
import { describedDataset, describedLabels, pageFiles } from './dataset-card-fixtures';

/**
 * No Croissant validator runs offline here (mlcroissant is Python, from PyPI), so these tests check what
 * the Croissant 1.0 spec requires, and what mlcroissant asserts when it loads a file: the Appendix 1 context,
 * the required dataset properties, `@id` on every node, `encodingFormat` and `contentUrl` with a checksum on
 * every FileObject, `includes` and `encodingFormat` on every FileSet, and a source for every field.
 */

type Json = ReturnType<typeof JSON.parse>;

/** The spec's Appendix 1 context, copied independently of the code under test. */
const appendixContext = {
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
};

/** The document as a reader gets it: through JSON text. */
function croissantJson(...args: Parameters<typeof buildCroissant>): Json {
  return JSON.parse(JSON.stringify(buildCroissant(...args)));
}

function allIds(node: Json, ids: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) allIds(item, ids);
  else if (node && typeof node === 'object') {
    // A reference ({"@id": x} alone) is not a node.
    if (typeof node['@id'] === 'string' && Object.keys(node).length > 1) ids.push(node['@id']);
    for (const [key, value] of Object.entries(node)) if (key !== '@context') allIds(value, ids);
  }
  return ids;
}

/** Checks a field's source points at a distribution node and extracts a column. */
function expectSource(source: Json, distributionIds: Set<string>, column: string): void {
  const reference = source.fileSet ?? source.fileObject;
  expect(Object.keys(source).filter((key) => key === 'fileSet' || key === 'fileObject')).toHaveLength(1);
  expect(distributionIds.has(reference['@id']), reference['@id']).toBe(true);
  expect(source.extract).toEqual({ column });
}

describe('croissant.json', () => {
  it('has the Croissant 1.0 context and every property the spec requires of a dataset', () => {
    const doc = croissantJson(describedDataset());
    expect(doc['@context']).toEqual(appendixContext);
    expect(doc['@type']).toBe('sc:Dataset');
    expect(doc.conformsTo).toBe('http://mlcommons.org/croissant/1.0');
    expect(doc.name).toBe('News pages, autumn');
    expect(doc.description).toContain(describedDataset().merkleRoot);
    expect(doc.license).toBe('https://spdx.org/licenses/CC-BY-4.0.html');
    expect(doc.url).toBe('https://gleaner.example/v1/datasets/7d0c4a57-3b9e-4a43-9a43-0f3c8ae2d111');
    expect(doc.creator).toMatchObject({ '@type': 'sc:Organization', name: 'Gleaner' });
    expect(doc.datePublished).toBe('2026-11-28T12:00:00.000Z');
    expect(doc.version).toMatch(/^\d+\.\d+\.\d+$/);
    const ids = allIds(doc);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names a license it has no URL for as a CreativeWork, and the dataset by URN without a public URL', () => {
    const base = describedDataset();
    const doc = croissantJson({ ...base, options: { ...base.options, license: 'other' }, publicBaseUrl: null });
    expect(doc.license).toMatchObject({ '@type': 'sc:CreativeWork', name: 'other' });
    expect(doc.url).toBe(`urn:uuid:${base.id}`);
    expect(doc.creator.url).toBeUndefined();
  });

  it('lists every file with its path, size, format and a sha256 that matches the bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gleaner-croissant-'));
    try {
      // Real files with real digests: the document must point at each by a path relative to itself.
      const files: DatasetFile[] = pageFiles.map((file, index) => {
        const bytes = Buffer.from(`file ${index} of a dataset: ${file.path}\n`.repeat(index + 1));
        mkdirSync(dirname(join(dir, file.path)), { recursive: true });
        writeFileSync(join(dir, file.path), bytes);
        return { ...file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      });
      const doc = croissantJson(describedDataset({ files }));
      const objects = doc.distribution.filter((node: Json) => node['@type'] === 'cr:FileObject');
      expect(objects).toHaveLength(files.length);
      for (const object of objects) {
        const bytes = readFileSync(join(dir, object.contentUrl));
        expect(object.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
        expect(object.contentSize).toBe(`${bytes.length} B`);
        expect(object['@id']).toBeTruthy();
        expect(object.encodingFormat).toBeTruthy();
      }
      const formats = Object.fromEntries(objects.map((object: Json) => [object.contentUrl, object.encodingFormat]));
      expect(formats['data/train-00000-of-00002.parquet']).toBe('application/x-parquet');
      expect(formats['data/train-00000-of-00001.jsonl.gz']).toBe('application/jsonlines');
      expect(formats['warc/pages-00000.warc.gz']).toBe('application/warc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the rows from a FileSet whose glob matches exactly the Parquet shards', () => {
    const doc = croissantJson(describedDataset());
    const sets = doc.distribution.filter((node: Json) => node['@type'] === 'cr:FileSet');
    expect(sets).toHaveLength(1);
    const [set] = sets;
    expect(set.encodingFormat).toBe('application/x-parquet');
    expect(set['@id']).toBeTruthy();
    const matched = pageFiles.map((file) => file.path).filter((path) => matchesGlob(path, set.includes));
    expect(matched.sort()).toEqual(['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']);
  });

  it('falls back to exact paths when shard names share no pattern', () => {
    const odd: DatasetFile[] = [
      { ...(pageFiles[0] as DatasetFile), path: 'data/a.parquet' },
      { ...(pageFiles[1] as DatasetFile), path: 'data/b*.parquet' },
    ];
    const set = croissantJson(describedDataset({ files: odd })).distribution.find(
      (node: Json) => node['@type'] === 'cr:FileSet',
    );
    expect(set.includes).toEqual(['data/a.parquet', 'data/b*.parquet']);
  });

  it('has one field per page column, in order, each with a source and a data type', () => {
    const doc = croissantJson(describedDataset());
    const distributionIds = new Set<string>(doc.distribution.map((node: Json) => node['@id']));
    const [recordSet] = doc.recordSet;
    expect(recordSet['@type']).toBe('cr:RecordSet');
    const fields = recordSet.field;
    expect(fields.map((field: Json) => field.name)).toEqual(pageColumns.map((column) => `default/${column.name}`));
    for (const [index, column] of pageColumns.entries()) {
      const field = fields[index];
      expect(field['@type']).toBe('cr:Field');
      expect(field['@id']).toBe(`default/${column.name}`);
      expect(field.description).toBe(column.description);
      expectSource(field.source, distributionIds, column.name);
    }
    const type = Object.fromEntries(fields.map((field: Json) => [field.name, field.dataType]));
    expect(type).toMatchObject({
      'default/url': 'sc:Text',
      'default/fetched_at': 'sc:DateTime',
      'default/http_status': 'sc:Integer',
      'default/near_dup_cluster': 'sc:Integer',
    });
  });

  it('gives raw_labels as a repeated field with a sub-field per key, each with a source', () => {
    const doc = croissantJson(describedLabels());
    const distributionIds = new Set<string>(doc.distribution.map((node: Json) => node['@id']));
    const fields = doc.recordSet[0].field;
    expect(fields.map((field: Json) => field.name)).toEqual(labelColumns.map((column) => `default/${column.name}`));
    // A single shard is read as its FileObject.
    expect(fields[0].source.fileObject['@id']).toBe('data/train-00000-of-00001.parquet');
    expect(fields.find((field: Json) => field.name === 'default/confidence').dataType).toBe('sc:Float');
    const raw = fields.find((field: Json) => field.name === 'default/raw_labels');
    expect(raw.repeated).toBe(true);
    expect(raw.subField.map((sub: Json) => [sub['@id'], sub.dataType, sub.source.transform])).toEqual([
      ['default/raw_labels/labeler', 'sc:Text', { jsonPath: 'labeler' }],
      ['default/raw_labels/value', 'sc:Text', { jsonPath: 'value' }],
      ['default/raw_labels/gold_accuracy', 'sc:Float', { jsonPath: 'gold_accuracy' }],
    ]);
    for (const sub of raw.subField)
      expectSource({ ...sub.source, transform: undefined }, distributionIds, 'raw_labels');
  });

  it('reads rows from the JSONL file when the dataset has no Parquet', () => {
    const files = pageFiles.filter((file) => file.kind !== 'parquet');
    const doc = croissantJson(describedDataset({ files }));
    expect(doc.recordSet[0].field[0].source.fileObject['@id']).toBe('data/train-00000-of-00001.jsonl.gz');
  });

  it('keeps hostile names verbatim as JSON strings, never as structure', () => {
    const name = '"}, "@context": {"x": 1}, "a": "\n---\n</script><script>alert(1)</script> \u2028 \\';
    const base = describedDataset();
    const text = JSON.stringify(buildCroissant({ ...base, name, source: { ...base.source, name } }));
    const doc = JSON.parse(text);
    expect(doc.name).toBe(name);
    expect(doc.description).toContain(name);
    expect(doc['@context']).toEqual(appendixContext);
    expect(Object.keys(doc)).not.toContain('a');
  });
});
