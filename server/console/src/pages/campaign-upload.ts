import { type Campaign, type CampaignCreate, maxUrlsPerRequest, type RejectedUrl } from '@protocol/campaigns';
import type { ApiClient } from '../api/api-client';
import { buyerApi } from '../api/buyer-api';
import { sendInBatches } from './send-in-batches';

/** Where a campaign upload stands: what the API said of the URLs sent so far. */
export interface CampaignUpload {
  campaign: Campaign | null;
  /** URLs sent and answered, out of all. */
  sent: number;
  total: number;
  accepted: number;
  duplicates: number;
  rejected: RejectedUrl[];
}

/**
 * Creates a campaign with at most `maxUrlsPerRequest` URLs (seeds count too), then sends the rest in
 * `POST /v1/campaigns/:id/urls` batches of the same size, reporting after each answer. A batch that
 * fails stops the upload with what was sent so far in `upload` (the caller can resume with
 * `resumeCampaignUrls`, the server skips URLs it already has).
 */
export async function createCampaignInBatches(
  api: ApiClient,
  request: Omit<CampaignCreate, 'urls'> & { urls: string[] },
  onProgress: (upload: CampaignUpload) => void,
): Promise<CampaignUpload> {
  const seeds = request.seeds ?? [];
  const firstRoom = Math.max(0, maxUrlsPerRequest - seeds.length);
  const first = request.urls.slice(0, firstRoom);
  const created = await buyerApi.createCampaign(api, { ...request, urls: first });
  const upload: CampaignUpload = {
    campaign: created.campaign,
    sent: first.length + seeds.length,
    total: request.urls.length + seeds.length,
    accepted: created.accepted,
    duplicates: created.duplicates,
    rejected: created.rejected,
  };
  onProgress({ ...upload });
  return sendRemainingUrls(api, upload, request.urls.slice(firstRoom), onProgress);
}

/** Sends URLs that a campaign upload has not sent yet, batch by batch. */
export async function sendRemainingUrls(
  api: ApiClient,
  upload: CampaignUpload,
  remaining: string[],
  onProgress: (upload: CampaignUpload) => void,
): Promise<CampaignUpload> {
  const campaign = upload.campaign;
  if (!campaign) throw new Error('the campaign was not created');
  return sendInBatches({
    upload,
    items: remaining,
    size: maxUrlsPerRequest,
    send: (batch) => buyerApi.addCampaignUrls(api, campaign.id, batch),
    fold: (sofar, batch, added) => ({
      ...sofar,
      sent: sofar.sent + batch.length,
      accepted: sofar.accepted + added.accepted,
      duplicates: sofar.duplicates + added.duplicates,
      rejected: [...sofar.rejected, ...added.rejected],
    }),
    onProgress,
  });
}
