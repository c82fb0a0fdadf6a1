import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import type { RewardSettings } from '../rewards/reward-settings';

export interface ContributorRouteOptions extends AppContext {
  rewards: RewardSettings;
  /** JSON-RPC of the reward chain: smart-contract wallets sign in through it. */
  chainRpcUrl?: string;
}

/** The contributor's side of the console: wallet sign-in and the dashboard (being built). */
export const contributorRoutes: FastifyPluginAsyncZod<ContributorRouteOptions> = async () => {};
