import { z } from 'zod';
import { isoDateSchema } from './primitives';

/**
 * Most URLs one request may carry (campaign creation, urls and seeds together, or one addition):
 * larger lists go in further requests to `POST /v1/campaigns/:id/urls`, so no one request holds the
 * server for long.
 */
export const maxUrlsPerRequest = 10_000;

const tooManyUrls = `at most ${maxUrlsPerRequest.toLocaleString('en-US')} URLs per request: send the first ${maxUrlsPerRequest.toLocaleString('en-US')}, then add the rest with POST /v1/campaigns/{id}/urls, up to ${maxUrlsPerRequest.toLocaleString('en-US')} per request`;

const urlListSchema = z.array(z.string().max(4096)).max(maxUrlsPerRequest, tooManyUrls);

/** `POST /v1/campaigns`: a list of URLs, or seeds whose same-site links are followed to a depth and a page cap. */
export const campaignCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    urls: urlListSchema.default([]),
    seeds: z.array(z.string().max(4096)).max(1_000).default([]),
    followLinks: z
      .object({
        maxDepth: z.number().int().min(1).max(10),
        maxPages: z.number().int().min(1).max(1_000_000),
      })
      .optional(),
    /** Upload the raw HTML too (bounded by the byte cap), not only the extracted text. */
    keepRawHtml: z.boolean().default(false),
  })
  .refine((campaign) => campaign.urls.length + campaign.seeds.length > 0, {
    message: 'give at least one URL in urls or seeds',
    path: ['urls'],
  })
  .refine((campaign) => campaign.urls.length + campaign.seeds.length <= maxUrlsPerRequest, {
    message: tooManyUrls,
    path: ['urls'],
  })
  .refine((campaign) => campaign.seeds.length === 0 || campaign.followLinks !== undefined, {
    message: 'seeds need followLinks { maxDepth, maxPages }',
    path: ['followLinks'],
  });
export type CampaignCreate = z.input<typeof campaignCreateSchema>;

/** `POST /v1/campaigns/:id/urls`: more URLs for an existing campaign, each vetted like those it was created with. */
export const campaignUrlsAddSchema = z.object({
  urls: urlListSchema.min(1, 'give at least one URL'),
});
export type CampaignUrlsAdd = z.input<typeof campaignUrlsAddSchema>;

export const rejectedUrlSchema = z.object({
  url: z.string(),
  /** A URL guard rule (`UrlRule`), or `robots_disallowed`, `domain_opted_out`, `campaign_full` (its maxPages reached). */
  rule: z.string(),
  reason: z.string(),
});
export type RejectedUrl = z.infer<typeof rejectedUrlSchema>;

export const campaignCountsSchema = z.object({
  queued: z.number().int(),
  leased: z.number().int(),
  fetched: z.number().int(),
  verified: z.number().int(),
  failed: z.number().int(),
});

export const campaignSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: isoDateSchema,
  keepRawHtml: z.boolean(),
  maxDepth: z.number().int(),
  maxPages: z.number().int().nullable(),
  counts: campaignCountsSchema,
  /** Why jobs failed, most frequent first. */
  failures: z.array(z.object({ reason: z.string(), count: z.number().int() })),
});
export type Campaign = z.infer<typeof campaignSchema>;

export const campaignCreatedSchema = z.object({
  campaign: campaignSchema,
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.array(rejectedUrlSchema),
});
export type CampaignCreated = z.infer<typeof campaignCreatedSchema>;

/** What became of URLs added to a campaign: `duplicates` counts repeats in the request and URLs it had already. */
export const campaignUrlsAddedSchema = campaignCreatedSchema.omit({ campaign: true });
export type CampaignUrlsAdded = z.infer<typeof campaignUrlsAddedSchema>;

/** `GET /v1/campaigns/:id/pages`: the pages stored so far, oldest first, a page of rows at a time. */
export const campaignPagesQuerySchema = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const storedPageSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  finalUrl: z.string(),
  fetchedAt: isoDateSchema,
  title: z.string(),
  text: z.string(),
  lang: z.string().nullable(),
  textSha256: z.string(),
  /** Pseudonymous: the device address, never a person. */
  device: z.string(),
  verification: z.enum(['unverified', 'verified', 'rejected', 'duplicate']),
});
export type StoredPage = z.infer<typeof storedPageSchema>;

export const campaignPagesSchema = z.object({
  pages: z.array(storedPageSchema),
  /** Pass as `after` for the next rows; null at the end. */
  next: z.number().int().nullable(),
});
