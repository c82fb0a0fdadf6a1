import { issuedApiKeySchema } from '@protocol/buyers';
import { campaignCreatedSchema, campaignPagesSchema, campaignSchema, type StoredPage } from '@protocol/campaigns';
import { type DeviceList, deviceListSchema } from '@protocol/devices';
import { type Health, healthSchema } from '@protocol/health';
import type { RunningServer } from './gleaner-server';

/** Reads the server's device list the way an operator does. */
export async function listDevices(server: RunningServer): Promise<DeviceList['devices']> {
  const response = await fetch(`${server.url}/v1/admin/devices`, {
    headers: { authorization: `Bearer ${server.operatorToken}` },
  });
  if (!response.ok) throw new Error(`GET /v1/admin/devices answered ${response.status}: ${await response.text()}`);
  return deviceListSchema.parse(await response.json()).devices;
}

/** Creates a buyer through the admin API and returns its API key. */
/**
 * The server's device-session figures: a browser whose sessions failed would still work (each refused request
 * is resent signed), so only these show that the browser's own WebCrypto handshake and MACs are accepted.
 */
export async function deviceSessionFigures(server: RunningServer): Promise<Health['deviceSessions']> {
  const response = await fetch(`${server.url}/health`);
  return healthSchema.parse(await response.json()).deviceSessions;
}

export async function createBuyerKey(server: RunningServer, name = 'E2E Buyer'): Promise<string> {
  const response = await fetch(`${server.url}/v1/admin/buyers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!response.ok) throw new Error(`creating a buyer answered ${response.status}: ${await response.text()}`);
  return issuedApiKeySchema.parse(await response.json()).apiKey;
}

/** What a buyer sees of the server: campaigns and their pages. */
export function buyerApi(server: RunningServer, apiKey: string) {
  const call = async <T>(path: string, parse: (body: unknown) => T, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return parse(await response.json());
  };
  return {
    createCampaign: (body: Record<string, unknown>) =>
      call('/v1/campaigns', (json) => campaignCreatedSchema.parse(json), {
        method: 'POST',
        body: JSON.stringify(body),
      }),
    campaign: (id: string) => call(`/v1/campaigns/${id}`, (json) => campaignSchema.parse(json)),
    async pages(id: string): Promise<StoredPage[]> {
      const all: StoredPage[] = [];
      let after = 0;
      for (;;) {
        const batch = await call(`/v1/campaigns/${id}/pages?after=${after}&limit=1000`, (json) =>
          campaignPagesSchema.parse(json),
        );
        all.push(...batch.pages);
        if (batch.next === null) return all;
        after = batch.next;
      }
    },
  };
}
