import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DbProvider } from '@/components/db-context';
import { sendMessage } from '@/lib/messages';
import { defaultSettings, writeSettings } from '@/lib/settings';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { createTestDb } from '@/lib/testing/test-db';
import { setupMessages } from '../background/messages';
import { createTestBackground } from '../background/test-context';
import { App } from './app';

freshFakeBrowserForEachTest();
afterEach(cleanup);

const address = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

/** The popup over a background (handlers, fake server) that has the popup's database. */
function renderPopup(options: { checkConnection?: () => Promise<unknown> } = {}) {
  const db = createTestDb();
  const background = createTestBackground({ db });
  setupMessages(background.handlers);
  const openOptions = vi.fn(async () => {});
  const openLabeling = vi.fn(async () => {});
  const refreshPoints = vi.fn(async () => {});
  // The real message, answered by the background above: the check reaches its fake server.
  const checkConnection = vi.fn(options.checkConnection ?? (() => sendMessage('checkConnection', {})));
  render(
    <DbProvider db={db}>
      <App
        version="1.2.3"
        openOptions={openOptions}
        openLabeling={openLabeling}
        refreshPoints={refreshPoints}
        checkConnection={checkConnection}
      />
    </DbProvider>,
  );
  return { db, openOptions, openLabeling, refreshPoints, checkConnection, background };
}

const consent = { given: true, at: 1, version: 1 };
const connected = { ...defaultSettings.connection, state: 'connected' as const, deviceAddress: address };
const logRow = {
  kind: 'page' as const,
  url: 'https://example.com/a',
  status: 200,
  outcome: 'ok' as const,
  reason: null,
  assignmentId: '1',
  rejection: null,
};

