import { datasetSchema } from '@protocol/datasets';
import { BaseError, errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { datasetRepository, publicDataset } from '../datasets/dataset-repository';
import { operatorAuth } from '../plugins/operator-auth';

/**
 * The operator's read of any buyer's dataset: `gleaner dataset commit` takes its Merkle root, row count and
 * card hash from here to commit them on chain (the buyer routes only show a buyer its own datasets).
 */
export const adminDatasetRoutes: FastifyPluginAsyncZod<AppContext> = async (app, { db, operatorToken }) => {
  const datasets = datasetRepository(db);
  app.addHook('onRequest', operatorAuth(operatorToken));

  app.get(
    '/v1/admin/datasets/:datasetId',
    {
      schema: {
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        summary: "Any buyer's dataset, with its Merkle root, stats and files once ready",
        params: z.object({ datasetId: z.uuid().transform((id) => id.toLowerCase()) }),
        response: { 200: datasetSchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const record = await datasets.findById(request.params.datasetId);
      if (!record) throw new BaseError('not_found', `No dataset ${request.params.datasetId}.`);
      return publicDataset(record);
    },
  );
};
