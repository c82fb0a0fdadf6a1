import { existsSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { projectCreatedSchema, projectLabelsSchema } from '@protocol/labeling';
import type { Page } from 'puppeteer-core';
import { buyerApi, createBuyerKey, deviceSessionFigures, listDevices } from './admin-api';
import {
  type FirefoxWithExtension,
  firefoxExecutable,
  firefoxExtensionDir,
  launchFirefoxWithExtension,
} from './firefox/firefox';
import { type RunningServer, startGleanerServer } from './gleaner-server';
import { startTestSite, startTrapServer, type TestSite, testSiteOrigin } from './test-site';

/** The text of the element with this test id, once it shows. */
async function textOf(page: Page, testId: string): Promise<string> {
  const element = await page.waitForSelector(`[data-testid="${testId}"]`, { visible: true });
  return ((await element?.evaluate((node) => node.textContent)) ?? '').trim();
}

const idleMs = 8000;

const click = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]`).click();

test('the Firefox build runs in firefox-esr: install, consent, register, fetch a local page safely, label a task', async () => {
  test.setTimeout(150_000);
  const executable = firefoxExecutable();
  expect(executable, 'firefox-esr is installed (apt-get install -y firefox-esr)').toBeDefined();
  expect(existsSync(firefoxExtensionDir), `the Firefox test build is in ${firefoxExtensionDir}`).toBe(true);

  let site: TestSite | undefined;
  let trap: TestSite | undefined;
  let server: RunningServer | undefined;
  let firefox: FirefoxWithExtension | undefined;
  try {
    site = await startTestSite();
    trap = await startTrapServer();
    server = await startGleanerServer({
      env: { GLEANER_TEST_ORIGINS: testSiteOrigin, GLEANER_POLITENESS_MS: '50', GLEANER_LABEL_SETTLE_SECONDS: '0' },
    });
    const apiKey = await createBuyerKey(server);
    const buyer = buyerApi(server, apiKey);
    // An article, a redirect chain that stays on the site, and a redirect to an origin the build does not allow.
    const urls = [`${testSiteOrigin}/article/1`, `${testSiteOrigin}/chain/start`, `${testSiteOrigin}/to-trap`];
    const campaign = await buyer.createCampaign({ name: 'firefox pages', urls });
    expect(campaign.accepted).toBe(urls.length);
    const created = await fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'firefox reviews',
        instructions: 'Is the review positive or negative?',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        overlap: 1,
        goldRate: 0,
        items: [{ id: 'review-1', content: { type: 'text', text: 'Review: wonderful, would buy again' } }],
      }),
    });
    expect(created.status).toBe(201);
    const { project } = projectCreatedSchema.parse(await created.json());

    // Firefox unloads an idle event page after 30 s; 8 s here (past the 5 s undo window of a label), so
    // the test also sees the extension woken from unloaded.
    firefox = await launchFirefoxWithExtension(executable ?? '', { 'extensions.background.idle.timeout': idleMs });

    // Consent on the options page, pointing the extension at this server.
    const options = await firefox.openPage('options.html');
    await options.locator('[data-testid="server-url"]').fill(server.url);
    await click(options, 'consent-accept');

    // Registered: the server knows one device, and that it is a Firefox.
    await expect
      .poll(async () => (await listDevices(server as RunningServer)).map((device) => device.browser), {
        timeout: 30_000,
      })
      .toEqual(['firefox']);

    // Fetched: the article and the chain's end are stored; the redirect off the allowed origin is refused.
    await expect
      .poll(
        async () => {
          const { counts } = await buyer.campaign(campaign.campaign.id);
          return counts.queued + counts.leased === 0 && counts.fetched + counts.verified === 2 && counts.failed === 1;
        },
        { timeout: 60_000, intervals: [500] },
      )
      .toBe(true);
    const pages = await buyer.pages(campaign.campaign.id);
    expect(pages.find((page) => page.url === urls[0])?.title).toBe('Field notes 1');
    expect(pages.find((page) => page.url === urls[1])?.finalUrl).toBe(`${testSiteOrigin}/chain/end`);
    const { failures } = await buyer.campaign(campaign.campaign.id);
    expect(failures.map((failure) => failure.reason).join('\n')).toMatch(/redirect_blocked|url_blocked/);
    expect(trap.hits, 'the redirect to another origin must never be followed').toEqual([]);

    // The popup (opened as a tab) shows the device connected and today's pages.
    const popup = await firefox.openPage('popup.html');
    await expect.poll(() => textOf(popup, 'status'), { timeout: 30_000 }).toContain('Connected');
    await expect.poll(() => textOf(popup, 'pages-today')).toContain('2');

    // Label the project's one task on the labeling page; the label reaches the server.
    const labeling = await firefox.openPage('labeling.html');
    await expect.poll(() => textOf(labeling, 'task-text'), { timeout: 30_000 }).toContain('wonderful');
    await click(labeling, 'choice-1');
    await click(labeling, 'submit-label');
    await labeling.waitForSelector('[data-testid="no-tasks"]', { visible: true, timeout: 30_000 });
    await expect
      .poll(
        async () => {
          const response = await fetch(`${server?.url}/v1/projects/${project.id}/labels?limit=10`, {
            headers: { authorization: `Bearer ${apiKey}` },
          });
          return projectLabelsSchema.parse(await response.json()).items.map((item) => item.aggregate?.label ?? '?');
        },
        { timeout: 30_000 },
      )
      .toEqual(['positive']);

    // Firefox's WebCrypto opened the device session and MACed its requests as the server expects.
    const sessions = await deviceSessionFigures(server);
    expect(sessions.accepted, 'session requests accepted').toBeGreaterThan(0);
    expect(sessions.refused, 'session requests refused').toBe(0);

    // With no extension page asking anything, Firefox unloads the event page; a page that wakes it
    // must still reach this local server (the request guard forgets the server's address on unload).
    await popup.close();
    await labeling.close();
    await options.close();
    await new Promise((resolve) => setTimeout(resolve, idleMs + 3000));
    const woken = await firefox.openPage('options.html');
    await woken.waitForSelector('[data-testid="wallet-not-linked"]', { visible: true, timeout: 10_000 });
  } finally {
    await firefox?.close();
    await server?.stop();
    await site?.close();
    await trap?.close();
  }
});
