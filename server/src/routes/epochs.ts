import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import type { RewardSettings } from '../rewards/reward-settings';

export interface EpochRouteOptions extends AppContext {
  rewards: RewardSettings;
  /** Where epoch files and trees are stored (the dataset storage, under `epochs/`). */
  storage: DatasetStorage;
}

/** Reward epochs: public epoch files and proofs, and the operator's close and publish (being built). */
export const epochRoutes: FastifyPluginAsyncZod<EpochRouteOptions> = async () => {};
