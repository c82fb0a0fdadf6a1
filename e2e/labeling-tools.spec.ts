import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { projectCreatedSchema, projectLabelsSchema } from '@protocol/labeling';
import { createBuyerKey } from './admin-api';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { startGleanerServer } from './gleaner-server';
import { LabelingPanel } from './pages/labeling-panel';
import { OptionsPage } from './pages/options-page';
import { PopupPage } from './pages/popup-page';

const sentiment = { type: 'single_choice', choices: ['positive', 'negative'] };
const reviews = Array.from({ length: 4 }, (_, i) => ({
  id: `tool-${i}`,
  content: { type: 'text', text: `Tool review ${i}: sturdy and sharp` },
}));

test('labeling page: choose a project, read its examples, undo a label before it is sent (it never reaches the server); an uploaded one cannot be undone', async () => {
  test.setTimeout(180_000);
  const server = await startGleanerServer();
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  const context = await launchWithExtension(profile);
  try {
    const apiKey = await createBuyerKey(server);
    const createProject = async (body: Record<string, unknown>) => {
      const response = await fetch(`${server.url}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ labelSchema: sentiment, overlap: 1, goldRate: 0, ...body }),
      });
      expect(response.status).toBe(201);
      return projectCreatedSchema.parse(await response.json()).project;
    };
    // The older project would come first without a choice.
    await createProject({
      name: 'Kitchen reviews',
      instructions: 'Is the review positive or negative?',
      items: [{ id: 'pan-1', content: { type: 'text', text: 'A pan that sticks' } }],
    });
    const project = await createProject({
      name: 'Tool reviews',
      instructions: 'Is the tool review positive or negative?',
      examples: [
        {
          content: { type: 'text', text: 'Dull after one use.' },
          answer: { type: 'single_choice', choice: 'negative' },
          explanation: 'A tool that stops working is negative.',
        },
      ],
      items: reviews,
    });
    const labelsOf = async (text: string) => {
      const response = await fetch(`${server.url}/v1/projects/${project.id}/labels?limit=100`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      const items = projectLabelsSchema.parse(await response.json()).items;
      const item = items.find((entry) => entry.content.type === 'text' && entry.content.text === text);
      if (!item) throw new Error(`no item "${text}" in the project`);
      return item.labels.map((label) => label.value);
    };

    const extensionId = await extensionIdOf(context);
    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(server.url);
    const popup = await PopupPage.open(context, extensionId);
    await expect(popup.status).toHaveText('Connected', { timeout: 30_000 });
    await popup.page.close();

    const panel = await LabelingPanel.openPage(context, extensionId);
    await expect(panel.projectChoice).toBeVisible({ timeout: 30_000 });
    await panel.projectChoice.selectOption({ label: 'Tool reviews' });
    await expect(panel.projectProgress).toHaveText('0 of 4 items done by the crowd; you did 0.');
    await expect(panel.instructions).toContainText('Is the tool review positive or negative?');
    await expect(panel.examples).toHaveCount(1);
    await expect(panel.examples.first()).toContainText('Dull after one use.');
    await expect(panel.examples.first()).toContainText('Correct answer: negative');
    await expect(panel.examples.first()).toContainText('A tool that stops working is negative.');

    // Label, then undo at once: the task comes back, and the label never goes up.
    const first = await panel.current();
    expect(first.text).toMatch(/^Tool review/);
    await panel.answerWithKeys(1);
    await expect(panel.recentLabel(first.id)).toHaveAttribute('data-state', 'queued');
    await expect(panel.undoWindow).toContainText(/Sent in \d s unless you undo it/);
    await panel.undo.click();
    await expect(panel.task).toHaveAttribute('data-assignment-id', first.id);
    await expect(panel.recentLabel(first.id)).toHaveCount(0);
    // Skip it instead: a skip is no label, so the item must end with none at all.
    await panel.page.keyboard.press('s');
    await expect(panel.recentLabel(first.id)).toHaveAttribute('data-state', 'accepted', { timeout: 30_000 });
    await expect(panel.recentLabel(first.id)).toContainText('skipped');
    expect(await labelsOf(first.text)).toEqual([]);

    // Label the next one and let it go up: undo now says why it cannot.
    const second = await panel.current();
    expect(second.id).not.toBe(first.id);
    await panel.answerWithKeys(2);
    await expect(panel.recentLabel(second.id)).toHaveAttribute('data-state', 'accepted', { timeout: 30_000 });
    await expect(panel.recentLabel(second.id)).toContainText('Uploaded');
    await panel.undo.click();
    await expect(panel.error).toContainText('already sent to the server, so it cannot be undone');
    expect(await labelsOf(second.text)).toEqual([{ type: 'single_choice', choice: 'negative' }]);
    expect(await labelsOf(first.text)).toEqual([]);
    await expect(panel.projectProgress).toContainText('you did 1', { timeout: 15_000 });
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
});
