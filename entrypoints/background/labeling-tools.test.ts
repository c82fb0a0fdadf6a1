import { describe, expect, it } from 'vitest';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { createTestBackground } from './test-context';

freshFakeBrowserForEachTest();

const positive = { type: 'single_choice', choice: 'positive' } as const;
const negative = { type: 'single_choice', choice: 'negative' } as const;
const undoWindow = 60_000;
const otherProject = '0b4a1c9e-2d3f-4e5a-8b6c-7d8e9f0a1b2c';

/** A consented, connected labeler with `count` items on the fake server; labels wait `holdMs` before they go up. */
async function labeler(count: number, holdMs: number) {
  const server = createFakeGleanerServer();
  const background = createTestBackground({ server, labelHoldMs: holdMs });
  await background.handlers.setConsent({ given: true });
  server.addItems(Array.from({ length: count }, (_, i) => ({ id: `review-${i + 1}` })));
  return background;
}

/** Every assignment id the server received in a result batch, in order. */
const uploadedIds = (server: { received: { path: string; body: string }[] }) =>
  server.received
    .filter((request) => request.path === '/v1/results')
    .flatMap((request) => (JSON.parse(request.body).results as { assignmentId: string }[]).map((r) => r.assignmentId));

describe('undoing a label', () => {
  it('takes back a label before it is sent: it never reaches the server, and its task comes back first', async () => {
    const background = await labeler(4, undoWindow);
    const { handlers, server, labeling, clock } = background;
    const first = await handlers.getNextTask({});
    const assignmentId = first.task?.assignmentId ?? '';
    await handlers.submitLabel({ assignmentId, answer: negative });
    // A sync inside the window sends nothing: the label is held back.
    await labeling.onConnected();
    await labeling.idle();
    expect(uploadedIds(server)).toEqual([]);
    expect(await handlers.getRecentLabels({})).toMatchObject({
      labels: [{ assignmentId, state: 'queued', summary: 'negative', projectName: 'Product reviews' }],
      undoableUntil: clock.now + undoWindow,
    });

    const again = await handlers.undoLabel({});
    expect(again.task?.assignmentId).toBe(assignmentId);
    expect((await handlers.getRecentLabels({})).labels).toEqual([]);

    // Answered again, the new answer alone goes up once its window has passed.
    await handlers.submitLabel({ assignmentId, answer: positive });
    clock.now += undoWindow;
    await labeling.onConnected();
    await labeling.idle();
    expect(uploadedIds(server)).toEqual([assignmentId]);
    expect(server.labels.map((label) => [label.assignmentId, label.value])).toEqual([[assignmentId, positive]]);
    expect((await handlers.getRecentLabels({})).labels).toMatchObject([{ assignmentId, state: 'accepted' }]);
  });

  it('refuses to undo a label already sent, says so, and the server keeps it once', async () => {
    const background = await labeler(3, 0);
    const { handlers, server, labeling } = background;
    const { task } = await handlers.getNextTask({});
    await handlers.submitLabel({ assignmentId: task?.assignmentId ?? '', answer: positive });
    await labeling.idle();
    expect(await handlers.getRecentLabels({})).toMatchObject({
      labels: [{ assignmentId: task?.assignmentId, state: 'accepted' }],
      undoableUntil: null,
    });
    await expect(handlers.undoLabel({})).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already sent to the server, so it cannot be undone/),
    });
    expect(server.labels.map((label) => label.assignmentId)).toEqual([task?.assignmentId]);
    // The queue did not get the task back.
    expect((await handlers.getNextTask({})).task?.assignmentId).not.toBe(task?.assignmentId);
  });

  it('an undo racing the upload either wins and nothing is sent, or loses and says so: never both', async () => {
    for (let round = 0; round < 6; round += 1) {
      const background = await labeler(2, undoWindow);
      const { handlers, server, labeling, clock } = background;
      const { task } = await handlers.getNextTask({});
      const assignmentId = task?.assignmentId ?? '';
      await handlers.submitLabel({ assignmentId, answer: positive });
      clock.now += undoWindow;
      // Start the upload and the undo together, in either order.
      const [undo] =
        round % 2 === 0
          ? await Promise.allSettled([handlers.undoLabel({}), labeling.onConnected()])
          : await Promise.allSettled([labeling.onConnected().then(() => handlers.undoLabel({}))]);
      await labeling.idle();
      if (undo?.status === 'fulfilled') {
        expect(uploadedIds(server)).toEqual([]);
        expect(server.labels).toEqual([]);
        expect(undo.value.task?.assignmentId).toBe(assignmentId);
      } else {
        expect(undo?.reason).toMatchObject({ code: 'conflict' });
        expect(uploadedIds(server)).toEqual([assignmentId]);
        expect(server.labels.map((label) => label.assignmentId)).toEqual([assignmentId]);
      }
    }
  });

  it('says there is nothing to undo before any label', async () => {
    const { handlers } = await labeler(1, undoWindow);
    await expect(handlers.undoLabel({})).rejects.toMatchObject({ code: 'not_found' });
  });

  it('keeps a label the server refused among the recent labels, with the reason', async () => {
    const background = await labeler(2, 0);
    const { handlers, labeling } = background;
    const { task } = await handlers.getNextTask({});
    // An answer outside the choices passes no check on the way out (the task row is gone), and the server refuses it.
    await background.ctx.db.tasks.update(task?.assignmentId ?? '', {
      task: {
        ...(task as NonNullable<typeof task>),
        labelSchema: { type: 'single_choice', choices: ['positive', 'meh'] },
      },
    });
    await handlers.submitLabel({
      assignmentId: task?.assignmentId ?? '',
      answer: { type: 'single_choice', choice: 'meh' },
    });
    await labeling.idle();
    const [shown] = (await handlers.getRecentLabels({})).labels;
    expect(shown).toMatchObject({ state: 'rejected', summary: 'meh', reason: expect.stringMatching(/did not fit/) });
  });
});

