import { createHash } from 'node:crypto';
import { type EpochFile, epochFileSchema, epochSummarySchema } from '@protocol/epochs';
import { BaseError } from '@protocol/errors';
import { type Address, formatUnits, type Hex } from 'viem';
import { operatorChainSettings } from '../chain/cli-chain-settings';
import { connectOperatorChain } from '../chain/operator-chain';
import { contentIdOf } from '../rewards/content-id';
import { buildEpochTree } from '../rewards/epoch-tree';
import { adminClient } from './admin-client';

export interface EpochPublishArgs {
  epoch: number | 'latest';
  serverUrl: string;
  operatorToken: string;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
}

/** The root of OpenZeppelin's StandardMerkleTree over the file's (address, cumulative): what anyone recomputes. */
export function epochFileRoot(file: EpochFile): Hex {
  return buildEpochTree(
    file.wallets.map((wallet) => ({ account: wallet.address as Address, amount: BigInt(wallet.cumulative) })),
  ).root;
}

/**
 * `gleaner epoch publish [N|latest]`: fetches the epoch and its public file from the server, recomputes the
 * root from the file, funds the distributor and sets the root on chain, then tells the server the transaction.
 * Safe to run again: a published epoch is reported, not published twice.
 */
export async function runEpochPublish(args: EpochPublishArgs): Promise<number> {
  const admin = adminClient(args.serverUrl, args.operatorToken);
  const chainSettings = await operatorChainSettings(args.env);
  const summary = await admin.call('GET', `/v1/epochs/${args.epoch}`, epochSummarySchema);
  const n = summary.epoch;
  const bytes = await fetchBytes(new URL(`/v1/epochs/${n}/file`, args.serverUrl));

  // The chain gets only the root: check the file anyone will download is the one it was computed from.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== summary.fileSha256) {
    throw new BaseError('conflict', `Epoch ${n}'s file has SHA-256 ${sha256}, not ${summary.fileSha256} as listed.`);
  }
  const contentId = await contentIdOf(bytes);
  if (contentId !== summary.contentId) {
    throw new BaseError('conflict', `Epoch ${n}'s file has content id ${contentId}, not ${summary.contentId}.`);
  }
  const parsed = epochFileSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  if (!parsed.success) {
    throw new BaseError('conflict', `Epoch ${n}'s file is not a gleaner-epoch-v1 file: ${parsed.error.message}`);
  }
  const file = parsed.data;
  if (file.epoch !== n || file.wallets.length === 0) {
    throw new BaseError(
      'conflict',
      `Epoch ${n}'s file describes epoch ${file.epoch} with ${file.wallets.length} wallets.`,
    );
  }
  const root = epochFileRoot(file);
  if (root !== summary.root || root !== file.root) {
    throw new BaseError(
      'conflict',
      `The root recomputed from epoch ${n}'s file is ${root}; the server lists ${summary.root} and the file says ${file.root}. Nothing was published.`,
    );
  }
  const paid = file.wallets.reduce((sum, wallet) => sum + BigInt(wallet.amount), 0n);
  if (paid !== BigInt(file.pool) - BigInt(file.carriedOut)) {
    throw new BaseError(
      'conflict',
      `Epoch ${n}'s wallets are paid ${paid} in total, not its pool ${file.pool} minus the ${file.carriedOut} carried out.`,
    );
  }

  const chain = await connectOperatorChain(chainSettings);
  const cumulativeTotal = file.wallets.reduce((sum, wallet) => sum + BigInt(wallet.cumulative), 0n);
  const result = await chain.publishEpoch({ epoch: n, root, contentId, cumulativeTotal });
  await admin.call('POST', `/v1/admin/epochs/${n}/published`, epochSummarySchema, { tx: result.tx });

  const where = `chain ${chainSettings.chainId}, distributor ${chainSettings.contracts.distributor}`;
  args.out(
    result.alreadyPublished
      ? `Epoch ${n} was already published on ${where} (transaction ${result.tx}); the server has it recorded.\n`
      : `Published epoch ${n} on ${where}: root ${root}, content id ${contentId}, ${file.wallets.length} wallets, ` +
          `${formatUnits(result.minted, 18)} tokens minted to the distributor (transaction ${result.tx}).\n`,
  );
  return 0;
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new BaseError(
      'server_unreachable',
      `No Gleaner server answered at ${url.origin}. Is it running (npm start)?`,
      {
        cause,
      },
    );
  }
  if (!response.ok)
    throw new BaseError('server_rejected', `The server answered ${response.status} to GET ${url.pathname}.`);
  return new Uint8Array(await response.arrayBuffer());
}
