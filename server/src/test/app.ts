import { defaultChainId, type SignatureHeaders, type SigningServer, signRequest } from '@protocol/signing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { LocalAccount } from 'viem';
import { type BuildAppOptions, buildApp } from '../app';
import type { Database } from '../db/database';
import { defaultScrapingSettings, type ScrapingSettings } from '../scraping-settings';

export const testOperatorToken = 'operator-token-for-tests-only-0123456789';

/** Scraping settings for tests: no politeness wait and no random sampling unless a test asks for them. */
export const testScrapingSettings: ScrapingSettings = {
  ...defaultScrapingSettings,
  politenessMs: 0,
  redundancyShare: 0,
  canaryRate: 0,
};

/** The server every test request is signed for: its public origin and chain. */
export const testSigningServer: SigningServer = { origin: 'http://gleaner.test', chainId: defaultChainId };

export function buildTestApp(
  db: Database,
  scraping: Partial<ScrapingSettings> = {},
  options: Partial<BuildAppOptions> = {},
): Promise<FastifyInstance> {
  return buildApp({
    db,
    operatorToken: testOperatorToken,
    version: '0.0.0-test',
    scraping: { ...testScrapingSettings, ...scraping },
    server: { origins: [testSigningServer.origin], chainId: testSigningServer.chainId },
    robotsIntervalMs: 0,
    ...options,
  });
}

export interface SignedInjectOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  /** Lets a test alter what is sent after signing (tampering, replays). */
  headers?: (signed: SignatureHeaders) => Record<string, string>;
  now?: Date;
  /** Exact body bytes to sign and send instead of `body` as JSON (malformed or gzip bodies). */
  rawBody?: Uint8Array;
  /** Sent as content-encoding with `rawBody`. */
  contentEncoding?: 'gzip';
  /** Sign for another server than the test app (to show it is refused). */
  server?: SigningServer;
}

/** Sends a request signed by `account` exactly as the extension does. */
export async function signedInject(
  app: FastifyInstance,
  account: LocalAccount,
  options: SignedInjectOptions,
): Promise<LightMyRequestResponse> {
  const bytes =
    options.rawBody ??
    (options.body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(options.body)));
  const hasBody = options.rawBody !== undefined || options.body !== undefined;
  const signed = await signRequest(
    account,
    { method: options.method, path: options.url, body: bytes },
    options.server ?? testSigningServer,
    options.now,
  );
  const headers = options.headers ? options.headers(signed) : signed;
  const bodyHeaders: Record<string, string> = hasBody ? { 'content-type': 'application/json' } : {};
  if (options.contentEncoding) bodyHeaders['content-encoding'] = options.contentEncoding;
  return app.inject({
    method: options.method,
    url: options.url,
    headers: { ...headers, ...bodyHeaders },
    payload: hasBody ? Buffer.from(bytes) : undefined,
  });
}
