import { describe, expect, it } from 'vitest';
import type { FetchFn } from '@/lib/api-client';
import { sendMessage } from '@/lib/messages';
import { readSettings } from '@/lib/settings';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { setupMessages } from './messages';
import { createTestBackground } from './test-context';

freshFakeBrowserForEachTest();

const minute = 60_000;
const positive = { type: 'single_choice', choice: 'positive' } as const;
const requestsOf = (server: { received: { method: string; path: string }[] }) =>
  server.received.map((request) => `${request.method} ${request.path}`);
const leasesOf = (server: { received: { method: string; path: string; body: string }[] }) =>
  server.received.filter((request) => request.path === '/v1/tasks/lease').map((request) => JSON.parse(request.body));

/** A background that has consented and is connected, with `count` review items waiting on the server. */
async function connectedLabeler(count = 8, options: Parameters<typeof createTestBackground>[0] = {}) {
  const background = createTestBackground(options);
  await background.handlers.setConsent({ given: true });
  background.server.addItems(Array.from({ length: count }, (_, i) => ({ id: `review-${i + 1}` })));
  background.server.received.length = 0;
  return background;
}

describe('the task queue', () => {
  it('leases nothing before consent, and says why there is no task', async () => {
    const { handlers, server } = createTestBackground();
    server.addItems([{ id: 'review-1' }]);
    expect(await handlers.getNextTask({})).toEqual({ task: null, queued: 0, noTaskReason: 'no-consent' });
    expect(server.received).toEqual([]);
  });

  it('goes on labeling while fetching is paused: tasks are leased and labels go up', async () => {
    const background = await connectedLabeler();
    await background.handlers.pause({ until: background.clock.now + 60 * minute });
    background.server.received.length = 0;
    const next = await background.handlers.getNextTask({});
    expect(next).toMatchObject({ task: { assignmentId: '9001' }, noTaskReason: null });
    await background.handlers.submitLabel({ assignmentId: '9001', answer: positive });
    await background.labeling.idle();
    expect(requestsOf(background.server)).toContain('POST /v1/results');
    expect(await background.ctx.db.outbox.count()).toBe(0);
  });

  it('drops the queued tasks when consent is withdrawn, so none is shown afterwards', async () => {
    const background = await connectedLabeler();
    await background.handlers.getNextTask({});
    expect(await background.ctx.db.tasks.count()).toBe(5);
    await background.handlers.setConsent({ given: false });
    expect(await background.ctx.db.tasks.count()).toBe(0);
    expect(await background.handlers.getNextTask({})).toMatchObject({ task: null, noTaskReason: 'no-consent' });
  });

  it('prefetches five tasks on the first request and shows the oldest', async () => {
    const { handlers, server, ctx } = await connectedLabeler(8);
    const next = await handlers.getNextTask({});
    expect(next).toMatchObject({ task: { assignmentId: '9001', content: { text: 'Review review-1' } }, queued: 4 });
    expect(leasesOf(server)).toEqual([{ max: 5 }]);
    expect(await ctx.db.tasks.count()).toBe(5);
    // Asking again shows the same task and leases nothing more.
    expect((await handlers.getNextTask({})).task?.assignmentId).toBe('9001');
    expect(leasesOf(server)).toHaveLength(1);
  });

  it('refills up to five once fewer than two remain, while the labeler goes on', async () => {
    const background = await connectedLabeler(8);
    const { handlers, server, labeling } = background;
    let next = await handlers.getNextTask({});
    for (let i = 0; i < 3; i += 1) {
      next = await handlers.submitLabel({ assignmentId: next.task?.assignmentId ?? '', answer: positive });
    }
    await labeling.idle();
    expect(next.queued).toBe(1);
    expect(leasesOf(server)).toEqual([{ max: 5 }]);

    next = await handlers.submitLabel({ assignmentId: next.task?.assignmentId ?? '', answer: positive });
    expect(next).toMatchObject({ task: { assignmentId: '9005' } });
    await labeling.idle();
    expect(leasesOf(server)).toEqual([{ max: 5 }, { max: 4 }]);
    expect(await background.ctx.db.tasks.count()).toBe(4);
  });

  it('drops tasks whose lease has run out and leases fresh ones', async () => {
    const background = await connectedLabeler(6);
    await background.handlers.getNextTask({});
    background.clock.now += 15 * minute;
    const next = await background.handlers.getNextTask({});
    expect(next).toMatchObject({ task: { assignmentId: '9006', content: { text: 'Review review-6' } }, queued: 0 });
    expect(await background.ctx.db.tasks.toCollection().primaryKeys()).toEqual(['9006']);
  });

  it('drops a task a minute before its lease ends, leaving time to answer', async () => {
    const background = await connectedLabeler(1);
    await background.handlers.getNextTask({});
    background.clock.now += 14 * minute + 1;
    expect(await background.handlers.getNextTask({})).toMatchObject({ task: null, noTaskReason: 'none' });
    expect(await background.ctx.db.tasks.count()).toBe(0);
  });

  it('says when the server has no task, and when it cannot be reached', async () => {
    const background = await connectedLabeler(0);
    expect(await background.handlers.getNextTask({})).toEqual({ task: null, queued: 0, noTaskReason: 'none' });
    background.server.setReachable(false);
    expect(await background.handlers.getNextTask({})).toEqual({ task: null, queued: 0, noTaskReason: 'offline' });
  });

  it('waits out a busy server’s Retry-After before leasing tasks again, and says so', async () => {
    const background = await connectedLabeler(3);
    background.server.misbehave('/v1/tasks/lease', {
      status: 429,
      body: { code: 'rate_limited', message: 'Slow down.' },
      headers: { 'retry-after': '90' },
    });
    expect(await background.handlers.getNextTask({})).toEqual({ task: null, queued: 0, noTaskReason: 'busy' });
    expect((await readSettings(background.ctx.db)).nextTaskLeaseAt).toBe(background.clock.now + 90_000);

    background.clock.now += 60_000;
    expect(await background.handlers.getNextTask({})).toMatchObject({ task: null, noTaskReason: 'busy' });
    expect(leasesOf(background.server)).toHaveLength(1);

    background.clock.now += 30_000;
    expect(await background.handlers.getNextTask({})).toMatchObject({ task: { assignmentId: expect.any(String) } });
    expect(leasesOf(background.server)).toHaveLength(2);
  });

  it('leases nothing when the device is not connected', async () => {
    const background = await connectedLabeler(3);
    background.server.setReachable(false);
    await background.requestSync();
    expect((await readSettings(background.ctx.db)).connection.state).toBe('offline');
    background.server.received.length = 0;
    expect(await background.handlers.getNextTask({})).toMatchObject({ task: null, noTaskReason: 'offline' });
    expect(background.server.received).toEqual([]);
  });
});

