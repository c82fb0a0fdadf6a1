import type { Campaign } from '@protocol/campaigns';

/** A campaign as the API sends it: a plain URL list, nothing fetched yet; tests override what they check. */
export function campaignFixture(overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: '0b7c2f7e-61a4-4b8e-9d54-3c1f4f9a2b10',
    name: 'big list',
    createdAt: '2026-01-01T00:00:00.000Z',
    state: 'active',
    keepRawHtml: false,
    maxDepth: 0,
    maxPages: null,
    counts: { queued: 0, leased: 0, fetched: 0, verified: 0, failed: 0 },
    failures: [],
    ...overrides,
  };
}