describe('popup', () => {
  it('shows No consent and the version before anything was agreed', async () => {
    renderPopup();
    expect((await screen.findByTestId('status')).textContent).toBe('No consent');
    expect(screen.getByTestId('version').textContent).toBe('1.2.3');
    expect(screen.queryByTestId('device-address')).toBeNull();
  });

  it('follows the state the background writes, without being reopened', async () => {
    // The popup's own server check would write the connection too, racing the states this test writes.
    const { db } = renderPopup({ checkConnection: async () => undefined });
    await screen.findByTestId('status');
    const consent = { given: true, at: 1, version: 1 };
    await writeSettings(db, { consent, connection: { ...defaultSettings.connection, state: 'registering' } });
    expect((await screen.findByText('Registering')).dataset.testid).toBe('status');

    await writeSettings(db, {
      connection: { ...defaultSettings.connection, state: 'connected', deviceAddress: address, lastContactAt: 2 },
    });
    expect(await screen.findByText('Connected')).toBeDefined();
    expect(screen.getByTestId('device-address').textContent).toBe(address);

    await writeSettings(db, {
      connection: {
        ...defaultSettings.connection,
        state: 'offline',
        deviceAddress: address,
        lastError: 'Could not reach the Gleaner server at https://gleaner.example.org.',
      },
    });
    expect((await screen.findByTestId('last-error')).textContent).toMatch(/^Could not reach the Gleaner server/);
    expect(screen.getByTestId('status').textContent).toBe('Offline');
  });

  it('shows today’s pages and bytes from the fetch log, the results waiting, and one points total with why some wait', async () => {
    const { db, refreshPoints } = renderPopup();
    await writeSettings(db, {
      consent,
      connection: connected,
      points: {
        pending: 2500,
        verified: 1200,
        rejected: 500,
        trust: 0.5,
        pendingExplained: {
          pendingPages: 25,
          auditsUnderWay: 2,
          auditsPassed: 5,
          auditsNeeded: 21,
          settlesBy: new Date(Date.now() + 5 * 60 * 60 * 1000).toISOString(),
          message:
            '25 pages wait for audits: 2 audits of your work are under way; 5 of the 21 passed audits your oldest pending page needs are in.',
        },
        recentRejections: [
          {
            reference: 'scrape:1:0x',
            url: 'https://example.com/b',
            reason: 'check page: the text differs',
            at: new Date().toISOString(),
          },
        ],
        fetchedAt: Date.now(),
      },
    });
    const yesterday = Date.now() - 2 * 24 * 60 * 60 * 1000;
    await db.fetchLog.bulkAdd([
      { ...logRow, at: Date.now(), bytes: 1500 },
      { ...logRow, at: Date.now(), bytes: 700, outcome: 'discarded', reason: 'too_large: big', assignmentId: '2' },
      { ...logRow, at: Date.now(), bytes: 300, assignmentId: '3' },
      { ...logRow, at: yesterday, bytes: 9999, assignmentId: '4' },
    ]);
    await db.outbox.add({ kind: 'scrape', createdAt: 1, payload: {}, batchId: '' });

    await waitFor(() => expect(screen.getByTestId('pages-today').textContent).toBe('2'));
    await waitFor(() => expect(screen.getByTestId('bytes-today').textContent).toBe('2500'));
    await waitFor(() => expect(screen.getByTestId('outbox-count').textContent).toBe('1'));
    expect(screen.getByTestId('points-verified').textContent).toBe('1,200');
    expect(screen.getByTestId('points-pending').textContent).toBe('2,500');
    expect(screen.getByTestId('points-pending-why').textContent).toMatch(
      /2 audits of your work are under way.*They should settle in about 5 hours/,
    );
    expect(screen.getByTestId('latest-rejection').textContent).toBe('Rejected lately: check page: the text differs');
    // One total: no second set of label points beside it.
    expect(screen.getAllByText(/verified/)).toHaveLength(1);
    await waitFor(() => expect(refreshPoints).toHaveBeenCalled());
  });

  it('shows whole points even from a copy stored before points were whole', async () => {
    const { db } = renderPopup();
    await writeSettings(db, {
      consent,
      connection: connected,
      points: { pending: 0, verified: 52.5, rejected: 0, trust: 1, recentRejections: [], fetchedAt: 1 },
    });
    await waitFor(() => expect(screen.getByTestId('points-verified').textContent).toBe('53'));
    expect(screen.queryByTestId('points-pending')).toBeNull();
  });

  it('says how many results were set aside as dead letters, only when there are some', async () => {
    const { db } = renderPopup();
    await writeSettings(db, { consent, connection: connected });
    await screen.findByTestId('pages-today');
    expect(screen.queryByTestId('dead-letter-count')).toBeNull();
    await db.deadLetters.add({
      at: 1,
      batchId: 'b',
      code: 'bad_request',
      message: 'The body is not JSON.',
      records: [
        { kind: 'scrape', createdAt: 1, payload: {} },
        { kind: 'label', createdAt: 2, payload: {} },
      ],
    });
    expect((await screen.findByTestId('dead-letter-count')).textContent).toBe(
      '2 results could not be uploaded and were set aside. The settings page says why.',
    );
  });

  it('shows the next label task and opens labeling as its own page', async () => {
    const { background, openLabeling } = renderPopup();
    background.server.addItems([{ id: 'review-1' }, { id: 'review-2' }]);
    await background.handlers.setConsent({ given: true });
    const task = await screen.findByTestId('label-task');
    expect(task.getAttribute('data-assignment-id')).toBe('9001');
    expect(task.textContent).toBe('Review review-1');
    expect(screen.getByTestId('tasks-ready').textContent).toMatch(/^2 ready · /);
    await userEvent.setup().click(screen.getByTestId('open-labeling'));
    expect(openLabeling).toHaveBeenCalledOnce();
  });

  it('says how to get a task when there is none', async () => {
    const { background } = renderPopup();
    await background.handlers.setConsent({ given: true });
    expect((await screen.findByText(/^No labeling tasks right now/)).dataset.testid).toBe('no-task');
    expect(screen.getByTestId('open-labeling').textContent).toBe('Open labeling');
  });

  it('offers no labeling before consent, and a way to start instead of a pause', async () => {
    const { openOptions } = renderPopup();
    await screen.findByTestId('status');
    expect(screen.getByTestId('no-task').textContent).toMatch(/once you agree/);
    expect(screen.queryByTestId('open-labeling')).toBeNull();
    expect(screen.queryByTestId('pause-1h')).toBeNull();
    await userEvent.setup().click(screen.getByTestId('start'));
    expect(openOptions).toHaveBeenCalledOnce();
  });

  it('pauses fetching and resumes it from the popup; labeling stays open while paused', async () => {
    const { background } = renderPopup();
    background.server.addItems([{ id: 'review-1' }]);
    await background.handlers.setConsent({ given: true });
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('pause-8h'));
    expect((await screen.findByTestId('paused-until')).textContent).toMatch(
      /^Fetching paused until .*Labeling goes on/,
    );
    expect(screen.getByTestId('status').textContent).toBe('Connected');
    expect(await screen.findByTestId('label-task')).toBeDefined();
    // The buttons wait for the pause to be stored and the link checked.
    await waitFor(() => expect(screen.getByTestId<HTMLButtonElement>('resume').disabled).toBe(false));
    await user.click(screen.getByTestId('resume'));
    await waitFor(() => expect(screen.queryByTestId('paused-until')).toBeNull());
    expect(screen.getByTestId('pause-1h')).toBeDefined();
  });

  it('checks the server when it opens, and says Offline at once when it does not answer', async () => {
    const { background, checkConnection } = renderPopup();
    await background.handlers.setConsent({ given: true });
    expect(await screen.findByText('Connected')).toBeDefined();
    background.server.setReachable(false);
    const user = userEvent.setup();
    await user.click(screen.getByTestId('pause-1h'));
    await waitFor(() => expect(screen.getByTestId<HTMLButtonElement>('resume').disabled).toBe(false));
    await user.click(screen.getByTestId('resume'));
    expect((await screen.findByText('Offline')).dataset.testid).toBe('status');
    expect(screen.getByTestId('last-error').textContent).toMatch(/^Could not reach the Gleaner server/);
    expect(checkConnection).toHaveBeenCalled();

    background.server.setReachable(true);
    await user.click(screen.getByTestId('check-now'));
    expect(await screen.findByText('Connected')).toBeDefined();
  });

  it('clears what it showed when consent is withdrawn: no pause, no task', async () => {
    const { background } = renderPopup();
    background.server.addItems([{ id: 'review-1' }]);
    await background.handlers.setConsent({ given: true });
    await background.handlers.pause({ until: background.clock.now + 60 * 60 * 1000 });
    await screen.findByTestId('label-task');
    await background.handlers.setConsent({ given: false });
    expect(await screen.findByText('No consent')).toBeDefined();
    expect(screen.queryByTestId('paused-until')).toBeNull();
    expect(screen.queryByTestId('label-task')).toBeNull();
  });

  it('opens the settings', async () => {
    const { openOptions } = renderPopup();
    await userEvent.setup().click(screen.getByTestId('open-options'));
    expect(openOptions).toHaveBeenCalledOnce();
  });
});
