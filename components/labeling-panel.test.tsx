import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { setupMessages } from '@/entrypoints/background/messages';
import { createTestBackground } from '@/entrypoints/background/test-context';
import { readSettings, writeSettings } from '@/lib/settings';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { DbProvider } from './db-context';
import { LabelingPanel } from './labeling-panel';
import { useSettings } from './use-settings';

freshFakeBrowserForEachTest();
afterEach(cleanup);

/** The panel as the popup shows it: live settings, with a text field beside it to type into. */
function LivePanel() {
  const settings = useSettings();
  return (
    <>
      <input aria-label="Note" data-testid="note" />
      {settings && <LabelingPanel settings={settings} />}
    </>
  );
}

type Items = Parameters<ReturnType<typeof createTestBackground>['server']['addItems']>[0];

/** A consented, connected background with `items` on its fake server, and the panel talking to it. */
async function renderPanel(items: Items = [{ id: 'review-1' }, { id: 'review-2' }, { id: 'review-3' }]) {
  const background = createTestBackground();
  await background.handlers.setConsent({ given: true });
  background.server.addItems(items);
  setupMessages(background.handlers);
  render(
    <DbProvider db={background.ctx.db}>
      <LivePanel />
    </DbProvider>,
  );
  const user = userEvent.setup();
  const task = await screen.findByTestId('label-task');
  return { ...background, user, task };
}

const assignmentIdShown = () => screen.getByTestId('label-task').getAttribute('data-assignment-id');
const waitForTask = (assignmentId: string) => waitFor(() => expect(assignmentIdShown()).toBe(assignmentId));
const uploadedLabels = (server: { received: { path: string; body: string }[] }) =>
  server.received
    .filter((request) => request.path === '/v1/results')
    .flatMap((request) => JSON.parse(request.body).results as Record<string, unknown>[]);

describe('the labeling panel, from the keyboard', () => {
  it('shows the task text; a number key chooses, Enter submits and the next task follows', async () => {
    const { user, server, labeling } = await renderPanel();
    expect(assignmentIdShown()).toBe('9001');
    expect(screen.getByTestId('task-text').textContent).toBe('Review review-1');
    expect(screen.getByTestId('choice-1').getAttribute('aria-pressed')).toBe('false');

    await user.keyboard('1');
    expect(screen.getByTestId('choice-1').getAttribute('aria-pressed')).toBe('true');
    await user.keyboard('2');
    expect(screen.getByTestId('choice-1').getAttribute('aria-pressed')).toBe('false');
    expect(screen.getByTestId('choice-2').getAttribute('aria-pressed')).toBe('true');

    await user.keyboard('{Enter}');
    await waitForTask('9002');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)).toMatchObject([
      { kind: 'label', assignmentId: '9001', answer: { type: 'single_choice', choice: 'negative' } },
    ]);
    expect(screen.getByTestId('choice-2').getAttribute('aria-pressed')).toBe('false');
  });

  it('does nothing on Enter until an answer is chosen, and says so', async () => {
    const { user, ctx } = await renderPanel();
    expect((screen.getByTestId('submit-label') as HTMLButtonElement).disabled).toBe(true);
    await user.keyboard('{Enter}');
    expect(await screen.findByText(/Choose an answer first/)).toBeDefined();
    expect(assignmentIdShown()).toBe('9001');
    expect(await ctx.db.outbox.count()).toBe(0);
  });

  it('skips with S: the server gets a skip and the next task shows', async () => {
    const { user, server, labeling } = await renderPanel();
    await user.keyboard('s');
    await waitForTask('9002');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)).toEqual([
      { kind: 'label', assignmentId: '9001', labeledAt: expect.any(String), skipped: true },
    ]);
  });

  it('shows the keys with ?, hides them with ? or Escape, and shows the instructions with I', async () => {
    const { user } = await renderPanel();
    expect(screen.queryByTestId('keys-help')).toBeNull();
    await user.keyboard('?');
    expect(screen.getByTestId('keys-help').textContent).toMatch(/Enter.*submit/);
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('keys-help')).toBeNull();
    await user.keyboard('?');
    await user.keyboard('?');
    expect(screen.queryByTestId('keys-help')).toBeNull();
    await user.keyboard('i');
    expect(screen.getByTestId('instructions').textContent).toContain('Is the review positive or negative?');
  });

  it('leaves keys alone while the person types in a field', async () => {
    const { user, ctx } = await renderPanel();
    await user.click(screen.getByTestId('note'));
    await user.keyboard('1s?{Enter}');
    expect((screen.getByTestId('note') as HTMLInputElement).value).toBe('1s?');
    expect(screen.getByTestId('choice-1').getAttribute('aria-pressed')).toBe('false');
    expect(screen.queryByTestId('keys-help')).toBeNull();
    expect(assignmentIdShown()).toBe('9001');
    expect(await ctx.db.outbox.count()).toBe(0);
  });

  it('toggles several answers of a multi choice task with number keys', async () => {
    const { user, server, labeling } = await renderPanel([
      { id: 'photo', labelSchema: { type: 'multi_choice', choices: ['cat', 'dog', 'bird'] } },
    ]);
    await user.keyboard('3');
    await user.keyboard('1');
    await user.keyboard('3');
    await user.keyboard('2');
    expect(['1', '2', '3'].map((n) => screen.getByTestId(`choice-${n}`).getAttribute('aria-pressed'))).toEqual([
      'true',
      'true',
      'false',
    ]);
    await user.keyboard('{Enter}');
    await screen.findByTestId('no-tasks');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)[0]?.answer).toEqual({ type: 'multi_choice', choices: ['cat', 'dog'] });
  });
});

