import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, closedPortUrl, startApiStandIn } from '../../testing/api-stand-in';
import { descriptionOf, renderConsole } from '../../testing/render-console';
import { readApiKey } from '../auth/api-key-store';

const goodKey = `glk_abcdefghijkl_${'s'.repeat(43)}`;
const buyer = {
  id: '6f1c1d40-2a8a-4a43-9a49-6b8f0e3e0a11',
  name: 'Acme Research',
  email: null,
  createdAt: '2026-01-01T00:00:00.000Z',
};

let standIn: ApiStandIn | undefined;

afterEach(async () => {
  cleanup();
  sessionStorage.clear();
  await standIn?.close();
  standIn = undefined;
});

/** The API's buyer check: the good key gets the buyer, any other the API's refusal. */
async function startBuyerApi() {
  return startApiStandIn(({ path, authorization }) => {
    if (path === '/v1/buyer' && authorization === `Bearer ${goodKey}`) return { status: 200, body: buyer };
    if (path === '/v1/buyer') {
      return {
        status: 401,
        body: { code: 'api_key_invalid', message: 'This API key is not valid: check it was copied whole.' },
      };
    }
    return { status: 200, body: { campaigns: [], next: null } };
  });
}

describe('signing in', () => {
  it('shows the API’s own words next to the key field when the key is wrong, and keeps no key', async () => {
    standIn = await startBuyerApi();
    renderConsole({ path: '/campaigns', baseUrl: standIn.url });
    await userEvent.type(await screen.findByLabelText('API key'), 'glk_wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    const field = screen.getByLabelText('API key');
    await waitFor(() =>
      expect(descriptionOf(field)).toContain('This API key is not valid: check it was copied whole.'),
    );
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(readApiKey()).toBeNull();
    expect(standIn.received.at(-1)?.authorization).toBe('Bearer glk_wrong');
  });

  it('keeps a good key for the tab, shows the buyer and the page asked for, and forgets the key on sign out', async () => {
    standIn = await startBuyerApi();
    renderConsole({ path: '/campaigns', baseUrl: standIn.url });
    await userEvent.type(await screen.findByLabelText('API key'), `  ${goodKey} `);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Campaigns' })).toBeTruthy();
    expect(await screen.findByText('Acme Research')).toBeTruthy();
    expect(readApiKey()).toBe(goodKey);
    expect(
      standIn.received
        .filter((request) => request.path.startsWith('/v1/campaigns'))
        .every((request) => request.authorization === `Bearer ${goodKey}`),
    ).toBe(true);

    await userEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByLabelText('API key')).toBeTruthy();
    expect(readApiKey()).toBeNull();
  });

  it('says the server is unreachable when nothing answers', async () => {
    renderConsole({ path: '/campaigns', baseUrl: await closedPortUrl() });
    await userEvent.type(await screen.findByLabelText('API key'), goodKey);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(descriptionOf(screen.getByLabelText('API key'))).toMatch(/server is unreachable/));
  });

  it('still shows the message of an error code this console does not know, and the status of a reply without a body', async () => {
    let calls = 0;
    standIn = await startApiStandIn(() => {
      calls += 1;
      return calls === 1
        ? { status: 409, body: { code: 'some_future_code', message: 'A newer server says no.' } }
        : { status: 502 };
    });
    renderConsole({ path: '/campaigns', baseUrl: standIn.url });
    await userEvent.type(await screen.findByLabelText('API key'), goodKey);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(descriptionOf(screen.getByLabelText('API key'))).toContain('A newer server says no.'));
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() =>
      expect(descriptionOf(screen.getByLabelText('API key'))).toMatch(
        /^The server answered 502 .*without saying why\.$/,
      ),
    );
    expect(readApiKey()).toBeNull();
  });
});
