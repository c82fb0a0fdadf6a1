import {
  closeEpochRequestSchema,
  closeEpochResultSchema,
  type EpochFile,
  epochFileSchema,
  epochListSchema,
  epochProofSchema,
  epochPublishedSchema,
  epochSummarySchema,
  reverseCreditsRequestSchema,
  reverseCreditsResultSchema,
} from '@protocol/epochs';
import { BaseError, errorBodySchema } from '@protocol/errors';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import { operatorAuth } from '../plugins/operator-auth';
import { epochStorageKeys } from '../rewards/epoch-file';
import { startEpochSchedule } from '../rewards/epoch-schedule';
import { closeEpoch, findEpoch, listEpochs, markEpochPublished, readEpochProof } from '../rewards/epoch-service';
import { reverseCredits } from '../rewards/reversals';
import type { RewardSettings } from '../rewards/reward-settings';

export interface EpochRouteOptions extends AppContext {
  rewards: RewardSettings;
  /** Where epoch files and trees are stored (the dataset storage, under `epochs/`). */
  storage: DatasetStorage;
}

const epochNumberError = 'must be an epoch number (1, 2, …) or latest';

/**
 * An epoch number as written in its URLs: plain decimal digits. `Number()` would also take `1e0`, `0x1`, ` 1`
 * or `1.0`, so one file would answer under many URLs (each cached as immutable on its own).
 */
const epochNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, epochNumberError)
  .transform(Number)
  .refine((n) => n <= 2 ** 31 - 1, epochNumberError);

/** `:n` of the epoch routes: a number, or `latest`. */
const epochParam = z.union([z.literal('latest'), epochNumber], { error: epochNumberError });

/**
 * Whether an If-None-Match header names `etag`: a list of tags (as caches merge them), weak or strong (the
 * comparison is weak for If-None-Match, RFC 9110 §13.1.2), or `*`.
 */
function namesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/** Reward epochs: public epoch files and proofs, the operator's close, publish and ledger reversals, and the scheduled close. */
export const epochRoutes: FastifyPluginAsyncZod<EpochRouteOptions> = async (
  app,
  { db, operatorToken, rewards, server, storage },
) => {
  const publicTags = { tags: ['epochs'] };
  const operator = { tags: ['admin'], security: [{ operatorToken: [] }] };
  const onlyOperator = operatorAuth(operatorToken);
  // The schedule lives with the routes that close by hand: same database, storage and settings.
  startEpochSchedule(app, db, rewards, storage);
  /**
   * The origin file URLs are given under: the request's when it is one of this server's public origins, else the
   * first of them. The Host header is the client's to write, and a shared cache would hand its links to others.
   */
  const originOf = (request: { protocol: string; host: string }) => {
    const asked = `${request.protocol}://${request.host}`;
    return server.origins.includes(asked) ? asked : (server.origins[0] ?? asked);
  };

  async function epochOrNotFound(n: number | 'latest', origin: string) {
    const epoch = await findEpoch(db, n, origin);
    if (!epoch) {
      throw new BaseError(
        'not_found',
        n === 'latest' ? 'No epoch has been closed yet.' : `No epoch ${n}: it is not closed.`,
      );
    }
    return epoch;
  }

  app.get(
    '/v1/epochs',
    { schema: { ...publicTags, summary: 'Closed reward epochs, newest first', response: { 200: epochListSchema } } },
    async (request) => ({ epochs: await listEpochs(db, originOf(request)) }),
  );

  app.get(
    '/v1/epochs/:n',
    {
      schema: {
        ...publicTags,
        summary: 'One closed epoch (a number or latest)',
        params: z.object({ n: epochParam }),
        response: { 200: epochSummarySchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => epochOrNotFound(request.params.n, originOf(request)),
  );

  app.get(
    '/v1/epochs/:n/file',
    {
      schema: {
        ...publicTags,
        summary: 'The public epoch file: its exact bytes, pinned by content id (CIDv1 raw sha2-256)',
        description: 'Recompute every amount and the root from it with `gleaner epoch verify FILE` (no server needed).',
        params: z.object({ n: epochParam }),
        response: { 200: epochFileSchema, 304: z.null(), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const epoch = await epochOrNotFound(request.params.n, originOf(request));
      const etag = `"${epoch.contentId}"`;
      // No payload at all: `send(null)` goes through the serializer and answers the four bytes `null` (the cast
      // because the typed reply wants the schema's null, which is exactly what must not be serialized).
      if (namesEtag(request.headers['if-none-match'], etag))
        return reply
          .status(304)
          .header('etag', etag)
          .send(undefined as unknown as null);
      const body = await storage.read(epochStorageKeys(epoch.epoch).file);
      // `latest` moves; a numbered file never changes.
      const cache = request.params.n === 'latest' ? 'public, max-age=60' : 'public, max-age=31536000, immutable';
      return (
        reply
          .type('application/json')
          .header('etag', etag)
          .header('x-content-id', epoch.contentId)
          .header('content-length', epoch.fileBytes)
          .header('cache-control', cache)
          // Fastify sends a stream as it is, never through the serializer: these are the stored bytes.
          .send(body as unknown as EpochFile)
      );
    },
  );

  app.get(
    '/v1/epochs/:n/proofs/:address',
    {
      schema: {
        ...publicTags,
        summary: "A wallet's cumulative amount and Merkle proof in an epoch: what the distributor's claim takes",
        params: z.object({ n: epochParam, address: z.string() }),
        response: { 200: epochProofSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const { address } = request.params;
      if (!isAddress(address, { strict: false })) {
        throw new BaseError('bad_request', `${address} is not an address (0x and 40 hex digits).`);
      }
      const epoch = await epochOrNotFound(request.params.n, originOf(request));
      const claim = await readEpochProof(db, storage, epoch.epoch, address);
      if (!claim) {
        throw new BaseError(
          'not_found',
          `Wallet ${getAddress(address)} is not in epoch ${epoch.epoch}: it has had no points paid by epoch ${epoch.epoch}.`,
        );
      }
      return { epoch: epoch.epoch, root: epoch.root, account: getAddress(address), ...claim };
    },
  );

  app.post(
    '/v1/admin/epochs/close',
    {
      onRequest: onlyOperator,
      schema: {
        ...operator,
        summary: 'Close the next epoch (idempotent: a closed number returns that epoch)',
        body: closeEpochRequestSchema,
        response: { 200: closeEpochResultSchema, 400: errorBodySchema, 401: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request) => closeEpoch(db, storage, rewards, { epoch: request.body?.epoch, origin: originOf(request) }),
  );

  app.post(
    '/v1/admin/epochs/:n/published',
    {
      onRequest: onlyOperator,
      schema: {
        ...operator,
        summary: 'Record the transaction that set the epoch root on the distributor (idempotent)',
        params: z.object({ n: epochNumber }),
        body: epochPublishedSchema,
        response: {
          200: epochSummarySchema,
          400: errorBodySchema,
          401: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request) => markEpochPublished(db, request.params.n, request.body.tx, originOf(request)),
  );

  app.post(
    '/v1/admin/ledger/reverse',
    {
      onRequest: onlyOperator,
      schema: {
        ...operator,
        summary: 'Reverse verified ledger rows (late failed audits): deducted from the next epoch, never below zero',
        body: reverseCreditsRequestSchema,
        response: { 200: reverseCreditsResultSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request) => reverseCredits(db, request.body.references, request.body.reason),
  );
};
