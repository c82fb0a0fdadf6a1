import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { projectCreatedSchema, projectLabelsSchema } from '@protocol/labeling';
import { createBuyerKey } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { type RunningServer, startGleanerServer } from './gleaner-server';
import { OptionsPage } from './pages/options-page';
import { PopupPage, popupSize } from './pages/popup-page';

/** What must show without scrolling in every state: status, points total, today's work, the pause control. */
const mustFit = ['status', 'points-total', 'pages-today', 'bytes-today', 'pause-control', 'labeling-entry'] as const;

/** Checks the popup at 380 × 600: the named parts wholly inside, nothing to scroll. */
async function expectFits(popup: PopupPage, state: string) {
  const { scrollHeight, scrollWidth, placed } = await popup.layout(mustFit);
  const outside = placed.filter((element) => !element.inside);
  expect(outside, `${state}: parts outside ${popupSize.width} × ${popupSize.height}`).toEqual([]);
  expect(scrollHeight, `${state}: document height`).toBeLessThanOrEqual(popupSize.height);
  expect(scrollWidth, `${state}: document width`).toBeLessThanOrEqual(popupSize.width);
}

const items = Array.from({ length: 4 }, (_, i) => ({
  id: `review-${i}`,
  content: { type: 'text', text: `Review ${i}: ${'a long review that goes on and on about the product '.repeat(8)}` },
}));

async function createProject(server: RunningServer, apiKey: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'product reviews with a rather long project name',
      instructions: 'Is the review positive or negative?',
      labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
      overlap: 1,
      goldRate: 0,
      items,
    }),
  });
  expect(response.status).toBe(201);
  return projectCreatedSchema.parse(await response.json()).project.id;
}

async function labeledItems(server: RunningServer, apiKey: string, projectId: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/projects/${projectId}/labels?limit=100`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (!response.ok) return -1;
  return projectLabelsSchema.parse(await response.json()).items.filter((item) => item.labels.length > 0).length;
}

test('the popup fits 380 × 600 in every state, tells offline at once, and uploads what waited when the server is back', async () => {
  test.setTimeout(180_000);
  // A data folder of our own, so the server can stop and start again on it (and the same port).
  const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-e2e-'));
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  let server = await startGleanerServer({ dataDir });
  const port = Number(new URL(server.url).port);
  const context = await launchWithExtension(profile);
  try {
    const extensionId = await extensionIdOf(context);
    const options = await OptionsPage.open(context, extensionId);

    // No consent.
    let popup = await PopupPage.open(context, extensionId);
    await expect(popup.status).toHaveText('No consent');
    await expect(popup.page.getByTestId('start')).toBeVisible();
    await expectFits(popup, 'no consent');

    // Connected, no task yet.
    await options.consentWithServer(server.url);
    await expect(popup.status).toHaveText('Connected', { timeout: 30_000 });
    await expect(popup.page.getByTestId('no-task')).toContainText('No labeling tasks right now');
    await expectFits(popup, 'connected');

    // Labeling: a task waits (a long one, with a long project name).
    const apiKey = await createBuyerKey(server);
    const projectId = await createProject(server, apiKey);
    await popup.page.close();
    popup = await PopupPage.open(context, extensionId);
    await expect(popup.labelTask).toBeVisible({ timeout: 30_000 });
    await expect(popup.page.getByTestId('open-labeling')).toHaveText('Start labeling');
    await expectFits(popup, 'labeling');

    // Paused: fetching stops, the link and labeling stay.
    await popup.page.getByTestId('pause-1h').click();
    await expect(popup.page.getByTestId('paused-until')).toContainText('Fetching paused until');
    await expect(popup.status).toHaveText('Connected');
    await expect(popup.labelTask).toBeVisible();
    await expectFits(popup, 'paused');

    // Offline: the server goes away; the next thing done in the popup says so within seconds.
    await server.stop();
    await popup.page.getByTestId('resume').click();
    await expect(popup.status).toHaveText('Offline', { timeout: 5_000 });
    await expect(popup.page.getByTestId('last-error')).toContainText('Could not reach the Gleaner server');
    await expectFits(popup, 'offline');

    // A label made while offline waits in the outbox.
    const assignmentId = (await popup.labelTask.getAttribute('data-assignment-id')) ?? '';
    expect(
      await popup.sendMessage('submitLabel', { assignmentId, answer: { type: 'single_choice', choice: 'positive' } }),
    ).toMatchObject({ ok: true });
    await expect(popup.outboxCount).toHaveText('1');
    await popup.page.close();

    // The server comes back on the same port and data; opening the popup uploads what waited.
    server = await startGleanerServer({ dataDir, port });
    const openedAt = Date.now();
    popup = await PopupPage.open(context, extensionId);
    const left = () => Math.max(0, 10_000 - (Date.now() - openedAt));
    await expect(popup.status).toHaveText('Connected', { timeout: left() });
    await expect(popup.outboxCount).toHaveText('0', { timeout: left() });
    expect(await labeledItems(server, apiKey, projectId)).toBe(1);

    // Labeling opens as a page of its own.
    const opened = context.waitForEvent('page');
    await popup.page.getByTestId('open-labeling').click();
    expect((await opened).url()).toBe(`chrome-extension://${extensionId}/labeling.html`);
  } finally {
    await context.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
});
