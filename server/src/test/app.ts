import { defaultChainId, type SignatureHeaders, type SigningServer, signRequest } from '@protocol/signing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { LocalAccount } from 'viem';
import { type BuildAppOptions, buildApp } from '../app';
import type { Database } from '../db/database';
import { defaultScrapingSettings, type LimitSettings, type ScrapingSettings } from '../scraping-settings';

export const testOperatorToken = 'operator-token-for-tests-only-0123456789';

/**
 * Limits for tests: suites register many devices from 127.0.0.1 and lease in loops, and a loaded CI
 * machine must not shed their requests; tests of the limits themselves set low ones.
 */
export const testLimitSettings: LimitSettings = {
  ...defaultScrapingSettings.limits,
  leasesPerDevice: 1000,
  taskLeasesPerDevice: 1000,
  registrationsPerMinutePerIp: 100_000,
  deviceRequestsPerMinute: 100_000,
  maxEventLoopDelayMs: 0,
  maxEventLoopUtilization: 0,
  maxRequestsInFlight: 0,
};

/** Scraping settings for tests: no politeness wait and no random sampling unless a test asks for them. */
export const testScrapingSettings: ScrapingSettings = {
  ...defaultScrapingSettings,
  leaseSweepIntervalMs: 0,
  politenessMs: 0,
  canaryRate: 0,
  limits: testLimitSettings,
};

/** Settings a test overrides; limits merge into the test limits one by one. */
export type TestSettings = Partial<Omit<ScrapingSettings, 'limits'>> & { limits?: Partial<LimitSettings> };

/** The server every test request is signed for: its public origin and chain. */
export const testSigningServer: SigningServer = { origin: 'http://gleaner.test', chainId: defaultChainId };

export function buildTestApp(
  db: Database,
  scraping: TestSettings = {},
  options: Partial<BuildAppOptions> = {},
): Promise<FastifyInstance> {
  return buildApp({
    db,
    operatorToken: testOperatorToken,
    version: '0.0.0-test',
    scraping: {
      ...testScrapingSettings,
      ...scraping,
      limits: { ...testScrapingSettings.limits, ...scraping.limits },
    },
    server: { origins: [testSigningServer.origin], chainId: testSigningServer.chainId },
    robotsIntervalMs: 0,
    verificationIntervalMs: 0,
    logger: process.env.GLEANER_TEST_LOG ? { level: 'error' } : false,
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
  /** The client address the request comes from (per-IP limits); 127.0.0.1 unless given. */
  remoteAddress?: string;
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
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
}
