import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { PageBody } from '@protocol/extract/extract-body';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExtractionPool, type ExtractionPool, type ExtractionPoolOptions } from './extraction-pool';

const encoder = new TextEncoder();
const htmlPage = (html: string): PageBody => ({
  bytes: encoder.encode(html),
  contentType: 'text/html; charset=utf-8',
  finalUrl: 'https://site.example/page',
});
const normalPage = htmlPage(
  '<!doctype html><title>Notes</title><article><p>A short note that says enough.</p></article>',
);
/** Readability needs seconds for this (~10 s on a loaded 2-core machine). */
const nestedDeep = htmlPage(`<body>${'<div>'.repeat(20_000)}deep text`);
/** 2.9 MB of small elements: far more than 32 MB of heap once linkedom has built them. */
const heavy = htmlPage(`<body>${'<p>word <b>x</b> <i>y</i></p>'.repeat(100_000)}</body>`);

const pools: ExtractionPool[] = [];
function pool(options: Partial<ExtractionPoolOptions>): ExtractionPool {
  const created = createExtractionPool({ size: 1, deadlineMs: 10_000, maxHeapMb: 256, ...options });
  pools.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((created) => created.close()));
});

describe('createExtractionPool', () => {
  /** For the pages that end no thread: starting one takes a second or two. */
  let reader: ExtractionPool;
  beforeAll(() => {
    reader = createExtractionPool({ size: 1, deadlineMs: 10_000, maxHeapMb: 256 });
  });
  afterAll(() => reader.close());

  it('reads a page in a thread: its text, and the hash of its normalized text', async () => {
    expect(await reader.extract(normalPage)).toEqual({
      ok: true,
      page: {
        title: 'Notes',
        text: 'A short note that says enough.',
        lang: null,
        canonicalUrl: null,
        textSha256: createHash('sha256').update('A short note that says enough.').digest('hex'),
      },
    });
  });

  it('fails a page with no readable text as the extraction does', async () => {
    expect(await reader.extract(htmlPage('<html><body> <script>x()</script>'))).toEqual({
      ok: false,
      detail: 'The page has no readable text.',
    });
  });

  it('ends a thread that overruns its deadline, and reads the next page in a new one', async () => {
    const threads = pool({ deadlineMs: 300 });
    const started = performance.now();
    expect(await threads.extract(nestedDeep)).toEqual({ ok: false, detail: 'Extraction took longer than 0.3 s.' });
    // The deadline counts from when a started thread takes the page (starting one takes a second or two).
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(await threads.extract(normalPage)).toMatchObject({ ok: true, page: { title: 'Notes' } });
  });

  it('fails a page that runs its thread out of heap, and reads the next page in a new one', async () => {
    const threads = pool({ maxHeapMb: 32 });
    const outcome = await threads.extract(heavy);
    expect(outcome).toMatchObject({ ok: false, detail: expect.stringMatching(/^Extraction failed: .*memory limit/) });
    expect(await threads.extract(normalPage)).toMatchObject({ ok: true, page: { title: 'Notes' } });
  });

  it('reads a normal page in its second thread while the first is stuck on a hostile one', async () => {
    const threads = pool({ size: 2, deadlineMs: 20_000 });
    const finished: string[] = [];
    const hostile = threads.extract(nestedDeep).then(() => finished.push('hostile'));
    const normal = threads.extract(normalPage).then(() => finished.push('normal'));
    await normal;
    expect(finished).toEqual(['normal']);
    await threads.close();
    await hostile;
  });

  it('queues pages beyond its threads and reads each in turn', async () => {
    const outcomes = await Promise.all([1, 2, 3].map((n) => reader.extract(htmlPage(`<p>Page number ${n}.</p>`))));
    expect(outcomes.map((outcome) => outcome.ok && outcome.page.text)).toEqual([
      'Page number 1.',
      'Page number 2.',
      'Page number 3.',
    ]);
  });

  it('fails the page being read and every later one once closed', async () => {
    const threads = pool({});
    const reading = threads.extract(nestedDeep);
    await threads.close();
    const closed = { ok: false, detail: 'Extraction failed: the extraction threads are closed.' };
    expect(await reading).toEqual(closed);
    expect(await threads.extract(normalPage)).toEqual(closed);
  });

  it('never keeps a process alive once idle, so a script that never closes the pool still exits', () => {
    const poolUrl = new URL('./extraction-pool.ts', import.meta.url).href;
    const script = `
      const { createExtractionPool } = await import(${JSON.stringify(poolUrl)});
      const threads = createExtractionPool({ size: 1, deadlineMs: 10000, maxHeapMb: 256 });
      const page = { bytes: new TextEncoder().encode('<p>Still here.</p>'), contentType: 'text/html', finalUrl: 'https://site.example/' };
      console.log((await threads.extract(page)).page.text);
    `;
    const tsx = fileURLToPath(import.meta.resolve('tsx/cli'));
    const run = spawnSync(process.execPath, [tsx, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: 'Still here.' });
  });
});
