import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { normalizeText } from '@protocol/results';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { buyerApi, createBuyerKey } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { startGleanerServer } from './gleaner-server';
import { ConsolePage } from './pages/console-page';
import { OptionsPage } from './pages/options-page';
import { startTestSite, type TestSite, testSiteOrigin } from './test-site';

const serverEnv = {
  GLEANER_TEST_ORIGINS: testSiteOrigin,
  GLEANER_POLITENESS_MS: '50',
  GLEANER_MAX_PAGE_BYTES: String(1024 * 1024),
  GLEANER_FETCH_TIMEOUT_MS: '10000',
};

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let site: TestSite;

test.beforeAll(async () => {
  site = await startTestSite();
});

test.afterAll(async () => {
  await site?.close();
});

test('a buyer signs in, runs a campaign to completion, builds a Parquet dataset and downloads rows that match the stored pages', async () => {
  test.setTimeout(300_000);
  const server = await startGleanerServer({ env: serverEnv });
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  const downloads = await mkdtemp(join(tmpdir(), 'gleaner-downloads-'));
  const context = await launchWithExtension(profile);
  try {
    const apiKey = await createBuyerKey(server, 'Console Buyer');
    const buyerConsole = await ConsolePage.open(context, server.url);

    // A wrong key is refused in the API's words, next to the field.
    await buyerConsole.page.getByLabel('API key').fill('glk_not_a_real_key');
    await buyerConsole.page.getByRole('button', { name: 'Sign in' }).click();
    await expect(buyerConsole.page.getByRole('alert')).toHaveText('This API key is not valid.');
    await buyerConsole.signIn(apiKey);
    await expect(buyerConsole.page.getByTestId('signed-in-as')).toHaveText('Console Buyer');

    const articles = [1, 2, 3, 4, 5].map((n) => `${testSiteOrigin}/article/${n}`);
    const urls = [...articles, `${testSiteOrigin}/file.bin`];
    const campaignId = await buyerConsole.createCampaignFromUrls('console articles', urls);
    await expect(buyerConsole.workState).toHaveText('Active');

    // The extension fetches the pages; the console follows along by itself.
    const options = await OptionsPage.open(context, await extensionIdOf(context));
    await options.consentWithServer(server.url);
    await buyerConsole.page.bringToFront();
    await expect(buyerConsole.workState).toHaveText('Complete', { timeout: 180_000 });
    await expect(buyerConsole.campaignProgress()).toHaveAttribute('aria-valuenow', String(urls.length));
    await expect(buyerConsole.campaignProgress()).toHaveAttribute('aria-valuemax', String(urls.length));
    await expect(buyerConsole.failures()).toContainText('content_type');
    await expect(buyerConsole.page.getByTestId('count-failed')).toHaveText('1');
    const storedPages = buyerConsole.storedPages();
    await expect(storedPages.getByRole('row')).toHaveCount(1 + articles.length);
    await expect(storedPages.getByRole('row').filter({ hasText: `${testSiteOrigin}/article/3` })).toContainText(
      /200\s*text\/html/,
    );

    // New devices' pages are not verified yet: build from every stored page, with its state.
    await buyerConsole.buildDataset('console articles', { rows: 'All stored rows, with their verification state' });
    await expect(buyerConsole.buildProgress()).toBeVisible();
    await expect(buyerConsole.datasetState).toHaveText('Ready', { timeout: 120_000 });
    await expect(buyerConsole.buildProgress()).toHaveAttribute('aria-valuenow', String(articles.length));
    await expect(buyerConsole.buildProgress()).toHaveAttribute('aria-valuemax', String(articles.length));

    const parquetPath = 'data/train-00000-of-00001.parquet';
    const row = buyerConsole.fileRow(parquetPath);
    await expect(row).toContainText(String(articles.length));
    const listedSha256 = (await row.getByRole('cell').nth(4).textContent())?.trim() ?? '';
    expect(listedSha256).toMatch(/^[0-9a-f]{64}$/);

    const download = await buyerConsole.download(parquetPath);
    const saved = join(downloads, 'train.parquet');
    await download.saveAs(saved);
    const bytes = await readFile(saved);
    expect(sha256(bytes), 'the file downloaded is the one the table describes').toBe(listedSha256);

    // The pandas snippet's pre-signed URL works with no header at all.
    const snippet = (await buyerConsole.snippet('pandas').textContent()) ?? '';
    const presigned = /pd\.read_parquet\('([^']+)'\)/.exec(snippet)?.[1] ?? '';
    expect(presigned.startsWith(`${server.url}/`)).toBe(true);
    const fetched = await fetch(presigned);
    expect(fetched.status).toBe(200);
    expect(sha256(new Uint8Array(await fetched.arrayBuffer()))).toBe(listedSha256);
    await expect(buyerConsole.snippet('DuckDB')).toContainText(`read_parquet('${presigned}')`);

    // The rows are the pages the API lists: same count, same URLs, same text and hash.
    const rows = (await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      compressors,
    })) as { url: string; text: string; text_sha256: string }[];
    const pages = await buyerApi(server, apiKey).pages(campaignId);
    expect(rows).toHaveLength(pages.length);
    expect(rows.map((r) => r.url).sort()).toEqual([...articles].sort());
    const pageByUrl = new Map(pages.map((page) => [page.url, page]));
    for (const r of rows) {
      const page = pageByUrl.get(r.url);
      expect(page, r.url).toBeDefined();
      expect(r.text).toBe(page?.text);
      // The row hashes its text as published; the stored page hashes the normalized text the devices agree on.
      expect(sha256(r.text), `the text of ${r.url} hashes to its text_sha256`).toBe(r.text_sha256);
      expect(sha256(normalizeText(r.text))).toBe(page?.textSha256);
    }
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
    await rm(downloads, { recursive: true, force: true });
  }
});
