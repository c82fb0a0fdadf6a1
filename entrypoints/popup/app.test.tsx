import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DbProvider } from '@/components/db-context';
import { defaultSettings, writeSettings } from '@/lib/settings';
import { createTestDb } from '@/lib/testing/test-db';
import { App } from './app';

afterEach(() => {
  cleanup();
});

const address = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

function renderPopup() {
  const db = createTestDb();
  const openOptions = vi.fn(async () => {});
  render(
    <DbProvider db={db}>
      <App version="1.2.3" openOptions={openOptions} />
    </DbProvider>,
  );
  return { db, openOptions };
}

describe('popup', () => {
  it('shows No consent and the version before anything was agreed', async () => {
    renderPopup();
    expect((await screen.findByTestId('status')).textContent).toBe('No consent');
    expect(screen.getByTestId('version').textContent).toBe('1.2.3');
    expect(screen.queryByTestId('device-address')).toBeNull();
  });

  it('follows the state the background writes, without being reopened', async () => {
    const { db } = renderPopup();
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

  it('opens the settings', async () => {
    const { openOptions } = renderPopup();
    await userEvent.setup().click(screen.getByTestId('open-options'));
    expect(openOptions).toHaveBeenCalledOnce();
  });
});
