import { maxUrlsPerRequest } from '@protocol/campaigns';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, type ReceivedRequest, startApiStandIn } from '../../testing/api-stand-in';
import { campaignFixture } from '../../testing/campaign-fixture';
import { renderConsole } from '../../testing/render-console';

const apiKey = `glk_abcdefghijkl_${'s'.repeat(43)}`;
const campaign = campaignFixture();
const campaignId = campaign.id;

let standIn: ApiStandIn | undefined;

afterEach(async () => {
  cleanup();
  await standIn?.close();
  standIn = undefined;
});

/** Vets URLs the way the API answers: private addresses refused with a rule and a reason. */
function vet(urls: string[]) {
  const rejected = urls
    .filter((url) => url.includes('//10.'))
    .map((url) => ({ url, rule: 'private_address', reason: 'resolves to a private address' }));
  return { accepted: urls.length - rejected.length, duplicates: 0, rejected };
}

/** A campaign API whose `/urls` answers fail as often as `failUrlBatches` says, then work. */
async function startCampaignApi({ failUrlBatches = 0 } = {}) {
  let failuresLeft = failUrlBatches;
  return startApiStandIn(({ method, path, body }) => {
    const urls = (body as { urls?: string[] } | undefined)?.urls ?? [];
    if (method === 'POST' && path === '/v1/campaigns') return { status: 201, body: { campaign, ...vet(urls) } };
    if (method === 'POST' && path === `/v1/campaigns/${campaignId}/urls`) {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return { status: 500, body: { code: 'internal_error', message: 'Internal error (request req-7).' } };
      }
      return { status: 200, body: vet(urls) };
    }
    return { status: 200, body: { id: 'b', name: 'Buyer', email: null, createdAt: '2026-01-01T00:00:00.000Z' } };
  });
}

/** 12,345 URLs in the second column of a CSV, one private address among them, and a row without a URL. */
function bigCsv(): { csv: string; urls: string[] } {
  const urls = Array.from({ length: 12_345 }, (_, i) =>
    i === 10_500 ? 'http://10.1.2.3/inside' : `https://site.example/page/${i}`,
  );
  const rows = urls.map((url, i) => `"page ${i}, of many",${url}`);
  rows.splice(3, 0, 'no url here,');
  return { csv: `title,url\n${rows.join('\n')}\n`, urls };
}

const urlsOf = (request: ReceivedRequest | undefined) => (request?.body as { urls?: string[] } | undefined)?.urls ?? [];

const sentUrls = (received: ReceivedRequest[]) =>
  received.filter((request) => request.method === 'POST').flatMap(urlsOf);

async function submitCsvCampaign(csv: string) {
  await userEvent.type(await screen.findByLabelText('Name'), 'big list');
  await userEvent.click(screen.getByLabelText('A CSV file'));
  await userEvent.upload(screen.getByLabelText('CSV file'), new File([csv], 'urls.csv', { type: 'text/csv' }));
  await screen.findByText(/12,345 URLs read from urls\.csv; 1 lines skipped/);
  await userEvent.click(screen.getByRole('button', { name: 'Create campaign' }));
}

describe('a new campaign from a CSV file', () => {
  it('sends more than one request’s worth of URLs in batches, each URL once, and lists the refused ones with why', async () => {
    standIn = await startCampaignApi();
    const { csv, urls } = bigCsv();
    renderConsole({ path: '/campaigns/new', baseUrl: standIn.url, apiKey });
    await submitCsvCampaign(csv);

    expect(screen.getByRole('alert', { name: 'Lines skipped' }).textContent).toContain(
      'line 5: no value in the url column',
    );
    await screen.findByRole('link', { name: 'Open the campaign' });
    const posts = standIn.received.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.path)).toEqual(['/v1/campaigns', `/v1/campaigns/${campaignId}/urls`]);
    expect(urlsOf(posts[0])).toHaveLength(maxUrlsPerRequest);
    expect(sentUrls(standIn.received)).toEqual(urls);
    expect(screen.getByTestId('campaign-created').textContent).toBe('12,344 URLs accepted, 0 duplicates, 1 refused.');
    const refused = screen.getByRole('table', { name: 'URLs the server refused, with why' });
    expect(within(refused).getByText('http://10.1.2.3/inside')).toBeTruthy();
    expect(within(refused).getByText('resolves to a private address')).toBeTruthy();
    expect(screen.getByRole('progressbar', { name: 'URLs sent' }).getAttribute('aria-valuenow')).toBe('12345');
  });

  it('stops at a failed batch with the API’s words and how far it got, then sends only the rest', async () => {
    standIn = await startCampaignApi({ failUrlBatches: 1 });
    const { csv, urls } = bigCsv();
    renderConsole({ path: '/campaigns/new', baseUrl: standIn.url, apiKey });
    await submitCsvCampaign(csv);

    const error = await screen.findByTestId('create-campaign-error');
    expect(error.textContent).toBe(
      'Internal error (request req-7). (10,000 of 12,345 URLs were sent before it stopped.)',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Send the remaining URLs' }));
    await waitFor(() =>
      expect(screen.getByTestId('campaign-created').textContent).toBe('12,344 URLs accepted, 0 duplicates, 1 refused.'),
    );
    expect(screen.queryByTestId('create-campaign-error')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Send the remaining URLs' })).toBeNull();

    const accepted = standIn.received.filter((request) => request.method === 'POST');
    // The failed batch was refused whole; what the server kept is the creation and the retried batch.
    expect(accepted).toHaveLength(3);
    expect([...urlsOf(accepted[0]), ...urlsOf(accepted[2])]).toEqual(urls);
    expect(urlsOf(accepted[1]), 'the retry sends again exactly the batch that failed').toEqual(urlsOf(accepted[2]));
  });
});