describe('the labeling panel, with the mouse', () => {
  it('chooses, opens the instructions and submits with buttons', async () => {
    const { user, server, labeling } = await renderPanel();
    await user.click(screen.getByTestId('show-instructions'));
    expect(screen.getByTestId('instructions').textContent).toContain('Is the review positive or negative?');
    expect(screen.getByTestId('show-instructions').getAttribute('aria-expanded')).toBe('true');
    await user.click(screen.getByTestId('show-keys'));
    expect(screen.getByTestId('keys-help')).toBeDefined();

    await user.click(screen.getByTestId('choice-1'));
    expect(screen.getByTestId('choice-1').getAttribute('aria-pressed')).toBe('true');
    await user.click(screen.getByTestId('submit-label'));
    await waitForTask('9002');
    await user.click(screen.getByTestId('skip-task'));
    await waitForTask('9003');
    await act(() => labeling.idle());
    expect(uploadedLabels(server).map((label) => [label.assignmentId, label.skipped])).toEqual([
      ['9001', false],
      ['9002', true],
    ]);
  });

  it('still submits with Enter after the instructions or keys were opened with a click', async () => {
    const { user } = await renderPanel();
    await user.click(screen.getByTestId('show-instructions'));
    await user.click(screen.getByTestId('show-keys'));
    await user.keyboard('1{Enter}');
    await waitForTask('9002');
    expect(screen.getByTestId('keys-help')).toBeDefined();
  });

  it('submits with Enter after a choice was clicked, without pressing the focused choice again', async () => {
    const { user, server, labeling } = await renderPanel([
      { id: 'photo', labelSchema: { type: 'multi_choice', choices: ['cat', 'dog'] } },
    ]);
    await user.click(screen.getByTestId('choice-2'));
    await user.keyboard('{Enter}');
    await screen.findByTestId('no-tasks');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)[0]?.answer).toEqual({ type: 'multi_choice', choices: ['dog'] });
  });
});

