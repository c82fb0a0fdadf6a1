import { z } from 'zod';
import { isoDateSchema, nameSchema } from './primitives';

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
    name: nameSchema,
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

/**
 * Where a campaign or project stands: `active` hands out work, `paused` hands out none until resumed,
 * `cancelled` never again (its queued work failed as cancelled), `complete` is active with nothing left to do.
 * Leases already handed out may finish in every state: their uploads are accepted and paid.
 */
export const workStateSchema = z.enum(['active', 'paused', 'cancelled', 'complete']);
export type WorkState = z.infer<typeof workStateSchema>;

/** `GET /v1/campaigns`, `GET /v1/projects`: newest first; `before` is the `next` of the previous page. */
export const buyerListQuerySchema = z.object({
  before: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type BuyerListQuery = z.infer<typeof buyerListQuerySchema>;

export const campaignSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: isoDateSchema,
  state: workStateSchema,
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

/** `GET /v1/campaigns`: the buyer's campaigns, newest first. */
export const campaignListSchema = z.object({
  campaigns: z.array(campaignSchema),
  /** Pass as `before` for the next (older) campaigns; null at the end. */
  next: z.string().nullable(),
});
export type CampaignList = z.infer<typeof campaignListSchema>;

/** What became of URLs added to a campaign: `duplicates` counts repeats in the request and URLs it had already. */
export const campaignUrlsAddedSchema = campaignCreatedSchema.omit({ campaign: true });
export type CampaignUrlsAdded = z.infer<typeof campaignUrlsAddedSchema>;

/** `GET /v1/campaigns/:id/pages`: the pages stored so far, oldest first, a page of rows at a time. */
export const campaignPagesQuerySchema = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** `html` adds each page's raw HTML (when the campaign kept it); such pages come at most `maxPagesWithHtml` at a time. */
  include: z.enum(['html']).optional(),
});
export type CampaignPagesQuery = z.input<typeof campaignPagesQuerySchema>;

/** Most pages one answer carries with their HTML (up to 20 MB each): the list stays a sane size. */
export const maxPagesWithHtml = 20;

export const storedPageSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  finalUrl: z.string(),
  httpStatus: z.number().int(),
  contentType: z.string(),
  fetchedAt: isoDateSchema,
  title: z.string(),
  text: z.string(),
  lang: z.string().nullable(),
  textSha256: z.string(),
  /** The contributor's id in this campaign: a keyed hash of the device, the same for its pages here, another in every other campaign and dataset. */
  device: z.string(),
  verification: z.enum(['unverified', 'verified', 'rejected', 'duplicate']),
  /** The page's links as the device uploaded them (collected only while the campaign follows links). */
  links: z.array(z.string()),
  /** Whether raw HTML was kept for this page (the campaign's `keepRawHtml`). */
  hasHtml: z.boolean(),
  /** The raw HTML, with `include=html` or from `GET /v1/campaigns/{id}/pages/{pageId}`; else null. */
  html: z.string().nullable(),
});
export type StoredPage = z.infer<typeof storedPageSchema>;

export const campaignPagesSchema = z.object({
  pages: z.array(storedPageSchema),
  /** Pass as `after` for the next rows; null at the end. */
  next: z.number().int().nullable(),
});
