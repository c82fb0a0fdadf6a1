import { errorBodySchema } from '@protocol/errors';
import {
  deviceLinkCodeSchema,
  deviceWalletSchema,
  signedSiweMessageSchema,
  siweNonceSchema,
  walletLinkSchema,
} from '@protocol/wallets';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceSigned } from '../plugins/device-auth';
import { walletLinkService } from '../services/wallet-links';
import { siweSignatureVerifier } from '../services/wallet-siwe';

export interface WalletRouteOptions extends AppContext {
  /** JSON-RPC of the reward chain: with it, smart-contract wallets (EIP-1271/6492) can link; without, only EOAs. */
  chainRpcUrl?: string;
}

const siweErrors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

/** Wallet linking (DESIGN §3): the device shows a code, the wallet signs a SIWE message naming device and code. */
export const walletRoutes: FastifyPluginAsyncZod<WalletRouteOptions> = async (app, options) => {
  const wallets = walletLinkService(options.db, options.server, siweSignatureVerifier(options.chainRpcUrl));

  app.post(
    '/v1/devices/me/link-code',
    {
      ...deviceSigned(options, { maxInflatedBytes: 1024 }),
      schema: {
        summary: 'A one-time code (10 minutes) that a wallet names to link this device',
        tags: ['wallets'],
        security: [{ deviceSignature: [] }],
        response: { 201: deviceLinkCodeSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request, reply) => {
      const device = request.device;
      if (!device) throw new Error('device auth did not run');
      return reply.status(201).send(await wallets.issueLinkCode(device));
    },
  );

  app.get(
    '/v1/devices/me/wallet',
    {
      ...deviceSigned(options),
      schema: {
        summary: "The wallet this device's points go to, and since when (null while unlinked)",
        tags: ['wallets'],
        security: [{ deviceSignature: [] }],
        response: { 200: deviceWalletSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => {
      const device = request.device;
      if (!device) throw new Error('device auth did not run');
      return { link: await wallets.currentLink(device) };
    },
  );

  app.get(
    '/v1/wallets/nonce',
    {
      // Anyone may ask, and each answer is a stored row: counted per client IP like registrations.
      config: { limitPerIp: true },
      schema: {
        summary: 'A fresh Sign-In with Ethereum nonce (single use, 10 minutes)',
        tags: ['wallets'],
        response: { 200: siweNonceSchema, 429: errorBodySchema },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-store').send(await wallets.issueNonce()),
  );

  app.post(
    '/v1/wallets/link',
    {
      bodyLimit: 8192,
      schema: {
        summary: 'Link a device to the signing wallet with a SIWE message naming the device and its code',
        description:
          'The message (EIP-4361, as viem createSiweMessage writes it) must name this server as domain, its chain, a nonce from ' +
          'GET /v1/wallets/nonce, issuedAt and expirationTime, and exactly the statement and resources of ' +
          "protocol/wallets.ts walletLinkMessageFields('link', device, code). The device's previous link is closed.",
        tags: ['wallets'],
        body: signedSiweMessageSchema,
        response: { 200: walletLinkSchema, ...siweErrors },
      },
    },
    async (request) => wallets.link(request.body),
  );

  app.post(
    '/v1/wallets/unlink',
    {
      bodyLimit: 8192,
      schema: {
        summary: 'Unlink a device from the signing wallet; the device keeps earning, unlinked',
        description:
          "Same checks as link, with walletLinkMessageFields('unlink', device): no code, and only the wallet the device is linked to may unlink it.",
        tags: ['wallets'],
        body: signedSiweMessageSchema,
        response: { 200: walletLinkSchema, ...siweErrors },
      },
    },
    async (request) => wallets.unlink(request.body),
  );
};
