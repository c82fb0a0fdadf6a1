import { chainInfoSchema } from '@protocol/chain';
import { defaultChainId } from '@protocol/signing';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distributorAbi } from '../chain/reward-abis';
import { startTestChain, type TestChain } from '../chain/test-chain';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPgliteDatabase } from '../db/pglite-database';
import { buildTestApp } from '../test/app';

// The route only hands out what the server was started with: one database kind is enough.
describe('GET /v1/chain', () => {
  let db: Database;
  let chain: TestChain;
  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db);
    chain = await startTestChain('chain-route');
  });
  afterAll(async () => {
    await chain?.stop();
    await db?.close();
  });

  it('tells the console the local chain and contracts it can read and claim on', async () => {
    const app = await buildTestApp(db, {}, { chain: chain.info });
    try {
      const response = await app.inject({ method: 'GET', url: '/v1/chain' });
      expect(response.statusCode).toBe(200);
      const info = chainInfoSchema.parse(response.json());
      expect(info).toEqual(chain.info);
      expect(info).toMatchObject({ chainId: defaultChainId, local: true, contracts: { tokenSymbol: 'GLR' } });
      // What the console does next: read the distributor through the URL it was given.
      const client = createPublicClient({ transport: http(info.rpcUrl ?? '') });
      const distributor = chain.contracts.distributor;
      expect(
        await client.readContract({ address: distributor, abi: distributorAbi, functionName: 'currentEpoch' }),
      ).toBe(0n);
    } finally {
      await app.close();
    }
  });

  it('says there are no contracts when the server runs with no chain', async () => {
    const app = await buildTestApp(db);
    try {
      const response = await app.inject({ method: 'GET', url: '/v1/chain' });
      expect(response.json()).toEqual({ chainId: defaultChainId, rpcUrl: null, local: false, contracts: null });
      const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(spec.paths['/v1/chain'].get.tags).toEqual(['chain']);
    } finally {
      await app.close();
    }
  });
});
