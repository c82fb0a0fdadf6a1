import { readFile } from 'node:fs/promises';
import {
  closeEpochResultSchema,
  type EpochFile,
  type EpochSummary,
  epochFileSchema,
  epochListSchema,
  reverseCreditsResultSchema,
  rewardRulesVersion,
} from '@protocol/epochs';
import { BaseError } from '@protocol/errors';
import type { Hex } from 'viem';
import { contentIdOf } from '../rewards/content-id';
import { epochFileBytes, epochTreeEntries } from '../rewards/epoch-file';
import { applyEpochRules, type PreviousStanding } from '../rewards/epoch-rules';
import { buildEpochTree } from '../rewards/epoch-tree';
import type { adminClient } from './admin-client';

type AdminClient = ReturnType<typeof adminClient>;
type Print = (data: unknown, text: string) => void;

const describeEpoch = (epoch: EpochSummary) =>
  `epoch ${epoch.epoch}  closed ${epoch.closedAt}  ${epoch.wallets} wallets  ${epoch.pointsTotal} points  pool ${epoch.pool}` +
  `\n    root ${epoch.root}\n    file ${epoch.fileUrl}  (${epoch.contentId})` +
  `\n    ${epoch.publishedTx ? `published in ${epoch.publishedTx}` : 'not published on chain yet'}`;

/** `epoch close [--epoch N]`: closes the next epoch (or shows epoch N if it is closed). */
export async function closeEpochCommand(admin: AdminClient, epoch: string | undefined, print: Print): Promise<number> {
  let number: number | undefined;
  if (epoch !== undefined) {
    number = Number(epoch);
    if (!Number.isInteger(number) || number < 1)
      throw new BaseError('bad_request', '--epoch must be a whole number from 1.');
  }
  const result = await admin.call(
    'POST',
    '/v1/admin/epochs/close',
    closeEpochResultSchema,
    number ? { epoch: number } : {},
  );
  const head = result.closed ? 'Closed' : `Nothing closed (${result.reason}).`;
  print(
    result,
    `${head}${result.epoch ? `${result.closed ? '' : ' Existing:'}\n${describeEpoch(result.epoch)}` : ''}\n`,
  );
  return 0;
}

/** `epoch list`: closed epochs, newest first. */
export async function listEpochsCommand(admin: AdminClient, print: Print): Promise<number> {
  const { epochs } = await admin.call('GET', '/v1/epochs', epochListSchema);
  print({ epochs }, `${epochs.map(describeEpoch).join('\n') || 'No epoch closed yet.'}\n`);
  return 0;
}

/** `ledger reverse REF... --reason TEXT`: verified rows found bad after the fact, deducted from the next epoch. */
export async function reverseLedgerCommand(
  admin: AdminClient,
  references: string[],
  reason: string | undefined,
  print: Print,
): Promise<number> {
  if (references.length === 0)
    throw new BaseError('bad_request', 'ledger reverse needs at least one ledger reference.');
  if (!reason?.trim())
    throw new BaseError('bad_request', 'ledger reverse needs --reason TEXT (the contributor sees it).');
  const result = await admin.call('POST', '/v1/admin/ledger/reverse', reverseCreditsResultSchema, {
    references,
    reason,
  });
  const lines = [
    ...result.reversed.map((reference) => `reversed  ${reference}`),
    ...result.skipped.map((skip) => `skipped   ${skip.reference}: ${skip.reason}`),
  ];
  print(result, `${lines.join('\n')}\n`);
  return result.skipped.length === 0 ? 0 : 1;
}

/** What `epoch verify` found: the problems in words (none when the file is right), its root and content id. */
export interface EpochVerification {
  problems: string[];
  root: Hex | null;
  contentId: string;
}

function parseEpochFile(bytes: Buffer, label: string, problems: string[]): EpochFile | null {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    problems.push(`${label} is not JSON: ${(error as Error).message}`);
    return null;
  }
  const parsed = epochFileSchema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${label}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
    return null;
  }
  return parsed.data;
}

/**
 * Checks an epoch file with no server: its schema, every wallet's points, debt and amount recomputed by the
 * same rules code the server closes with, the totals, continuity with the previous epoch's file when given,
 * and the root rebuilt from the wallets.
 */
