import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { buyerApi, createBuyerKey, deviceSessionFigures } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { type RunningServer, startGleanerServer } from './gleaner-server';
import { OptionsPage } from './pages/options-page';
import { PopupPage } from './pages/popup-page';
import {
  articleCount,
  articleText,
  holdSlowPages,
  startTestSite,
  startTrapServer,
  type TestSite,
  testSiteOrigin,
} from './test-site';

const serverEnv = {
  GLEANER_TEST_ORIGINS: testSiteOrigin,
  GLEANER_POLITENESS_MS: '50',
  GLEANER_MAX_PAGE_BYTES: String(1024 * 1024),
  GLEANER_FETCH_TIMEOUT_MS: '10000',
};

test.describe.configure({ mode: 'serial' });

let site: TestSite;
let trap: TestSite;

test.beforeAll(async () => {
  site = await startTestSite();
  trap = await startTrapServer();
});

test.afterAll(async () => {
  await site?.close();
  await trap?.close();
});

test('the extension scrapes a local site safely, and the server keeps each allowed page once', async () => {
  test.setTimeout(240_000);
  const server = await startGleanerServer({ env: serverEnv });
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  const context = await launchWithExtension(profile);
  try {
    const extensionId = await extensionIdOf(context);
    const buyer = buyerApi(server, await createBuyerKey(server));
    const created = await buyer.createCampaign({
      name: 'field notes',
      seeds: [`${testSiteOrigin}/`],
      followLinks: { maxDepth: 1, maxPages: 200 },
    });
    expect(created.accepted).toBe(1);

    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(server.url);

    await expect
      .poll(
        async () => {
          const { counts } = await buyer.campaign(created.campaign.id);
          return counts.queued + counts.leased === 0 && counts.fetched + counts.verified > 0;
        },
        { timeout: 180_000, intervals: [1000] },
      )
      .toBe(true);

    const campaign = await buyer.campaign(created.campaign.id);
    const pages = await buyer.pages(created.campaign.id);
    const byUrl = new Map<string, number>();
    for (const page of pages) byUrl.set(page.url, (byUrl.get(page.url) ?? 0) + 1);
    expect(
      [...byUrl.values()].every((count) => count === 1),
      'no page is stored twice',
    ).toBe(true);

    for (let n = 1; n <= articleCount; n += 1) {
      const page = pages.find((candidate) => candidate.url === `${testSiteOrigin}/article/${n}`);
      expect(page, `article ${n}`).toBeDefined();
      expect(page?.title).toBe(`Field notes ${n}`);
      expect(page?.text).toContain(articleText(n).split('\n\n')[1]);
    }
    const chain = pages.find((page) => page.url === `${testSiteOrigin}/chain/start`);
    expect(chain?.finalUrl).toBe(`${testSiteOrigin}/chain/end`);
    expect(pages.find((page) => page.url === `${testSiteOrigin}/slow`)?.text).toContain('three seconds');
    expect(pages.map((page) => page.url).sort()).toEqual(
      [
        `${testSiteOrigin}/`,
        ...Array.from({ length: articleCount }, (_, i) => `${testSiteOrigin}/article/${i + 1}`),
        `${testSiteOrigin}/chain/start`,
        `${testSiteOrigin}/slow`,
      ].sort(),
    );

    const reasons = campaign.failures.map((failure) => failure.reason).join('\n');
    expect(reasons).toMatch(/too_large/);
    expect(reasons).toMatch(/content_type/);
    expect(reasons).toMatch(/robots_disallowed/);
    expect(reasons).toMatch(/redirect_blocked|url_blocked/);
    expect(campaign.counts.failed).toBe(5);

    // The extension talked by device session, and the server took every session request it got.
    const sessions = await deviceSessionFigures(server);
    expect(sessions.accepted, 'session requests accepted').toBeGreaterThan(0);
    expect(sessions.refused, 'session requests refused').toBe(0);

    expect(trap.hits, 'the trap server must never be reached').toEqual([]);
    expect(site.hits).not.toContain('/private/secret');

    const popup = await PopupPage.open(context, extensionId);
    await expect(popup.page.getByTestId('pages-today')).toContainText(String(pages.length));
    await expect
      .poll(async () => Number((await popup.page.getByTestId('points-pending').textContent())?.replace(/[^\d.]/g, '')))
      .toBeGreaterThan(0);
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
});

test('results queued while the server is down arrive exactly once after a browser restart', async () => {
  test.setTimeout(240_000);
  // Our own data folder, so the restarted server finds the same database.
  const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-e2e-data-'));
  // A held page must outlast the server's graceful stop (its local chain, its database; up to the 10 s forced
  // exit), or the extension gives up on it as timed out and the job waits out its retry back-off.
  const env = { ...serverEnv, GLEANER_FETCH_TIMEOUT_MS: '60000' };
  let server: RunningServer = await startGleanerServer({ env, dataDir });
  const port = Number(new URL(server.url).port);
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  let context = await launchWithExtension(profile);
  try {
    const extensionId = await extensionIdOf(context);
    const apiKey = await createBuyerKey(server);
    const urls = Array.from({ length: 8 }, (_, i) => `${testSiteOrigin}/b/${i + 1}`);
    const created = await buyerApi(server, apiKey).createCampaign({ name: 'slow pages', urls });
    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(server.url);

    // Stop the server while a page is being fetched, so its result can only wait in the outbox: once two
    // pages are in, the site holds its answers until the server is down.
    await expect
      .poll(
        async () => {
          const { counts } = await buyerApi(server, apiKey).campaign(created.campaign.id);
          return counts.fetched + counts.verified;
        },
        { timeout: 120_000, intervals: [100] },
      )
      .toBeGreaterThanOrEqual(2);
    const held = holdSlowPages();
    await expect.poll(() => held.waiting(), { timeout: 60_000 }).toBeGreaterThan(0);
    await server.stop();
    held.release();
    const popup = await PopupPage.open(context, extensionId);
    await expect
      .poll(async () => Number(await popup.page.getByTestId('outbox-count').textContent()), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await context.close();

    server = await startGleanerServer({ env, dataDir, port });
    context = await launchWithExtension(profile);
    const buyer = buyerApi(server, apiKey);
    await expect
      .poll(
        async () => {
          const { counts } = await buyer.campaign(created.campaign.id);
          return counts.fetched + counts.verified;
        },
        { timeout: 180_000, intervals: [1000] },
      )
      .toBe(urls.length);
    const pages = await buyer.pages(created.campaign.id);
    expect(pages.map((page) => page.url).sort()).toEqual([...urls].sort());
  } finally {
    await context.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
});
