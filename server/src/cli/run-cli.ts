import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { apiKeySummarySchema, buyerListSchema, issuedApiKeySchema } from '@protocol/buyers';
import { deviceListSchema } from '@protocol/devices';
import { BaseError } from '@protocol/errors';
import { healthSchema } from '@protocol/health';
import { checkUrl } from '@protocol/url-guard';
import { operatorTokenFile } from '../operator-token';
import { adminClient } from './admin-client';
import { aggregateUsage, runAggregate } from './aggregate-command';
import { closeEpochCommand, listEpochsCommand, reverseLedgerCommand, verifyEpochCommand } from './epoch-command';
import { listJobs, retryJob } from './jobs-command';

const usage = `Gleaner operator CLI

Usage: npm run gleaner -- <command> [options]

Commands:
  status                               server health and counts
  buyer create --name NAME [--email E] create a buyer; prints its API key ONCE
  buyer list                           buyers and their keys (never the secrets)
  key issue --buyer BUYER_ID           another API key for a buyer; printed ONCE
  key revoke KEY_ID                    revoke an API key
  devices                              registered extension devices
  check-url URL...                     whether each URL may be fetched, or which rule blocks it
  jobs [--state S] [--kind K] [--limit N]
                                       the background work queue: counts by state (queued, running,
                                       done, failed), then the newest items with their last error
  jobs retry ITEM_ID                   queue a failed work item again, due now, with fresh attempts
${aggregateUsage}
  epoch close [--epoch N]              close the next reward epoch (idempotent: a closed N is shown again)
  epoch publish [N|latest]             check epoch N's public file against its root, fund the distributor
                                       and set the root on chain (default latest; safe to run again)
  epoch list                           closed epochs, newest first, with root, file and content id
  epoch verify FILE [--previous FILE]  recompute an epoch file's amounts, totals and root (offline, no
                                       server); --previous checks continuity with the epoch before
  ledger reverse REF... --reason TEXT  reverse verified ledger rows found bad later: deducted from the
                                       wallet's next epoch, never below zero
  dataset commit DATASET_ID            commit a ready dataset's Merkle root, rows and card hash to the
                                       on-chain registry (once)

Options:
  --server URL   server to talk to (default $GLEANER_URL or http://127.0.0.1:8787)
  --json         print JSON instead of text

The operator token comes from $GLEANER_OPERATOR_TOKEN, else from the server's data folder
($GLEANER_DATA_DIR/operator-token, default ./data/operator-token). epoch publish and dataset commit sign with
$GLEANER_OPERATOR_KEY on $CHAIN_RPC_URL (contracts from $GLEANER_TOKEN_ADDRESS, $GLEANER_DISTRIBUTOR_ADDRESS,
$GLEANER_REGISTRY_ADDRESS), or, when unset, on the local chain that npm start runs for that data folder.
`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
}

async function readOperatorToken(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.GLEANER_OPERATOR_TOKEN) return env.GLEANER_OPERATOR_TOKEN;
  const file = operatorTokenFile(resolve(env.GLEANER_DATA_DIR ?? './data'));
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new BaseError(
      'operator_token_invalid',
      `No operator token: set GLEANER_OPERATOR_TOKEN, or run this where the server keeps ${file} (it writes it at first start).`,
    );
  }
}

