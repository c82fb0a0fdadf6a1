import { errorBodySchema } from '@protocol/errors';
import { leaseRequestSchema, leaseResponseSchema } from '@protocol/jobs';
import { pointsSummarySchema } from '@protocol/points';
import { resultBatchAckSchema, resultBatchSchema } from '@protocol/results';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceSigned } from '../plugins/device-auth';
import { ledgerRepository } from '../repositories/ledger-repository';
import { ingestService } from '../services/ingest-service';
import { leaseService } from '../services/lease-service';
import { pendingExplanation } from '../verification/audits';

/** What devices do: lease jobs, upload results, read their points. Every route is device-signed. */
export const scrapeJobRoutes: FastifyPluginAsyncZod<AppContext & { onLabels: (projectIds: string[]) => void }> = async (
  app,
  context,
) => {
  const { db, scraping, onLabels } = context;
  const leases = leaseService(db, scraping);
  const ingest = ingestService(db, scraping, { onLabels });
  const signed = deviceSigned(context);
  const common = { tags: ['devices'], security: [{ deviceSignature: [] }] };
  const deviceOf = (request: { device: string | null }) => {
    if (!request.device) throw new Error('device auth did not run');
    return request.device;
  };

  app.post(
    '/v1/jobs/lease',
    {
      ...signed,
      schema: {
        ...common,
        summary: 'Lease a few pages to fetch, each until its expiry',
        body: leaseRequestSchema,
        response: { 200: leaseResponseSchema, 400: errorBodySchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => leases.lease(deviceOf(request), request.body.max),
  );

  app.post(
    '/v1/results',
    {
      ...signed,
      schema: {
        ...common,
        summary: 'Upload a batch of results (gzip welcome); each record is acknowledged on its own',
        body: resultBatchSchema,
        response: { 200: resultBatchAckSchema, 400: errorBodySchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => ingest.ingest(deviceOf(request), request.body.batchId, request.body.results),
  );

  app.get(
    '/v1/devices/me/points',
    {
      ...signed,
      schema: {
        ...common,
        summary:
          'Points pending (and what they wait for), verified and rejected, with the reason for each recent rejection',
        response: { 200: pointsSummarySchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => {
      const device = deviceOf(request);
      const summary = await ledgerRepository(db).summary(device);
      return { ...summary, pendingExplained: await pendingExplanation(db, device, scraping.audits) };
    },
  );
};
