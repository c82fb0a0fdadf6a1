import { type Dataset, datasetSchema } from '@protocol/datasets';
import { defaultChainId } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetKey } from '../chain/operator-chain';
import { registryAbi } from '../chain/reward-abis';
import { startTestChain, type TestChain } from '../chain/test-chain';
import { createBuyer, seedCampaignPages } from '../datasets/test-fixtures';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPgliteDatabase } from '../db/pglite-database';
import { buildTestApp, testOperatorToken } from '../test/app';
import { runDatasetCommit } from './dataset-commit-command';

const words = (seed: number) =>
  Array.from({ length: 60 }, (_, i) => `word${(seed * 7919 + i * 104729) % 5000}`).join(' ');

describe('gleaner dataset commit', () => {
  let chain: TestChain;
  let db: Database;
  let app: FastifyInstance;
  let serverUrl: string;
  let buyerKey: string;
  let dataset: Dataset;
  const printed: string[] = [];
  const commit = (datasetId: string, env: NodeJS.ProcessEnv = { GLEANER_DATA_DIR: chain.dataDir }) =>
    runDatasetCommit({
      datasetId,
      serverUrl,
      operatorToken: testOperatorToken,
      env,
      out: (text) => printed.push(text),
    });

  beforeAll(async () => {
    chain = await startTestChain('dataset-commit');
    db = await openPgliteDatabase();
    await migrate(db);
    app = await buildTestApp(db, {}, { chain: chain.info });
    const buyer = await createBuyer(app);
    buyerKey = buyer.key;
    const { campaignId } = await seedCampaignPages(db, buyer.id, [{ text: words(1) }, { text: words(2) }]);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { authorization: `Bearer ${buyerKey}` },
      payload: { source: { kind: 'campaign', campaignId } },
    });
    expect(created.statusCode, created.body).toBe(201);
    await app.workQueue.drain();
    const read = await app.inject({
      method: 'GET',
      url: `/v1/datasets/${created.json().id}`,
      headers: { authorization: `Bearer ${buyerKey}` },
    });
    dataset = datasetSchema.parse(read.json());
    expect(dataset.state).toBe('ready');
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
    await chain?.stop();
  });

  it("commits a ready dataset's root, rows and card hash, read back from the registry", async () => {
    expect(await commit(dataset.id)).toBe(0);
    const client = createPublicClient({ transport: http(chain.rpcUrl) });
    const committed = await client.readContract({
      address: chain.contracts.registry,
      abi: registryAbi,
      functionName: 'datasetOf',
      args: [datasetKey(dataset.id)],
    });
    const card = dataset.files.find((file) => file.kind === 'card');
    expect(committed).toMatchObject({
      merkleRoot: dataset.merkleRoot,
      rowCount: BigInt(dataset.stats?.rows ?? -1),
      cardSha256: `0x${card?.sha256}`,
    });
    expect(committed.rowCount).toBe(2n);
    expect(printed.join('')).toContain(`Committed dataset ${dataset.id} on chain ${defaultChainId}`);

    printed.length = 0;
    expect(await commit(dataset.id.toUpperCase())).toBe(0);
    expect(printed.join('')).toContain(`Dataset ${dataset.id} was already committed`);
  });

  it('says which dataset is unknown or not a dataset id', async () => {
    await expect(commit('not-a-uuid')).rejects.toThrow('not-a-uuid is not a dataset id');
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expect(commit(unknown)).rejects.toMatchObject({ code: 'not_found', message: `No dataset ${unknown}.` });
  });

  it('lets only the operator read any dataset', async () => {
    const url = `/v1/admin/datasets/${dataset.id}`;
    expect(
      (await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${buyerKey}` } })).json(),
    ).toMatchObject({ code: 'operator_token_invalid' });
    const read = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${testOperatorToken}` } });
    expect(datasetSchema.parse(read.json())).toEqual(dataset);
  });
});