export async function verifyEpochFile(bytes: Buffer, previousBytes?: Buffer): Promise<EpochVerification> {
  const problems: string[] = [];
  const contentId = await contentIdOf(bytes);
  const file = parseEpochFile(bytes, 'the file', problems);
  if (!file) return { problems, root: null, contentId };
  const previous = previousBytes ? parseEpochFile(previousBytes, 'the previous file', problems) : null;
  if (!epochFileBytes(file).equals(bytes)) {
    problems.push(
      'the bytes are not in canonical form (key order, 2-space JSON, trailing newline): not the file the server published',
    );
  }
  if (file.rulesVersion !== rewardRulesVersion) {
    problems.push(`rulesVersion is ${file.rulesVersion}; this verifier knows ${rewardRulesVersion}`);
  }
  const seen = new Set<string>();
  let last = '';
  for (const line of file.wallets) {
    const key = line.address.toLowerCase();
    if (seen.has(key)) problems.push(`wallet ${line.address} is listed twice`);
    else if (key < last)
      problems.push(`wallet ${line.address} is out of order (wallets are sorted by lower-case address)`);
    seen.add(key);
    last = key;
  }

  const standings = new Map<string, PreviousStanding>();
  if (previous && previousBytes) {
    const link = {
      epoch: previous.epoch,
      root: previous.root,
      contentId: await contentIdOf(previousBytes),
    };
    if (file.epoch !== previous.epoch + 1)
      problems.push(`epoch ${file.epoch} does not follow the previous file's ${previous.epoch}`);
    if (JSON.stringify(file.previous) !== JSON.stringify(link)) {
      problems.push(`previous is ${JSON.stringify(file.previous)}, but the previous file is ${JSON.stringify(link)}`);
    }
    if (file.carriedIn !== previous.carriedOut) {
      problems.push(`carriedIn is ${file.carriedIn}, but the previous epoch carried out ${previous.carriedOut}`);
    }
    for (const line of previous.wallets) {
      standings.set(line.address.toLowerCase(), { cumulative: BigInt(line.cumulative), debtOut: line.debtOut });
      if (!seen.has(line.address.toLowerCase())) {
        problems.push(
          `wallet ${line.address} was in epoch ${previous.epoch} but is missing: a wallet ever paid stays in every later epoch`,
        );
      }
    }
  } else {
    // Without the previous file, take each wallet's standing from its own line; the rest still has to add up.
    for (const line of file.wallets) {
      const cumulative = BigInt(line.cumulative) - BigInt(line.amount);
      if (cumulative < 0n)
        problems.push(`wallet ${line.address}: cumulative ${line.cumulative} is less than its amount ${line.amount}`);
      standings.set(line.address.toLowerCase(), { cumulative, debtOut: line.debtIn });
    }
  }

  const carriedIn = BigInt(file.carriedIn);
  const poolPerEpoch = BigInt(file.pool) - carriedIn;
  if (poolPerEpoch < 0n) problems.push(`pool ${file.pool} is less than carriedIn ${file.carriedIn}`);
  const expected = applyEpochRules({
    poolPerEpoch: poolPerEpoch < 0n ? 0n : poolPerEpoch,
    carriedIn,
    previous: standings,
    counted: new Map(
      file.wallets.map((line) => [line.address.toLowerCase(), { earned: line.earned, reversed: line.reversed }]),
    ),
  });
  const stated = new Map(file.wallets.map((line) => [line.address.toLowerCase(), line]));
  for (const line of expected.lines) {
    const given = stated.get(line.wallet);
    if (!given) continue;
    const fields = {
      debtIn: line.debtIn,
      points: line.points,
      debtOut: line.debtOut,
      amount: line.amount.toString(),
      cumulative: line.cumulative.toString(),
    } as const;
    for (const [field, value] of Object.entries(fields)) {
      const actual = given[field as keyof typeof fields];
      if (String(actual) !== String(value)) {
        problems.push(`wallet ${given.address}: ${field} is ${actual}, the rules give ${value}`);
      }
    }
  }
  if (file.pointsTotal !== expected.pointsTotal) {
    problems.push(`pointsTotal is ${file.pointsTotal}, the wallets' points add up to ${expected.pointsTotal}`);
  }
  if (file.carriedOut !== expected.carriedOut.toString()) {
    problems.push(
      `carriedOut is ${file.carriedOut}, the rules give ${expected.carriedOut} (pool minus the amounts paid)`,
    );
  }

  let root: Hex | null = null;
  if (file.wallets.length > 0 && problems.every((problem) => !problem.includes('listed twice'))) {
    root = buildEpochTree(
      epochTreeEntries(file.wallets.map((line) => ({ wallet: line.address, cumulative: BigInt(line.cumulative) }))),
    ).root;
    if (root !== file.root) problems.push(`root is ${file.root}, but the wallets' tree has root ${root}`);
  } else if (file.wallets.length === 0) {
    problems.push('the file lists no wallet: an epoch always has at least one');
  }
  return { problems, root, contentId };
}

/** `epoch verify FILE [--previous FILE]`: exits 1 naming each problem, 0 when the file holds up. */
export async function verifyEpochCommand(
  path: string | undefined,
  previousPath: string | undefined,
  print: Print,
  printError: (text: string) => void,
): Promise<number> {
  if (!path)
    throw new BaseError('bad_request', 'epoch verify needs the epoch FILE (download it from /v1/epochs/N/file).');
  const read = (file: string) =>
    readFile(file).catch((cause: unknown) => {
      throw new BaseError('bad_request', `Cannot read ${file}: ${(cause as Error).message}`, { cause });
    });
  const bytes = await read(path);
  const previous = previousPath ? await read(previousPath) : undefined;
  const result = await verifyEpochFile(bytes, previous);
  const text = `root        ${result.root ?? '(not computed)'}\ncontent id  ${result.contentId}\n`;
  if (result.problems.length === 0) {
    print(
      { ok: true, ...result },
      `${text}OK: every amount, total and the root follow from the file${previous ? ' and the previous one' : ''}.\n`,
    );
    return 0;
  }
  print({ ok: false, ...result }, text);
  printError(
    `${result.problems.length} problem(s):\n${result.problems.map((problem) => `  - ${problem}`).join('\n')}\n`,
  );
  return 1;
}
