import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { setupMessages } from '@/entrypoints/background/messages';
import { createTestBackground } from '@/entrypoints/background/test-context';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { DbProvider } from './db-context';
import { LabelingPage } from './labeling-page';

freshFakeBrowserForEachTest();
afterEach(cleanup);

const undoWindow = 60_000;
const examples = [
  {
    content: { type: 'text' as const, text: 'Broke in a day.' },
    answer: { type: 'single_choice' as const, choice: 'negative' },
    explanation: 'A product that fails is negative.',
  },
];

async function renderPage() {
  const background = createTestBackground({ labelHoldMs: undoWindow });
  // The page counts the undo window down on the real clock: the background's must agree.
  background.clock.now = Date.now();
  await background.handlers.setConsent({ given: true });
  background.server.addItems([
    { id: 'review-1', examples },
    { id: 'review-2', examples },
  ]);
  setupMessages(background.handlers);
  render(
    <DbProvider db={background.ctx.db}>
      <LabelingPage />
    </DbProvider>,
  );
  await screen.findByTestId('label-task');
  return { ...background, user: userEvent.setup() };
}

const shownTask = () => screen.getByTestId('label-task').getAttribute('data-assignment-id');

describe('the labeling page', () => {
  it('shows the instructions with their worked examples, and the project with its progress', async () => {
    await renderPage();
    const example = within(screen.getByTestId('instructions')).getByTestId('example');
    expect(example.textContent).toContain('Broke in a day.');
    expect(example.textContent).toContain('Correct answer: negative');
    expect(example.textContent).toContain('A product that fails is negative.');
    expect((await screen.findByTestId('project-choice')).textContent).toContain('Any project with work');
  });

  it('undoes a label while it waits, then says why once it was sent', async () => {
    const { user, labeling, clock, server } = await renderPage();
    await user.keyboard('1{Enter}');
    await waitFor(() => expect(shownTask()).toBe('9002'));
    expect((await screen.findByTestId('undo-window')).textContent).toMatch(/Sent in \d+ s unless you undo it/);
    expect(screen.getByTestId('recent-label').getAttribute('data-state')).toBe('queued');

    await user.click(screen.getByTestId('undo-label'));
    await waitFor(() => expect(shownTask()).toBe('9001'));
    expect(await screen.findByTestId('no-recent-labels')).toBeDefined();

    await user.keyboard('2{Enter}');
    await waitFor(() => expect(shownTask()).toBe('9002'));
    clock.now += undoWindow;
    await act(() => labeling.onConnected());
    await act(() => labeling.idle());
    await waitFor(() => expect(screen.getByTestId('recent-label').getAttribute('data-state')).toBe('accepted'));
    expect(screen.getByTestId('recent-label').textContent).toContain('Uploaded');

    await user.click(screen.getByTestId('undo-label'));
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /already sent to the server, so it cannot be undone/,
    );
    expect(server.labels.map((label) => [label.assignmentId, label.value])).toEqual([
      ['9001', { type: 'single_choice', choice: 'negative' }],
    ]);
  });
});
