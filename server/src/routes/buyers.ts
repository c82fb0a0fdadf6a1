import { buyerSchema } from '@protocol/buyers';
import { errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { buyerAuth } from '../plugins/buyer-auth';

export const buyerRoutes: FastifyPluginAsyncZod<AppContext> = async (app, { db }) => {
  app.get(
    '/v1/buyer',
    {
      onRequest: buyerAuth(db),
      schema: {
        summary: 'The buyer account of the presented API key',
        tags: ['buyers'],
        security: [{ apiKey: [] }],
        response: { 200: buyerSchema, 401: errorBodySchema },
      },
    },
    async (request) => {
      if (!request.buyer) throw new Error('buyer auth did not run');
      return request.buyer;
    },
  );
};
