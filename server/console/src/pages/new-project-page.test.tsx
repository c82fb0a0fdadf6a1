import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, startApiStandIn } from '../../testing/api-stand-in';
import { renderConsole } from '../../testing/render-console';

const apiKey = `glk_abcdefghijkl_${'s'.repeat(43)}`;
const project = {
  id: '5d2b8a0e-8f7d-4c9e-a1a0-0c6a3d1f2e44',
  name: 'sentiment',
  instructions: 'Is the review positive?',
  labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
  overlap: 3,
  goldRate: 0.1,
  createdAt: '2026-01-01T00:00:00.000Z',
  state: 'active',
  progress: { items: 2, goldItems: 1, itemsComplete: 0, labels: 0, labelers: 0, agreement: null, positionBias: null },
};

let standIn: ApiStandIn | undefined;

afterEach(async () => {
  cleanup();
  await standIn?.close();
  standIn = undefined;
});

describe('a new labeling project', () => {
  it('sets aside bad lines before sending, and names the file line of each item the API refuses', async () => {
    standIn = await startApiStandIn(({ method, path }) =>
      method === 'POST' && path === '/v1/projects'
        ? // The API refuses the second item it was sent, by its index in the request.
          {
            status: 201,
            body: { project, added: 2, rejected: [{ index: 1, id: 'r3', reason: 'id r3 is already in this project' }] },
          }
        : { status: 200, body: { id: 'b', name: 'Buyer', email: null, createdAt: '2026-01-01T00:00:00.000Z' } },
    );
    renderConsole({ path: '/projects/new', baseUrl: standIn.url, apiKey });
    await userEvent.type(await screen.findByLabelText('Name'), 'sentiment');
    await userEvent.type(screen.getByLabelText('Instructions for labelers'), 'Is the review positive?');
    await userEvent.type(screen.getByLabelText('Choices, one per line'), 'positive{enter}negative');

    const items = [
      '{"id":"r1","content":{"type":"text","text":"Loved it"}}',
      '{"id":"r2","content":{"type":"text"}}',
      '{"id":"r3","content":{"type":"text","text":"Again"}}',
    ].join('\n');
    await userEvent.upload(screen.getByLabelText('Items file'), new File([items], 'items.jsonl'));
    await userEvent.upload(
      screen.getByLabelText('Gold file'),
      new File(['id,text,gold\ng1,Awful,negative\ng2,Fine,meh\n'], 'gold.csv'),
    );
    const itemsProblems = await screen.findByRole('alert', { name: 'Lines of items.jsonl set aside' });
    expect(itemsProblems.textContent).toMatch(/line 2: content\.text: /);
    const goldProblems = screen.getByRole('alert', { name: 'Lines of gold.csv set aside' });
    expect(goldProblems.textContent).toContain('line 3: gold names "meh", not one of: positive, negative');

    await userEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await screen.findByRole('link', { name: 'Open the project' });

    const sent = standIn.received.find((request) => request.method === 'POST')?.body as {
      labelSchema: unknown;
      items: { id: string }[];
    };
    expect(sent.labelSchema).toEqual({ type: 'single_choice', choices: ['positive', 'negative'] });
    expect(sent.items.map((item) => item.id)).toEqual(['r1', 'r3', 'g1']);
    const refused = screen.getByRole('table', { name: 'Items the server refused, with why' });
    const row = within(refused).getAllByRole('row')[1];
    expect(row?.textContent).toBe('items.jsonl3r3id r3 is already in this project');
  });

  it('shows the API’s refusal of the whole project next to the button', async () => {
    standIn = await startApiStandIn(({ method }) =>
      method === 'POST'
        ? {
            status: 400,
            body: {
              code: 'bad_request',
              message: 'Invalid request body: instructions Too big: expected string to have <=20000 characters',
            },
          }
        : { status: 200, body: {} },
    );
    renderConsole({ path: '/projects/new', baseUrl: standIn.url, apiKey });
    await userEvent.type(await screen.findByLabelText('Name'), 'x');
    await userEvent.type(screen.getByLabelText('Instructions for labelers'), 'y');
    await userEvent.selectOptions(screen.getByLabelText('What labelers give'), 'pairwise');
    await userEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe(
        'Invalid request body: instructions Too big: expected string to have <=20000 characters',
      ),
    );
  });
});
