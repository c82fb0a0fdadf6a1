import { datasetSchema } from '@protocol/datasets';
import { BaseError } from '@protocol/errors';
import type { Hex } from 'viem';
import { z } from 'zod';
import { operatorChainSettings } from '../chain/cli-chain-settings';
import { connectOperatorChain } from '../chain/operator-chain';
import { adminClient } from './admin-client';

export interface DatasetCommitArgs {
  datasetId: string;
  serverUrl: string;
  operatorToken: string;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
}

/**
 * `gleaner dataset commit ID`: commits a ready dataset's row Merkle root, row count and card hash to the
 * registry, so a buyer can show on chain which rows the dataset holds. Safe to run again.
 */
export async function runDatasetCommit(args: DatasetCommitArgs): Promise<number> {
  if (!z.uuid().safeParse(args.datasetId).success) {
    throw new BaseError('bad_request', `${args.datasetId} is not a dataset id (a UUID, see the console or the API).`);
  }
  const chainSettings = await operatorChainSettings(args.env);
  const admin = adminClient(args.serverUrl, args.operatorToken);
  const dataset = await admin.call('GET', `/v1/admin/datasets/${args.datasetId.toLowerCase()}`, datasetSchema);
  const card = dataset.files.find((file) => file.kind === 'card');
  if (dataset.state !== 'ready' || !dataset.merkleRoot || !dataset.stats || !card) {
    throw new BaseError(
      'conflict',
      `Dataset ${dataset.id} is ${dataset.state}: only a ready dataset (with its root and card) can be committed.`,
    );
  }

  const chain = await connectOperatorChain(chainSettings);
  const result = await chain.commitDatasetRoot({
    datasetId: dataset.id,
    root: dataset.merkleRoot as Hex,
    rowCount: dataset.stats.rows,
    cardSha256: card.sha256,
  });
  const where = `chain ${chainSettings.chainId}, registry ${chainSettings.contracts.registry}`;
  args.out(
    result.alreadyCommitted
      ? `Dataset ${dataset.id} was already committed on ${where} (transaction ${result.tx}).\n`
      : `Committed dataset ${dataset.id} on ${where}: root ${dataset.merkleRoot}, ${dataset.stats.rows} rows, ` +
          `card SHA-256 ${card.sha256} (transaction ${result.tx}).\n`,
  );
  return 0;
}
