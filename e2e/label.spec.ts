import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { deviceDetailSchema } from '@protocol/devices';
import { projectCreatedSchema, projectLabelsSchema } from '@protocol/labeling';
import { createBuyerKey } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { startGleanerServer } from './gleaner-server';
import { LabelingPanel } from './pages/labeling-panel';
import { OptionsPage } from './pages/options-page';
import { PopupPage } from './pages/popup-page';

const work = Array.from({ length: 6 }, (_, i) => ({
  id: `review-${i}`,
  content: { type: 'text', text: `Review ${i}: ${i % 2 === 0 ? 'wonderful, would buy again' : 'broke after a day'}` },
}));
const gold = Array.from({ length: 5 }, (_, i) => ({
  id: `check-${i}`,
  content: { type: 'text', text: `Check ${i}: absolutely wonderful` },
  gold: { type: 'single_choice', choice: 'positive' },
}));

test('a labeler completes a project with the keyboard alone; gold mistakes show, labels and points reach the API', async () => {
  test.setTimeout(180_000);
  // Labels settle as soon as their item is aggregated, so the verified points below show within the test.
  const server = await startGleanerServer({ env: { GLEANER_LABEL_SETTLE_SECONDS: '0' } });
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  const context = await launchWithExtension(profile);
  try {
    const apiKey = await createBuyerKey(server);
    const response = await fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'product reviews',
        instructions: 'Is the review positive or negative?',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        overlap: 1,
        goldRate: 0.4,
        items: [...work, ...gold],
      }),
    });
    expect(response.status).toBe(201);
    const { project } = projectCreatedSchema.parse(await response.json());

    const extensionId = await extensionIdOf(context);
    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(server.url);
    const popup = await PopupPage.open(context, extensionId);
    await expect(popup.status).toHaveText('Connected', { timeout: 30_000 });
    const address = ((await popup.deviceAddress.textContent()) ?? '').trim();

    // Labeling is its own focused view (the popup links to it).
    const panel = await LabelingPanel.openPage(context, extensionId);
    // Keys work once the panel is up (a key pressed while the page still loads its state is lost).
    await panel.task.or(panel.noTasks).waitFor({ timeout: 30_000 });
    await panel.page.keyboard.press('?');
    await expect(panel.keysHelp).toBeVisible();
    await panel.page.keyboard.press('Escape');

    let goldSeen = 0;
    const shownAccuracy: string[] = [];
    for (let answered = 0; answered < work.length + gold.length; answered += 1) {
      const next = await Promise.race([
        panel.task.waitFor({ timeout: 30_000 }).then(() => 'task' as const),
        panel.noTasks.waitFor({ timeout: 30_000 }).then(() => 'done' as const),
      ]);
      if (next === 'done') break;
      const task = await panel.current();
      const isGold = task.text.startsWith('Check');
      // Answer the second gold question wrong on purpose; everything else right.
      const positive = task.text.includes('wonderful');
      const wrong = isGold && goldSeen === 1;
      await panel.answerWithKeys(positive !== wrong ? 1 : 2);
      // The next task (or the end) replaces this one.
      await expect.poll(() => panel.hasMovedOn(task.id), { timeout: 15_000 }).toBe(true);
      if (isGold) {
        goldSeen += 1;
        await expect(panel.goldAccuracy).toContainText(goldSeen === 1 ? '100%' : goldSeen === 2 ? '50%' : '%', {
          timeout: 30_000,
        });
        shownAccuracy.push(((await panel.goldAccuracy.textContent()) ?? '').trim());
      }
    }
    await expect(panel.noTasks).toBeVisible({ timeout: 30_000 });
    expect(goldSeen).toBeGreaterThanOrEqual(2);
    expect(shownAccuracy[0]).toContain('100%');
    expect(shownAccuracy[1]).toContain('50%');

    // The server aggregated every work item as the labeler answered it.
    await expect
      .poll(
        async () => {
          const labels = await fetch(`${server.url}/v1/projects/${project.id}/labels?limit=100`, {
            headers: { authorization: `Bearer ${apiKey}` },
          });
          const items = projectLabelsSchema.parse(await labels.json()).items.filter((item) => !item.gold);
          return items.map((item) => `${item.id}=${item.aggregate?.label ?? '?'}`).sort();
        },
        { timeout: 30_000 },
      )
      .toEqual(work.map((item, i) => `${item.id}=${i % 2 === 0 ? 'positive' : 'negative'}`).sort());

    await expect
      .poll(
        async () => {
          const detail = await fetch(`${server.url}/v1/admin/devices/${address}`, {
            headers: { authorization: `Bearer ${server.operatorToken}` },
          });
          return deviceDetailSchema.parse(await detail.json()).labeling.points.verified;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0);
    await expect(panel.points).toContainText(/\d/);
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
});
