import {
  ledgerPageSchema,
  ledgerQuerySchema,
  pointsByDaySchema,
  walletOverviewSchema,
  walletSessionSchema,
  walletSignInStatement,
} from '@protocol/contributors';
import { AuthError, errorBodySchema } from '@protocol/errors';
import { signedSiweMessageSchema } from '@protocol/wallets';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Address } from 'viem';
import { z } from 'zod';
import type { AppContext } from '../app-context';
import { bearerToken } from '../plugins/buyer-auth';
import { walletSessionAuth } from '../plugins/wallet-session-auth';
import type { RewardSettings } from '../rewards/reward-settings';
import { contributorDashboard } from '../services/contributor-dashboard';
import { walletSessionService } from '../services/wallet-sessions';
import { siweSignatureVerifier } from '../services/wallet-siwe';

export interface ContributorRouteOptions extends AppContext {
  rewards: RewardSettings;
  /** JSON-RPC of the reward chain: smart-contract wallets sign in through it. */
  chainRpcUrl?: string;
}

const sessionErrors = { 401: errorBodySchema };
const tags = ['contributors'];

function signedInWallet(request: FastifyRequest): Address {
  if (!request.wallet) throw new Error('wallet session auth did not run');
  return request.wallet;
}

/** The contributor's side of the console: wallet sign-in (SIWE) and the dashboard of the signed-in wallet. */
export const contributorRoutes: FastifyPluginAsyncZod<ContributorRouteOptions> = async (app, options) => {
  const sessions = walletSessionService(options.db, options.server, siweSignatureVerifier(options.chainRpcUrl));
  const dashboard = contributorDashboard(options.db, options.rewards);
  const signedIn = walletSessionAuth(sessions);
  app.decorateRequest('wallet', null);

  app.post(
    '/v1/wallets/session',
    {
      bodyLimit: 8192,
      schema: {
        summary: 'Sign in to the console with a wallet: a session token (24 hours) for the contributor endpoints',
        description:
          'The message (EIP-4361, as viem createSiweMessage writes it) must name this server as domain, its chain, a nonce ' +
          `from GET /v1/wallets/nonce, issuedAt and expirationTime, the statement "${walletSignInStatement}" ` +
          '(protocol/contributors.ts walletSignInStatement) and no resources. The session ends after 24 hours or at ' +
          "the message's expirationTime, whichever is sooner.",
        tags,
        body: signedSiweMessageSchema,
        response: { 201: walletSessionSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .header('cache-control', 'no-store')
        .send(await sessions.signIn(request.body)),
  );

  app.delete(
    '/v1/wallets/session',
    {
      schema: {
        summary: 'Sign out: the presented session token stops working',
        description:
          'Send the token as "Authorization: Bearer gls_…". Signing out a token already ended changes nothing.',
        tags,
        response: { 204: z.null(), ...sessionErrors },
      },
    },
    async (request, reply) => {
      const token = bearerToken(request);
      if (!token) {
        throw new AuthError('wallet_session_missing', 'Send the session to end as "Authorization: Bearer gls_…".');
      }
      await sessions.revoke(token);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/wallet',
    {
      onRequest: signedIn,
      schema: {
        summary: "The signed-in wallet's devices, points, next epoch estimate and rewards",
        description: 'Authorization: Bearer gls_… (POST /v1/wallets/session).',
        tags,
        response: { 200: walletOverviewSchema, ...sessionErrors },
      },
    },
    async (request) => dashboard.overview(signedInWallet(request)),
  );

  app.get(
    '/v1/wallet/points-by-day',
    {
      onRequest: signedIn,
      schema: {
        summary: "The signed-in wallet's points per UTC day (verified, pending, rejected), oldest first",
        description:
          'Every day of the last `days` (today included) is present. Reversed work counts as rejected on the day it was done.',
        tags,
        querystring: z.object({ days: z.coerce.number().int().min(1).max(90).default(30) }),
        response: { 200: pointsByDaySchema, 400: errorBodySchema, ...sessionErrors },
      },
    },
    async (request) => dashboard.pointsByDay(signedInWallet(request), request.query.days),
  );

  app.get(
    '/v1/wallet/ledger',
    {
      onRequest: signedIn,
      schema: {
        summary: "The signed-in wallet's ledger rows, newest first, with state, reason, reference and paying epoch",
        description:
          'Rows paid to this wallet, and unpaid rows of the devices linked to it now. Pass nextCursor back as cursor for the next page.',
        tags,
        querystring: ledgerQuerySchema,
        response: { 200: ledgerPageSchema, 400: errorBodySchema, ...sessionErrors },
      },
    },
    async (request) => dashboard.ledger(signedInWallet(request), request.query),
  );
};
