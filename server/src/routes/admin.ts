import { apiKeySummarySchema, buyerCreateSchema, buyerListSchema, issuedApiKeySchema } from '@protocol/buyers';
import { deviceDetailSchema, deviceListSchema } from '@protocol/devices';
import { BaseError, errorBodySchema } from '@protocol/errors';
import { addressSchema } from '@protocol/primitives';
import { workItemListQuerySchema, workItemListSchema, workItemRetrySchema } from '@protocol/work-queue';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getAddress } from 'viem';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { operatorAuth } from '../plugins/operator-auth';
import { workItemRepository } from '../queue/work-item-repository';
import type { WorkQueue } from '../queue/work-queue';
import { buyerRepository } from '../repositories/buyer-repository';
import { deviceRepository } from '../repositories/device-repository';
import { ledgerRepository } from '../repositories/ledger-repository';
import { addCanaries, canaryCreatedSchema, canaryCreateSchema } from '../services/canary-service';
import { labelerStanding } from '../services/labeler-quality';

/** The operator's API, used by `npm run gleaner`; every route needs the operator token. */
export const adminRoutes: FastifyPluginAsyncZod<AppContext & { workQueue: Pick<WorkQueue, 'kick'> }> = async (
  app,
  { db, operatorToken, scraping, workQueue },
) => {
  const buyers = buyerRepository(db);
  const devices = deviceRepository(db);
  app.addHook('onRequest', operatorAuth(operatorToken));
  const common = { tags: ['admin'], security: [{ operatorToken: [] }] };

  app.post(
    '/v1/admin/buyers',
    {
      schema: {
        ...common,
        summary: 'Create a buyer and its first API key (shown once)',
        body: buyerCreateSchema,
        response: { 201: issuedApiKeySchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request, reply) => reply.status(201).send(await buyers.create(request.body)),
  );

  app.get(
    '/v1/admin/buyers',
    { schema: { ...common, summary: 'List buyers and their keys', response: { 200: buyerListSchema } } },
    async () => ({ buyers: await buyers.list() }),
  );

  app.post(
    '/v1/admin/buyers/:buyerId/keys',
    {
      schema: {
        ...common,
        summary: 'Issue another API key for a buyer (shown once)',
        params: z.object({ buyerId: z.uuid() }),
        response: { 201: issuedApiKeySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const issued = await buyers.issueKey(request.params.buyerId);
      if (!issued) throw new BaseError('not_found', `No buyer ${request.params.buyerId}.`);
      return reply.status(201).send(issued);
    },
  );

  app.post(
    '/v1/admin/api-keys/:keyId/revoke',
    {
      schema: {
        ...common,
        summary: 'Revoke an API key',
        params: z.object({ keyId: z.string().regex(/^[a-z0-9]{12}$/, 'must be a 12-character key id') }),
        response: { 200: apiKeySummarySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const revoked = await buyers.revokeKey(request.params.keyId);
      if (!revoked) throw new BaseError('not_found', `No API key ${request.params.keyId}.`);
      return revoked;
    },
  );

  app.post(
    '/v1/admin/canaries',
    {
      schema: {
        ...common,
        summary: 'Add canary pages: URLs whose normalized text hash the server knows, mixed into leases',
        body: canaryCreateSchema,
        response: { 201: canaryCreatedSchema, 400: errorBodySchema },
      },
    },
    async (request, reply) => reply.status(201).send(await addCanaries(db, scraping, request.body.pages)),
  );

  app.get(
    '/v1/admin/devices',
    { schema: { ...common, summary: 'List registered devices', response: { 200: deviceListSchema } } },
    async () => ({ devices: await devices.list() }),
  );

  app.get(
    '/v1/admin/devices/:address',
    {
      schema: {
        ...common,
        summary: 'One device with its points and labeling standing, as its owner sees them',
        params: z.object({ address: addressSchema }),
        response: { 200: deviceDetailSchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const device = await devices.findByAddress(getAddress(request.params.address));
      if (!device) throw new BaseError('not_found', `No device ${request.params.address}.`);
      return {
        device,
        points: await ledgerRepository(db).summary(device.address),
        labeling: await labelerStanding(db, device.address),
      };
    },
  );

  app.get(
    '/v1/admin/jobs',
    {
      schema: {
        ...common,
        summary: 'The durable work queue: items newest first (by state and kind), and counts by state',
        querystring: workItemListQuerySchema,
        response: { 200: workItemListSchema, 400: errorBodySchema },
      },
    },
    async (request) => workItemRepository(db).list(request.query),
  );

  app.post(
    '/v1/admin/jobs/:id/retry',
    {
      schema: {
        ...common,
        summary: 'Queue a failed work item again, due now, with fresh attempts',
        params: z.object({ id: z.string().regex(/^\d{1,18}$/, 'must be a work item id (digits)') }),
        response: { 200: workItemRetrySchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { id } = request.params;
      const retried = await db.transaction((tx) => workItemRepository(tx).retryFailed(id));
      if (!retried) throw new BaseError('not_found', `No work item ${id}.`);
      if (retried.outcome === 'not_failed') {
        throw new BaseError(
          'bad_request',
          `Work item ${id} is ${retried.item.state}, not failed: only a failed item can be retried.`,
        );
      }
      workQueue.kick();
      return { item: retried.item, alreadyQueued: retried.outcome === 'already_queued' };
    },
  );
};
