import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, startApiStandIn } from '../../testing/api-stand-in';
import { campaignFixture } from '../../testing/campaign-fixture';
import { renderConsole } from '../../testing/render-console';

const apiKey = `glk_abcdefghijkl_${'s'.repeat(43)}`;
const buyer = { id: 'b', name: 'Buyer', email: null, createdAt: '2026-01-01T00:00:00.000Z' };

function campaign(n: number) {
  return campaignFixture({
    id: `0b7c2f7e-61a4-4b8e-9d54-3c1f4f9a2b${String(n).padStart(2, '0')}`,
    name: `campaign ${n}`,
    state: 'complete',
  });
}

let standIn: ApiStandIn | undefined;

afterEach(async () => {
  cleanup();
  await standIn?.close();
  standIn = undefined;
});

/** Three pages of campaigns: the first without a cursor, then `before=p2`, then `before=p3`, the last. */
async function startPagedApi() {
  const pages: Record<string, { campaigns: ReturnType<typeof campaign>[]; next: string | null }> = {
    first: { campaigns: [campaign(1), campaign(2)], next: 'p2' },
    p2: { campaigns: [campaign(3)], next: 'p3' },
    p3: { campaigns: [], next: null },
  };
  return startApiStandIn(({ path }) => {
    if (path === '/v1/buyer') return { status: 200, body: buyer };
    const before = new URL(path, 'http://x').searchParams.get('before');
    return { status: 200, body: pages[before ?? 'first'] };
  });
}

const shownNames = () => screen.queryAllByRole('link', { name: /^campaign \d$/ }).map((link) => link.textContent);

describe('a newest-first list', () => {
  it('goes older by the cursor the API gave, and newer back to exactly the page shown before', async () => {
    standIn = await startPagedApi();
    renderConsole({ path: '/campaigns', baseUrl: standIn.url, apiKey });
    const user = userEvent.setup();
    await waitFor(() => expect(shownNames()).toEqual(['campaign 1', 'campaign 2']));
    expect(screen.getByRole('button', { name: 'Newer' })).toHaveProperty('disabled', true);

    await user.click(screen.getByRole('button', { name: 'Older' }));
    await waitFor(() => expect(shownNames()).toEqual(['campaign 3']));

    // An empty page after older ones is not "no campaigns yet": the buyer has some, further back.
    await user.click(screen.getByRole('button', { name: 'Older' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Older' })).toHaveProperty('disabled', true));
    expect(shownNames()).toEqual([]);
    expect(screen.queryByText(/No campaigns yet/)).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Newer' }));
    await waitFor(() => expect(shownNames()).toEqual(['campaign 3']));
    await user.click(screen.getByRole('button', { name: 'Newer' }));
    await waitFor(() => expect(shownNames()).toEqual(['campaign 1', 'campaign 2']));

    // Going back may read a page again (it is stale), but only ever by a cursor the API gave.
    const cursors = standIn.received
      .filter((request) => request.path.startsWith('/v1/campaigns'))
      .map((request) => new URL(request.path, 'http://x').searchParams.get('before'));
    expect(cursors.slice(0, 3)).toEqual([null, 'p2', 'p3']);
    expect(cursors.every((cursor) => cursor === null || cursor === 'p2' || cursor === 'p3')).toBe(true);
  });

  it('says there is nothing yet when the first page is empty, and offers no older page', async () => {
    standIn = await startApiStandIn(({ path }) =>
      path === '/v1/buyer' ? { status: 200, body: buyer } : { status: 200, body: { campaigns: [], next: null } },
    );
    renderConsole({ path: '/campaigns', baseUrl: standIn.url, apiKey });
    expect(await screen.findByText('No campaigns yet: start one with a list of URLs or a few seeds.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Older' })).toHaveProperty('disabled', true);
  });
});
