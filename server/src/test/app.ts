import type { SignatureHeaders } from '@protocol/signing';
import { signRequest } from '@protocol/signing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { LocalAccount } from 'viem';
import { buildApp } from '../app';
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

export function buildTestApp(db: Database, scraping: Partial<ScrapingSettings> = {}): Promise<FastifyInstance> {
  return buildApp({
    db,
    operatorToken: testOperatorToken,
    version: '0.0.0-test',
    scraping: { ...testScrapingSettings, ...scraping },
    robotsIntervalMs: 0,
  });
}

export interface SignedInjectOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  /** Lets a test alter what is sent after signing (tampering, replays). */
  headers?: (signed: SignatureHeaders) => Record<string, string>;
  now?: Date;
}

/** Sends a request signed by `account` exactly as the extension does. */
export async function signedInject(
  app: FastifyInstance,
  account: LocalAccount,
  options: SignedInjectOptions,
): Promise<LightMyRequestResponse> {
  const bytes = options.body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(options.body));
  const signed = await signRequest(account, { method: options.method, path: options.url, body: bytes }, options.now);
  const headers = options.headers ? options.headers(signed) : signed;
  return app.inject({
    method: options.method,
    url: options.url,
    headers: options.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    payload: options.body === undefined ? undefined : Buffer.from(bytes),
  });
}
