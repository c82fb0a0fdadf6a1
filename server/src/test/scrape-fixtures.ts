import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LeasedJob } from '@protocol/jobs';
import { pointsSummarySchema } from '@protocol/points';
import { type FailedFetch, type FetchedPage, normalizeText } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { signedInject, testOperatorToken } from './app';

/** A tiny real HTTP site for robots.txt; `hits` records every path the server asked for. */
export async function startRobotsSite(
  robotsTxt: string,
): Promise<{ origin: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '');
    if (request.url === '/robots.txt') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(robotsTxt);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function createBuyerKey(app: FastifyInstance, name = 'Test Buyer'): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/admin/buyers',
    headers: { authorization: `Bearer ${testOperatorToken}` },
    payload: { name },
  });
  return (response.json() as { apiKey: string }).apiKey;
}

export async function registerDevice(app: FastifyInstance): Promise<LocalAccount> {
  const account = privateKeyToAccount(generatePrivateKey());
  const response = await signedInject(app, account, {
    method: 'POST',
    url: '/v1/devices',
    body: { extensionVersion: '0.1.0', browser: 'chrome' },
  });
  if (response.statusCode !== 201) throw new Error(`registration failed: ${response.body}`);
  return account;
}

export async function lease(app: FastifyInstance, device: LocalAccount, max = 5) {
  const response = await signedInject(app, device, { method: 'POST', url: '/v1/jobs/lease', body: { max } });
  if (response.statusCode !== 200) throw new Error(`lease failed: ${response.body}`);
  return response.json() as { jobs: LeasedJob[]; retryAfterSeconds: number };
}

export function pageFor(job: LeasedJob, text: string, links: string[] = []): FetchedPage {
  return {
    outcome: 'fetched',
    assignmentId: job.assignmentId,
    jobId: job.jobId,
    url: job.url,
    finalUrl: job.url,
    fetchedAt: new Date().toISOString(),
    bytesFetched: text.length + 200,
    httpStatus: 200,
    contentType: 'text/html; charset=utf-8',
    title: `Title of ${job.url}`,
    text,
    lang: 'en',
    canonicalUrl: null,
    links,
    textSha256: sha256OfText(text),
  };
}

/** A failed fetch of a leased job, as the extension reports it: what went wrong, and when. */
export function failureFor(
  job: LeasedJob,
  how: Pick<FailedFetch, 'error' | 'detail' | 'httpStatus' | 'retryAfterSeconds'> & { bytesFetched?: number },
): FailedFetch {
  return {
    outcome: 'failed',
    assignmentId: job.assignmentId,
    jobId: job.jobId,
    url: job.url,
    fetchedAt: new Date().toISOString(),
    bytesFetched: 0,
    ...how,
  };
}

export const sha256OfText = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');

export async function upload(app: FastifyInstance, device: LocalAccount, results: unknown[], batchId = randomUUID()) {
  const response = await signedInject(app, device, { method: 'POST', url: '/v1/results', body: { batchId, results } });
  if (response.statusCode !== 200) throw new Error(`upload failed: ${response.body}`);
  return response.json() as { batchId: string; acks: Array<{ index: number; status: string; reason?: string }> };
}

export async function points(app: FastifyInstance, device: LocalAccount) {
  const response = await signedInject(app, device, { method: 'GET', url: '/v1/devices/me/points' });
  return pointsSummarySchema.parse(response.json());
}