describe('what the panel shows', () => {
  it('shows a pairwise task: the prompt on top, the two answers side by side; 2 prefers the right one', async () => {
    const { user, server, labeling } = await renderPanel([
      {
        id: 'eggs',
        labelSchema: { type: 'pairwise' },
        content: { type: 'pairwise', prompt: 'How do I boil an egg?', answers: ['Boil it.', 'Simmer 9 minutes.'] },
        leftIsA: false,
      },
    ]);
    expect(screen.getByTestId('task-prompt').textContent).toBe('How do I boil an egg?');
    expect(screen.getByTestId('task-left').textContent).toBe('Simmer 9 minutes.');
    expect(screen.getByTestId('task-right').textContent).toBe('Boil it.');
    expect(['1', '2', '3'].map((n) => screen.getByTestId(`choice-${n}`).textContent)).toEqual([
      '1Left is better',
      '2Right is better',
      '3Tie',
    ]);
    await user.keyboard('2{Enter}');
    await screen.findByTestId('no-tasks');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)[0]?.answer).toEqual({ type: 'pairwise', preferred: 'right' });
    expect(server.labels[0]?.value).toEqual({ type: 'pairwise', preferred: 'a' });
  });

  it('shows an image the background fetched, as inline bytes, with its caption as alt text', async () => {
    const { imageHost, ctx } = await renderPanel([
      {
        id: 'photo',
        labelSchema: { type: 'single_choice', choices: ['cat', 'dog'] },
        content: { type: 'image', imageUrl: 'https://images.example/cat.png', caption: 'A pet on a sofa' },
      },
    ]);
    const image = (await screen.findByTestId('task-image')) as HTMLImageElement;
    expect(image.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(image.alt).toBe('A pet on a sofa');
    expect(imageHost.requested).toEqual(['https://images.example/cat.png']);
    expect((await ctx.db.fetchLog.toArray()).map((row) => [row.kind, row.url, row.outcome])).toEqual([
      ['image', 'https://images.example/cat.png', 'ok'],
    ]);
  });

  it('never lets the popup request an image on a private address: it says why and can still be answered', async () => {
    const { imageHost, user, server, labeling } = await renderPanel([
      {
        id: 'router',
        labelSchema: { type: 'single_choice', choices: ['cat', 'dog'] },
        content: { type: 'image', imageUrl: 'http://192.168.1.1/cgi-bin/luci?reboot=1' },
      },
    ]);
    expect((await screen.findByTestId('task-image-refused')).textContent).toMatch(
      /^This image could not be loaded safely: /,
    );
    expect(document.querySelectorAll('img')).toHaveLength(0);
    expect(imageHost.requested).toEqual([]);
    await user.keyboard('s');
    await screen.findByTestId('no-tasks');
    await act(() => labeling.idle());
    expect(server.taskLeases.get('9001')?.state).toBe('skipped');
  });

  it('marks spans: text selected with the mouse gets the label of the number pressed; spans can be removed', async () => {
    const text = 'Ada Lovelace lived in London.';
    const { user, server, labeling } = await renderPanel([
      { id: 'bio', labelSchema: { type: 'spans', labels: ['person', 'place'] }, content: { type: 'text', text } },
    ]);
    const select = (from: number, to: number) => {
      const container = screen.getByTestId('task-text');
      const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
      const nodes: Text[] = [];
      while (walker.nextNode()) nodes.push(walker.currentNode as Text);
      const at = (offset: number): [Text, number] => {
        let left = offset;
        for (const node of nodes) {
          if (left <= node.data.length) return [node, left];
          left -= node.data.length;
        }
        throw new Error('offset past the text');
      };
      const range = document.createRange();
      range.setStart(...at(from));
      range.setEnd(...at(to));
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
    };

    await user.keyboard('1');
    expect(await screen.findByText(/Select some of the text first/)).toBeDefined();

    select(0, 13); // "Ada Lovelace " — the trailing space is left out
    await user.keyboard('1');
    select(22, 28);
    await user.click(screen.getByTestId('choice-2'));
    select(0, 3);
    await user.keyboard('2');
    const spans = () => within(screen.getByTestId('span-list')).getAllByTestId('span');
    expect(spans().map((item) => item.textContent)).toEqual([
      expect.stringContaining('place: “Ada”'),
      expect.stringContaining('person: “Ada Lovelace”'),
      expect.stringContaining('place: “London”'),
    ]);
    expect(screen.getByTestId('task-text').textContent).toBe(text);
    expect(screen.getByTestId('task-text').querySelectorAll('mark').length).toBeGreaterThan(0);

    await user.click(screen.getByRole('button', { name: 'Remove place “Ada”' }));
    expect(spans()).toHaveLength(2);
    await user.keyboard('{Enter}');
    await screen.findByTestId('no-tasks');
    await act(() => labeling.idle());
    expect(uploadedLabels(server)[0]?.answer).toEqual({
      type: 'spans',
      spans: [
        { start: 0, end: 12, label: 'person' },
        { start: 22, end: 28, label: 'place' },
      ],
    });
    expect(server.labels).toHaveLength(1);
  });

  it('after a submission shows the share of check questions answered right, warming up, and label points', async () => {
    const gold = { type: 'single_choice', choice: 'positive' } as const;
    const { user, labeling } = await renderPanel([
      { id: 'check-1', gold },
      { id: 'check-2', gold },
      { id: 'review-1' },
    ]);
    expect(screen.queryByTestId('gold-accuracy')).toBeNull();
    await user.keyboard('1{Enter}');
    await act(() => labeling.idle());
    await waitFor(() => expect(screen.getByTestId('gold-accuracy').textContent).toMatch(/^100%/));
    expect(screen.getByTestId('gold-accuracy').textContent).toContain('(warming up: 1 of 3 checks)');
    await user.keyboard('2{Enter}');
    await act(() => labeling.idle());
    await waitFor(() => expect(screen.getByTestId('gold-accuracy').textContent).toMatch(/^50%/));
    expect(screen.getByTestId('gold-accuracy').textContent).toContain('(warming up: 2 of 3 checks)');
    expect(screen.getByTestId('label-points').textContent).toBe('0 pending, 5 verified');
    expect(screen.queryByTestId('labeling-status')).toBeNull();
  });

  it('says prominently why labels stop counting when the labeler is below the threshold', async () => {
    const gold = { type: 'single_choice', choice: 'positive' } as const;
    const { user, labeling, ctx } = await renderPanel([
      { id: 'check-1', gold },
      { id: 'check-2', gold },
      { id: 'check-3', gold },
      { id: 'review-1' },
    ]);
    for (let i = 0; i < 3; i += 1) {
      const shown = assignmentIdShown();
      await user.keyboard(i === 0 ? '1{Enter}' : '2{Enter}');
      await waitFor(() => expect(assignmentIdShown()).not.toBe(shown));
      await act(() => labeling.idle());
    }
    const status = await screen.findByTestId('labeling-status');
    expect(status.textContent).toMatch(/33%, below the 60% needed: your labels do not count or earn/);
    expect(screen.getByTestId('gold-accuracy').textContent).toBe('33%');
    expect((await readSettings(ctx.db)).labelerStanding?.earning).toBe(false);
  });

  it('shows an explicit empty state when there is no task, and finds new ones on request', async () => {
    const background = createTestBackground();
    await background.handlers.setConsent({ given: true });
    setupMessages(background.handlers);
    render(
      <DbProvider db={background.ctx.db}>
        <LivePanel />
      </DbProvider>,
    );
    expect((await screen.findByTestId('no-tasks')).textContent).toMatch(/No labeling tasks right now/);
    background.server.addItems([{ id: 'review-1' }]);
    await userEvent.setup().click(screen.getByTestId('check-tasks'));
    await waitForTask('9001');
  });

  it('says when the server is busy and until when Gleaner waits before asking again', async () => {
    const background = createTestBackground();
    await background.handlers.setConsent({ given: true });
    background.server.addItems([{ id: 'review-1' }]);
    background.server.misbehave('/v1/tasks/lease', {
      status: 503,
      body: { code: 'overloaded', message: 'The server is busy.' },
      headers: { 'retry-after': '120' },
    });
    setupMessages(background.handlers);
    render(
      <DbProvider db={background.ctx.db}>
        <LivePanel />
      </DbProvider>,
    );
    await waitFor(() =>
      expect(screen.getByTestId('no-tasks').textContent).toMatch(
        /^The server is busy and asked Gleaner to wait: new tasks can come after /,
      ),
    );
    await userEvent.setup().click(screen.getByTestId('check-tasks'));
    expect(background.server.received.filter((request) => request.path === '/v1/tasks/lease')).toHaveLength(1);
  });

  it('goes on labeling while page fetching is paused: a pause stops fetching only', async () => {
    const { ctx, user } = await renderPanel();
    await act(() => writeSettings(ctx.db, { pausedUntil: Date.now() + 60 * 60_000 }));
    await waitForTask('9001');
    await user.keyboard('1{Enter}');
    await waitForTask('9002');
    expect(screen.queryByTestId('no-tasks')).toBeNull();
  });
});