describe('choosing a project', () => {
  it('lists the projects with work, leases only from the chosen one, and goes back to any', async () => {
    const background = await labeler(3, 0);
    const { handlers, server } = background;
    expect((await handlers.getNextTask({})).task?.projectName).toBe('Product reviews');
    server.addItems([
      { id: 'news-1', projectId: otherProject, projectName: 'News topics' },
      { id: 'news-2', projectId: otherProject, projectName: 'News topics' },
    ]);
    const listed = await handlers.getLabelingProjects({});
    expect(listed).toMatchObject({
      chosenProjectId: null,
      unavailable: null,
      // The reviews stay listed while their tasks wait in this labeler's queue.
      projects: [
        { name: 'Product reviews', items: 3, yourLabels: 0 },
        { id: otherProject, name: 'News topics', items: 2, yourLabels: 0 },
      ],
    });

    const chosen = await handlers.chooseProject({ projectId: otherProject });
    expect(chosen).toMatchObject({
      task: { projectName: 'News topics', content: { text: 'Review news-1' } },
      queued: 1,
    });
    const leases = server.received.filter((request) => request.path === '/v1/tasks/lease');
    expect(JSON.parse(leases.at(-1)?.body ?? '{}')).toEqual({ max: 5, projectId: otherProject });
    expect((await handlers.getLabelingProjects({})).chosenProjectId).toBe(otherProject);

    // Back to any project: the review tasks leased before are shown again (the oldest first).
    expect((await handlers.chooseProject({ projectId: null })).task?.projectName).toBe('Product reviews');
  });

  it('says why the projects cannot be listed while offline', async () => {
    const background = await labeler(1, 0);
    background.server.setReachable(false);
    await background.requestSync();
    expect(await background.handlers.getLabelingProjects({})).toMatchObject({
      projects: [],
      unavailable: expect.stringMatching(/not connected/),
    });
  });
});
