import {
  buyerListQuerySchema,
  campaignCreatedSchema,
  campaignCreateSchema,
  campaignListSchema,
  campaignPagesQuerySchema,
  campaignPagesSchema,
  campaignSchema,
  campaignUrlsAddedSchema,
  campaignUrlsAddSchema,
  maxPagesWithHtml,
  maxUrlsPerRequest,
  storedPageSchema,
} from '@protocol/campaigns';
import { BaseError, errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { buyerAuth } from '../plugins/buyer-auth';
import { type CampaignAction, campaignService } from '../services/campaign-service';

const campaignParams = z.object({ campaignId: z.uuid() });

/** What each control does, as the API reference says it. */
const controlSummaries: Record<CampaignAction, string> = {
  pause:
    'Pause a campaign: no new leases of its jobs until resumed; leases already out may finish, and their pages are kept and paid',
  resume: 'Resume a paused campaign (409 conflict for a cancelled one)',
  cancel:
    'Cancel a campaign for good: its queued jobs fail as campaign_cancelled and are never leased again; leases already out may finish and are paid; it takes no more URLs',
};

export const campaignRoutes: FastifyPluginAsyncZod<AppContext & { onCampaignCreated: () => void }> = async (
  app,
  { db, scraping, onCampaignCreated },
) => {
  const campaigns = campaignService(db, scraping);
  const common = { tags: ['campaigns'], security: [{ apiKey: [] }] };

  app.post(
    '/v1/campaigns',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: `Create a scrape campaign (at most ${maxUrlsPerRequest} URLs; add more with /v1/campaigns/{id}/urls); every refused URL comes back with its reason`,
        body: campaignCreateSchema,
        response: { 201: campaignCreatedSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request, reply) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      const created = await campaigns.create(request.buyer.id, request.body);
      onCampaignCreated();
      return reply.status(201).send(created);
    },
  );

  app.post(
    '/v1/campaigns/:campaignId/urls',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: `Add URLs to a campaign, at most ${maxUrlsPerRequest} per request; every refused URL comes back with its reason`,
        params: campaignParams,
        body: campaignUrlsAddSchema,
        response: {
          200: campaignUrlsAddedSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      const added = await campaigns.addUrls(request.buyer.id, request.params.campaignId, request.body.urls);
      if (!added) throw new BaseError('not_found', `No campaign ${request.params.campaignId} for this buyer.`);
      if (added.accepted > 0) onCampaignCreated();
      return added;
    },
  );

  app.get(
    '/v1/campaigns/:campaignId',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: 'A campaign and its progress',
        params: campaignParams,
        response: { 200: campaignSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      const campaign = await campaigns.get(request.buyer.id, request.params.campaignId);
      if (!campaign) throw new BaseError('not_found', `No campaign ${request.params.campaignId} for this buyer.`);
      return campaign;
    },
  );

  app.get(
    '/v1/campaigns/:campaignId/pages',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: `The pages stored for a campaign so far, with provenance, HTTP status, content type and links (paged by id); include=html adds the raw HTML the campaign kept, at most ${maxPagesWithHtml} pages per answer`,
        params: campaignParams,
        querystring: campaignPagesQuerySchema,
        response: { 200: campaignPagesSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      const pages = await campaigns.pages(request.buyer.id, request.params.campaignId, request.query);
      if (!pages) throw new BaseError('not_found', `No campaign ${request.params.campaignId} for this buyer.`);
      return pages;
    },
  );

  app.get(
    '/v1/campaigns/:campaignId/pages/:pageId',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: 'One stored page of a campaign, with its raw HTML when the campaign kept it',
        params: campaignParams.extend({ pageId: z.coerce.number().int().positive() }),
        response: { 200: storedPageSchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      const { campaignId, pageId } = request.params;
      const page = await campaigns.page(request.buyer.id, campaignId, pageId);
      if (!page) throw new BaseError('not_found', `No page ${pageId} in campaign ${campaignId} for this buyer.`);
      return page;
    },
  );

  app.get(
    '/v1/campaigns',
    {
      onRequest: buyerAuth(db),
      schema: {
        ...common,
        summary: "The buyer's campaigns with their progress, newest first (pass next as before for older ones)",
        querystring: buyerListQuerySchema,
        response: { 200: campaignListSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      return campaigns.list(request.buyer.id, request.query);
    },
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/v1/campaigns/:campaignId/${action}`,
      {
        onRequest: buyerAuth(db),
        schema: {
          ...common,
          summary: controlSummaries[action],
          params: campaignParams,
          response: { 200: campaignSchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
        },
      },
      async (request) => {
        if (!request.buyer) throw new Error('buyer auth did not run');
        const campaign = await campaigns.control(request.buyer.id, request.params.campaignId, action);
        if (!campaign) throw new BaseError('not_found', `No campaign ${request.params.campaignId} for this buyer.`);
        // Resuming may make work leasable again: wake the robots worker as for new URLs.
        if (action === 'resume') onCampaignCreated();
        return campaign;
      },
    );
  }
};
