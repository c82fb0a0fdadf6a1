import type { ChainInfo } from '@protocol/chain';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';

export interface ChainRouteOptions extends AppContext {
  chain: ChainInfo;
}

/** `GET /v1/chain`: the reward chain and contracts the console uses (being built). */
export const chainRoutes: FastifyPluginAsyncZod<ChainRouteOptions> = async () => {};
