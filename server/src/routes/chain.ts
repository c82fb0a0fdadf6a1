import { type ChainInfo, chainInfoSchema } from '@protocol/chain';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';

export interface ChainRouteOptions extends AppContext {
  chain: ChainInfo;
}

/** `GET /v1/chain`: the reward chain and contracts the console uses. */
export const chainRoutes: FastifyPluginAsyncZod<ChainRouteOptions> = async (app, { chain }) => {
  app.get(
    '/v1/chain',
    {
      schema: {
        tags: ['chain'],
        summary:
          'The reward chain the console connects to: its id, a public JSON-RPC URL, whether it is the local chain, and the token, distributor and dataset registry (null when the server runs with no chain)',
        response: { 200: chainInfoSchema },
      },
    },
    async () => chain,
  );
};
