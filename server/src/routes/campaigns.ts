import {
  campaignCreatedSchema,
  campaignCreateSchema,
  campaignPagesQuerySchema,
  campaignPagesSchema,
  campaignSchema,
  campaignUrlsAddedSchema,
  campaignUrlsAddSchema,
  maxUrlsPerRequest,
} from '@protocol/campaigns';
import { BaseError, errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { buyerAuth } from '../plugins/buyer-auth';
import { campaignService } from '../services/campaign-service';

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
        params: z.object({ campaignId: z.uuid() }),
        body: campaignUrlsAddSchema,
        response: { 200: campaignUrlsAddedSchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema },
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
        params: z.object({ campaignId: z.uuid() }),
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
        summary: 'The pages stored for a campaign so far, with provenance (paged by id)',
        params: z.object({ campaignId: z.uuid() }),
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
};