/** Runs one CLI command; returns the process exit code. Errors are printed in words, never thrown. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    io.out(usage);
    return values.help ? 0 : 2;
  }
  const serverUrl = values.server ?? io.env.GLEANER_URL ?? 'http://127.0.0.1:8787';
  const print = (data: unknown, text: string) => io.out(values.json ? `${JSON.stringify(data, null, 2)}\n` : text);
  try {
    if (command === 'status') {
      const response = await fetch(new URL('/health', serverUrl)).catch((cause: unknown) => {
        throw new BaseError('server_unreachable', `No Gleaner server answered at ${serverUrl}.`, { cause });
      });
      const health = healthSchema.parse(await response.json());
      print(
        health,
        `Gleaner ${health.version} at ${serverUrl}: ${health.status}, database ${health.database}, ${health.devices} devices, up ${health.uptimeSeconds} s\n`,
      );
      return 0;
    }
    if (command === 'check-url') {
      const urls = positionals.slice(1);
      if (urls.length === 0) throw new BaseError('bad_request', 'check-url needs at least one URL.');
      const verdicts = urls.map((url) => ({ input: url, ...checkUrl(url) }));
      print(
        verdicts,
        verdicts
          .map((verdict) =>
            verdict.ok
              ? `allowed  ${verdict.input}  → ${verdict.url}\n`
              : `BLOCKED  ${verdict.input}  [${verdict.rule}] ${verdict.reason}\n`,
          )
          .join(''),
      );
      return verdicts.every((verdict) => verdict.ok) ? 0 : 1;
    }
    if (command === 'aggregate') return await runAggregate(values, io);
    if (command === 'epoch' && sub === 'verify') return await verifyEpochCommand(arg, values.previous, print, io.err);
    const admin = adminClient(serverUrl, await readOperatorToken(io.env));
    if (command === 'buyer' && sub === 'create') {
      if (!values.name) throw new BaseError('bad_request', 'buyer create needs --name.');
      const issued = await admin.call('POST', '/v1/admin/buyers', issuedApiKeySchema, {
        name: values.name,
        ...(values.email ? { email: values.email } : {}),
      });
      print(
        issued,
        `Created buyer ${issued.buyer.name} (${issued.buyer.id}).\nAPI key (shown once, store it now): ${issued.apiKey}\nKey id (for revoking): ${issued.key.id}\n`,
      );
      return 0;
    }
    if (command === 'buyer' && sub === 'list') {
      const { buyers } = await admin.call('GET', '/v1/admin/buyers', buyerListSchema);
      const lines = buyers.map(
        (buyer) =>
          `${buyer.id}  ${buyer.name}${buyer.email ? ` <${buyer.email}>` : ''}\n${buyer.keys
            .map(
              (key) =>
                `    key ${key.id}  created ${key.createdAt}${key.revokedAt ? `  REVOKED ${key.revokedAt}` : ''}`,
            )
            .join('\n')}`,
      );
      print({ buyers }, `${lines.join('\n') || 'No buyers yet.'}\n`);
      return 0;
    }
    if (command === 'key' && sub === 'issue') {
      if (!values.buyer) throw new BaseError('bad_request', 'key issue needs --buyer BUYER_ID.');
      const issued = await admin.call(
        'POST',
        `/v1/admin/buyers/${encodeURIComponent(values.buyer)}/keys`,
        issuedApiKeySchema,
      );
      print(issued, `API key for ${issued.buyer.name} (shown once): ${issued.apiKey}\nKey id: ${issued.key.id}\n`);
      return 0;
    }
    if (command === 'key' && sub === 'revoke') {
      if (!arg) throw new BaseError('bad_request', 'key revoke needs the KEY_ID (see buyer list).');
      const key = await admin.call('POST', `/v1/admin/api-keys/${encodeURIComponent(arg)}/revoke`, apiKeySummarySchema);
      print(key, `Revoked key ${key.id} (at ${key.revokedAt}).\n`);
      return 0;
    }
    if (command === 'jobs' && sub === undefined) return await listJobs(admin, values, print);
    if (command === 'jobs' && sub === 'retry') return await retryJob(admin, arg, print);
    if (command === 'epoch' && sub === 'close') return await closeEpochCommand(admin, values.epoch, print);
    if (command === 'epoch' && sub === 'list') return await listEpochsCommand(admin, print);
    const operator = { serverUrl, operatorToken: await readOperatorToken(io.env), env: io.env, out: io.out };
    if (command === 'epoch' && sub === 'publish') {
      if (arg !== undefined && arg !== 'latest' && !/^[1-9][0-9]*$/.test(arg)) {
        throw new BaseError('bad_request', `epoch publish takes an epoch number or "latest", not "${arg}".`);
      }
      // Chain commands load viem's wallet and the local chain only when run: every other command starts ~1 s sooner.
      const { runEpochPublish } = await import('./epoch-publish-command');
      return await runEpochPublish({
        ...operator,
        epoch: arg === undefined || arg === 'latest' ? 'latest' : Number(arg),
      });
    }
    if (command === 'dataset' && sub === 'commit') {
      if (!arg) throw new BaseError('bad_request', 'dataset commit needs the DATASET_ID.');
      const { runDatasetCommit } = await import('./dataset-commit-command');
      return await runDatasetCommit({ ...operator, datasetId: arg });
    }
    if (command === 'ledger' && sub === 'reverse') {
      return await reverseLedgerCommand(admin, positionals.slice(2), values.reason, print);
    }
    if (command === 'devices') {
      const { devices } = await admin.call('GET', '/v1/admin/devices', deviceListSchema);
      const lines = devices.map(
        (device) => `${device.address}  ${device.browser} ${device.extensionVersion}  last seen ${device.lastSeenAt}`,
      );
      print({ devices }, `${lines.join('\n') || 'No devices registered yet.'}\n`);
      return 0;
    }
    io.err(`Unknown command: ${positionals.join(' ')}\n\n${usage}`);
    return 2;
  } catch (error) {
    io.err(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function parseCommand(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      name: { type: 'string' },
      email: { type: 'string' },
      buyer: { type: 'string' },
      input: { type: 'string' },
      method: { type: 'string' },
      gold: { type: 'string' },
      output: { type: 'string' },
      encoding: { type: 'string' },
      'gold-encoding': { type: 'string' },
      state: { type: 'string' },
      kind: { type: 'string' },
      limit: { type: 'string' },
      epoch: { type: 'string' },
      previous: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