describe('submitting a label', () => {
  it('writes the label to the outbox before the upload that carries it', async () => {
    const server = createFakeGleanerServer();
    const labelsWaitingAtUpload: number[] = [];
    const fetch: FetchFn = async (input, init) => {
      if (new URL(input).pathname === '/v1/results') {
        labelsWaitingAtUpload.push(await background.ctx.db.outbox.where('kind').equals('label').count());
      }
      return server.fetch(input, init);
    };
    const background = await connectedLabeler(3, { server, fetch });
    const { task } = await background.handlers.getNextTask({});
    await background.handlers.submitLabel({ assignmentId: task?.assignmentId ?? '', answer: positive });
    await background.labeling.idle();
    expect(labelsWaitingAtUpload).toEqual([1]);
    expect(await background.ctx.db.outbox.count()).toBe(0);
  });

  it('uploads at once in an authenticated (session) result batch, then stores the standing and points for the popup', async () => {
    const background = await connectedLabeler(3);
    const { handlers, server, ctx, labeling } = background;
    const { task } = await handlers.getNextTask({});
    const next = await handlers.submitLabel({ assignmentId: task?.assignmentId ?? '', answer: positive });
    expect(next.task?.assignmentId).not.toBe(task?.assignmentId);
    await labeling.idle();

    const upload = server.received.find((request) => request.path === '/v1/results');
    expect(upload?.headers['content-encoding']).toBe('gzip');
    expect(upload?.headers['x-gleaner-mac']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(upload?.body ?? '{}').results).toEqual([
      {
        kind: 'label',
        assignmentId: task?.assignmentId,
        labeledAt: new Date(background.clock.now).toISOString(),
        skipped: false,
        answer: positive,
      },
    ]);
    expect(server.labels).toMatchObject([{ itemId: 'review-1', value: positive }]);
    expect(requestsOf(server).slice(-3)).toEqual([
      'POST /v1/results',
      'GET /v1/devices/me/labeling',
      'GET /v1/devices/me/points',
    ]);
    expect((await readSettings(ctx.db)).labelerStanding).toMatchObject({
      goldAnswered: 0,
      goldAccuracy: null,
      earning: true,
      labels: 1,
      points: { pending: 5, verified: 0 },
      fetchedAt: background.clock.now,
    });
    expect((await readSettings(ctx.db)).points?.fetchedAt).toBe(background.clock.now);
  });

  it('sends pairwise answers as left/right as shown; the server maps them to its own order', async () => {
    const background = await connectedLabeler(0);
    background.server.addItems([
      {
        id: 'eggs',
        labelSchema: { type: 'pairwise' },
        content: { type: 'pairwise', prompt: 'How do I boil an egg?', answers: ['Boil it.', 'Simmer 9 minutes.'] },
        leftIsA: false,
      },
    ]);
    const { task } = await background.handlers.getNextTask({});
    expect(task?.content).toEqual({
      type: 'pairwise',
      prompt: 'How do I boil an egg?',
      left: 'Simmer 9 minutes.',
      right: 'Boil it.',
    });
    await background.handlers.submitLabel({
      assignmentId: task?.assignmentId ?? '',
      answer: { type: 'pairwise', preferred: 'left' },
    });
    await background.labeling.idle();
    const upload = background.server.received.find((request) => request.path === '/v1/results');
    expect(JSON.parse(upload?.body ?? '{}').results[0].answer).toEqual({ type: 'pairwise', preferred: 'left' });
    expect(background.server.labels[0]?.value).toEqual({ type: 'pairwise', preferred: 'b' });
  });

  it('skips a task: a record without an answer, and the item goes back to the server', async () => {
    const background = await connectedLabeler(2);
    const { task } = await background.handlers.getNextTask({});
    const next = await background.handlers.skipTask({ assignmentId: task?.assignmentId ?? '' });
    expect(next.task?.assignmentId).toBe('9002');
    await background.labeling.idle();
    const upload = background.server.received.find((request) => request.path === '/v1/results');
    expect(JSON.parse(upload?.body ?? '{}').results).toEqual([
      { kind: 'label', assignmentId: task?.assignmentId, labeledAt: expect.any(String), skipped: true },
    ]);
    expect(background.server.taskLeases.get(task?.assignmentId ?? '')?.state).toBe('skipped');
    expect(background.server.labels).toEqual([]);
  });

  it('refuses an answer that does not fit the task, and a task no longer queued, storing nothing', async () => {
    const background = await connectedLabeler(2);
    const { task } = await background.handlers.getNextTask({});
    const assignmentId = task?.assignmentId ?? '';
    await expect(
      background.handlers.submitLabel({ assignmentId, answer: { type: 'single_choice', choice: 'meh' } }),
    ).rejects.toMatchObject({ code: 'bad_request', message: '"meh" is not one of the choices.' });
    await expect(
      background.handlers.submitLabel({ assignmentId, answer: { type: 'pairwise', preferred: 'left' } }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(background.handlers.submitLabel({ assignmentId: '1', answer: positive })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await background.ctx.db.outbox.count()).toBe(0);
    expect(await background.ctx.db.tasks.count()).toBe(2);
  });

  it('shows the gold accuracy and, below the threshold, why labels stop counting', async () => {
    const background = await connectedLabeler(0);
    const gold = { type: 'single_choice', choice: 'positive' } as const;
    background.server.addItems(Array.from({ length: 3 }, (_, i) => ({ id: `check-${i}`, gold })));
    let next = await background.handlers.getNextTask({});
    for (const choice of ['negative', 'negative', 'positive']) {
      next = await background.handlers.submitLabel({
        assignmentId: next.task?.assignmentId ?? '',
        answer: { type: 'single_choice', choice },
      });
      await background.labeling.idle();
    }
    expect((await readSettings(background.ctx.db)).labelerStanding).toMatchObject({
      goldAnswered: 3,
      goldCorrect: 1,
      goldAccuracy: 1 / 3,
      earning: false,
      reason: expect.stringMatching(/33%, below the 60% needed/),
    });
  });

  it('goes through the message channel, validated on both sides', async () => {
    const background = await connectedLabeler(2);
    setupMessages(background.handlers);
    const first = await sendMessage('getNextTask', {});
    const next = await sendMessage('submitLabel', { assignmentId: first.task?.assignmentId ?? '', answer: positive });
    expect(next.task?.assignmentId).toBe('9002');
    await expect(
      sendMessage('submitLabel', {
        assignmentId: '9002',
        // @ts-expect-error: an answer type the protocol does not know, as a broken page might send
        answer: { type: 'ranking', order: [] },
      }),
    ).rejects.toMatchObject({ code: 'bad_request' });
  });
});

describe('labeling offline', () => {
  it('keeps serving queued tasks while the server is down; labels wait in the outbox and go up, once, when it is back', async () => {
    const background = await connectedLabeler(5);
    const { handlers, server, ctx, labeling } = background;
    let next = await handlers.getNextTask({});
    server.setReachable(false);
    const answered: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      answered.push(next.task?.assignmentId ?? '');
      next = await handlers.submitLabel({ assignmentId: next.task?.assignmentId ?? '', answer: positive });
      await labeling.idle();
    }
    expect(next.task?.assignmentId).toBe('9005');
    expect(await ctx.db.outbox.where('kind').equals('label').count()).toBe(4);
    expect(server.labels).toEqual([]);

    next = await handlers.submitLabel({ assignmentId: '9005', answer: positive });
    expect(next).toEqual({ task: null, queued: 0, noTaskReason: 'offline' });

    // The next sync reaches the server again and sends what waited.
    server.setReachable(true);
    background.clock.now += minute;
    await background.requestSync();
    await labeling.idle();
    expect(await ctx.db.outbox.count()).toBe(0);
    expect(server.labels.map((label) => label.assignmentId).sort()).toEqual([...answered, '9005'].sort());
    expect((await readSettings(ctx.db)).labelerStanding?.labels).toBe(5);
  });
});

describe('opening the popup', () => {
  it('reads the labeler standing with the points', async () => {
    const background = await connectedLabeler(0);
    await background.handlers.refreshPoints({});
    expect(requestsOf(background.server)).toEqual(['GET /v1/devices/me/points', 'GET /v1/devices/me/labeling']);
    expect((await readSettings(background.ctx.db)).labelerStanding).toMatchObject({ goldAnswered: 0, labels: 0 });
  });
});
