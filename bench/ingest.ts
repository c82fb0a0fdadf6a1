import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import postgres from 'postgres';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { LeasedJob, LeaseResponse } from '../protocol/jobs';
import { type FetchedPage, normalizeText, type ResultBatchAck } from '../protocol/results';
import { signRequest } from '../protocol/signing';
import { buildApp } from '../server/src/app';
import type { Database } from '../server/src/db/database';
import { migrate } from '../server/src/db/migrate';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { openPostgresDatabase } from '../server/src/db/postgres-database';
import { defaultScrapingSettings, type ScrapingSettings } from '../server/src/scraping-settings';
import { defaultAuditSettings } from '../server/src/verification/audit-rules';
import { benchLimits, benchServerIdentity, benchSigningServer, median } from './stats';
import { article } from './synthetic-site';

const postgresUrl = process.env.GLEANER_TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const operatorToken = 'bench-operator-token-0123456789';
const batchSize = 100;
const batchesPerRun = 10;
const postgresRuns = 5;
const pgliteRuns = 3;
/** The lease route hands out at most one job per origin per call, so the campaign spreads over this many. */
const originCount = 20;
const leaseMax = 20;

/**
 * Nothing is fetched in this benchmark: the origins are fake exact test origins the URL guard lets
 * through, with no politeness delay, no redundant copies and no canaries, so every upload is a plain page.
 */
const origins = Array.from({ length: originCount }, (_, i) => `http://127.0.0.1:${9001 + i}`);
const settings: ScrapingSettings = {
  ...defaultScrapingSettings,
  politenessMs: 0,
  canaryRate: 0,
  testOrigins: origins,
  limits: benchLimits,
  // The uploading device is measured as an established one: a tenth of its pages draw an audit.
  audits: { ...defaultAuditSettings, newDeviceRate: 0.1, lowTrustRate: 0.1 },
};

/** The columns the ingest service writes, in the order the COPY anchor sends them. */
const pageColumns = [
  'job_id',
  'assignment_id',
  'device',
  'campaign_id',
  'url',
  'final_url',
  'http_status',
  'content_type',
  'fetched_at',
  'bytes_fetched',
  'title',
  'text',
  'lang',
  'canonical_url',
  'text_sha256',
  'html',
] as const;

const sha256OfText = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');

/** One field of COPY's text format: backslash escapes for the four special bytes, `\N` for null. */
const copyField = (value: string | number | null) =>
  value === null
    ? '\\N'
    : String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');

interface Server {
  url: string;
  device: LocalAccount;
  campaignId: string;
  close: () => Promise<void>;
}

/** Starts the real server on `db`, registers a device and creates one campaign with every job of the bench. */
async function startServer(db: Database, jobCount: number, firstSeed: number): Promise<Server> {
  const app = await buildApp({
    db,
    operatorToken,
    version: 'bench',
    scraping: settings,
    robotsIntervalMs: 0,
    server: benchServerIdentity,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const buyer = await fetch(`${url}/v1/admin/buyers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench Buyer' }),
  });
  const { apiKey } = (await buyer.json()) as { apiKey: string };
  const device = privateKeyToAccount(generatePrivateKey());
  await signedPost(url, device, '/v1/devices', { extensionVersion: 'bench', browser: 'chrome' }, 201);
  const urls = Array.from(
    { length: jobCount },
    (_, i) => `${origins[i % originCount]}/articles/${firstSeed + i}?ref=bench`,
  );
  const created = await fetch(`${url}/v1/campaigns`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Ingest bench', urls }),
  });
  const campaign = (await created.json()) as { campaign: { id: string }; accepted: number };
  if (campaign.accepted !== jobCount) throw new Error(`campaign took ${campaign.accepted} of ${jobCount} URLs`);
  // Jobs are leasable only once their origin's robots.txt is known; nothing is fetched here, so mark it directly.
  await db.query(`update hosts set robots_status = 'allow_all', robots_fetched_at = now() where origin = any($1)`, [
    origins,
  ]);
  return { url, device, campaignId: campaign.campaign.id, close: () => app.close() };
}

async function signedPost(url: string, device: LocalAccount, path: string, body: unknown, expect = 200) {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const headers = await signRequest(device, { method: 'POST', path, body: bytes }, benchSigningServer);
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: bytes,
  });
  if (response.status !== expect) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json() as Promise<unknown>;
}

/** Leases `count` jobs the way a device does (signed POST /v1/jobs/lease), `leaseMax` at a time. */
async function leaseJobs(server: Server, count: number): Promise<LeasedJob[]> {
  const jobs: LeasedJob[] = [];
  while (jobs.length < count) {
    const max = Math.min(leaseMax, count - jobs.length);
    const leased = (await signedPost(server.url, server.device, '/v1/jobs/lease', { max })) as LeaseResponse;
    if (leased.jobs.length === 0) throw new Error(`no job to lease (retry after ${leased.retryAfterSeconds} s)`);
    jobs.push(...leased.jobs);
  }
  return jobs;
}

/** The page a device would upload for `job`: a synthetic article of about 8 KB, the same for the same seed. */
export function pageOf(job: LeasedJob, seed: number): FetchedPage {
  const content = article(seed);
  return {
    outcome: 'fetched',
    assignmentId: job.assignmentId,
    jobId: job.jobId,
    url: job.url,
    finalUrl: job.url,
    fetchedAt: new Date().toISOString(),
    bytesFetched: 40_000 + (seed % 20_000),
    httpStatus: 200,
    contentType: 'text/html; charset=utf-8',
    title: content.title,
    text: content.text,
    lang: 'en',
    canonicalUrl: null,
    links: [],
    textSha256: sha256OfText(content.text),
  };
}

interface SignedBatch {
  body: Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
}

/** What the extension sends: the batch as JSON, gzip-compressed, signed over the compressed bytes. */
async function signBatch(device: LocalAccount, pages: FetchedPage[]): Promise<SignedBatch> {
  const body = new Uint8Array(gzipSync(JSON.stringify({ batchId: randomUUID(), results: pages })));
  const signed = await signRequest(device, { method: 'POST', path: '/v1/results', body }, benchSigningServer);
  return {
    body,
    headers: { ...signed, 'content-type': 'application/json', 'content-encoding': 'gzip' },
  };
}

async function postBatch(server: Server, batch: SignedBatch): Promise<void> {
  const response = await fetch(`${server.url}/v1/results`, {
    method: 'POST',
    headers: batch.headers,
    body: batch.body,
  });
  if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  const ack = (await response.json()) as ResultBatchAck;
  const refused = ack.acks.find((entry) => entry.status !== 'accepted');
  if (refused) throw new Error(`a page was not accepted: ${JSON.stringify(refused)}`);
}

/** COPY text-format rows of exactly what the ingest service stores for these pages. */
function copyRows(server: Server, pages: FetchedPage[]): Buffer {
  const lines = pages.map((page) =>
    [
      page.jobId,
      page.assignmentId,
      server.device.address,
      server.campaignId,
      page.url,
      page.finalUrl,
      page.httpStatus,
      page.contentType,
      page.fetchedAt,
      page.bytesFetched,
      page.title,
      page.text,
      page.lang,
      page.canonicalUrl,
      page.textSha256,
      null,
    ]
      .map(copyField)
      .join('\t'),
  );
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

interface RunTimes {
  leaseMs: number[];
  prepareMs: number[];
  httpMs: number[];
  copyMs: number[];
  gzipBytes: number[];
  jsonBytes: number[];
}

/**
 * Per run: lease a run's jobs (timed apart), build and sign its batches (timed apart), then upload them
 * one after another over HTTP (timed) and, when `copy` is given, COPY the same rows into the anchor table (timed).
 */
async function measure(server: Server, runs: number, firstSeed: number, copy?: postgres.Sql): Promise<RunTimes> {
  const times: RunTimes = { leaseMs: [], prepareMs: [], httpMs: [], copyMs: [], gzipBytes: [], jsonBytes: [] };
  const perRun = batchSize * batchesPerRun;
  for (let run = 0; run < runs; run += 1) {
    let start = performance.now();
    const jobs = await leaseJobs(server, perRun);
    times.leaseMs.push(performance.now() - start);

    const batches: FetchedPage[][] = [];
    for (let b = 0; b < batchesPerRun; b += 1) {
      batches.push(
        jobs
          .slice(b * batchSize, (b + 1) * batchSize)
          .map((job, i) => pageOf(job, firstSeed + run * perRun + b * batchSize + i)),
      );
    }
    start = performance.now();
    const signed: SignedBatch[] = [];
    for (const pages of batches) signed.push(await signBatch(server.device, pages));
    times.prepareMs.push(performance.now() - start);
    times.gzipBytes.push(...signed.map((batch) => batch.body.length));
    times.jsonBytes.push(...batches.map((pages) => Buffer.byteLength(JSON.stringify(pages))));

    start = performance.now();
    for (const batch of signed) await postBatch(server, batch);
    times.httpMs.push(performance.now() - start);

    if (copy) {
      const rows = batches.map((pages) => copyRows(server, pages));
      start = performance.now();
      for (const chunk of rows) {
        await pipeline(
          Readable.from([chunk]),
          await copy`copy pages_copy (${copy(pageColumns)}) from stdin`.writable(),
        );
      }
      times.copyMs.push(performance.now() - start);
    }
  }
  return times;
}

const rate = (pages: number, ms: number[]) => (pages / median(ms)) * 1000;
const spread = (pages: number, ms: number[]) =>
  `(runs ${Math.round((pages / Math.max(...ms)) * 1000)}-${Math.round((pages / Math.min(...ms)) * 1000)})`;

/**
 * Ingest throughput of the real upload path (signed gzip batches over HTTP into the server) against
 * its anchor, a raw COPY of the same rows into an identical table of the same PostgreSQL, in one run;
 * then the same HTTP path on embedded PGlite.
 */
export async function benchIngest(): Promise<string> {
  const perRun = batchSize * batchesPerRun;
  const schema = `gleaner_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create schema ${schema}`);
  let postgresTimes: RunTimes;
  let toastCompression = '?';
  let serverVersion = '?';
  try {
    const db = await openPostgresDatabase(postgresUrl, { schema, maxConnections: 4 });
    // The anchor writes with the same TOAST compression the server's connections use, so only the path differs.
    const [serverSetting] = await db.query<{ toast: string }>(
      `select current_setting('default_toast_compression') as toast`,
    );
    const copy = postgres(postgresUrl, {
      max: 1,
      onnotice: () => {},
      connection: { search_path: schema, default_toast_compression: serverSetting?.toast ?? 'pglz' },
    });
    try {
      await migrate(db);
      // The anchor table: same columns, defaults, identity, indexes, unique keys and foreign keys as pages.
      await copy`create table pages_copy (like pages including all)`;
      const foreignKeys = await copy<{ definition: string }[]>`
        select pg_get_constraintdef(oid) as definition from pg_constraint
         where conrelid = 'pages'::regclass and contype = 'f'`;
      for (const key of foreignKeys) await copy.unsafe(`alter table pages_copy add ${key.definition}`);
      const [setting] = await copy<{ toast: string; version: string }[]>`
        select current_setting('default_toast_compression') as toast, current_setting('server_version') as version`;
      toastCompression = setting?.toast ?? toastCompression;
      serverVersion = setting?.version ?? serverVersion;

      const server = await startServer(db, postgresRuns * perRun, 0);
      try {
        postgresTimes = await measure(server, postgresRuns, 0, copy);
      } finally {
        await server.close();
      }
      const [stored] = await copy<{ pages: number; copied: number; same: boolean }[]>`
        select (select count(*)::int from pages) as pages, (select count(*)::int from pages_copy) as copied,
               (select sum(octet_length(text)) from pages) = (select sum(octet_length(text)) from pages_copy) as same`;
      if (stored?.pages !== postgresRuns * perRun || stored.copied !== stored.pages || !stored.same) {
        throw new Error(`HTTP ingest and COPY stored different rows: ${JSON.stringify(stored)}`);
      }
    } finally {
      await copy.end({ timeout: 5 });
      await db.close();
    }
  } finally {
    await admin.unsafe(`drop schema ${schema} cascade`);
    await admin.end({ timeout: 5 });
  }

  const pglite = await openPgliteDatabase();
  let pgliteTimes: RunTimes;
  try {
    await migrate(pglite);
    const server = await startServer(pglite, pgliteRuns * perRun, 1_000_000);
    try {
      pgliteTimes = await measure(server, pgliteRuns, 1_000_000);
    } finally {
      await server.close();
    }
  } finally {
    await pglite.close();
  }

  const httpRate = rate(perRun, postgresTimes.httpMs);
  const copyRate = rate(perRun, postgresTimes.copyMs);
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const gzipKb = sum(postgresTimes.gzipBytes) / postgresTimes.gzipBytes.length / 1024;
  const jsonKb = sum(postgresTimes.jsonBytes) / postgresTimes.jsonBytes.length / 1024;
  const pageKb = jsonKb / batchSize;
  const line = (label: string, value: string) => `    ${label.padEnd(58)} ${value}`;
  const lines = [
    `ingest (${batchesPerRun} sequential batches of ${batchSize} pages per run, ~${pageKb.toFixed(1)} KB JSON per page, a tenth drawing an audit; medians)`,
    `  PostgreSQL ${serverVersion}, fresh schema, default_toast_compression=${toastCompression}, ${postgresRuns} runs, each: HTTP ingest, then COPY of the same rows`,
    line(
      'COPY pages_copy FROM STDIN, one COPY per batch (anchor)',
      `${copyRate.toFixed(0)} pages/s ${spread(perRun, postgresTimes.copyMs)}`,
    ),
    line(
      'signed gzip POST /v1/results over HTTP',
      `${httpRate.toFixed(0)} pages/s ${spread(perRun, postgresTimes.httpMs)}`,
    ),
    line('HTTP ingest / COPY', `${(httpRate / copyRate).toFixed(2)}x`),
    line(
      `leasing before (signed /v1/jobs/lease, max ${leaseMax}; untimed above)`,
      `${rate(perRun, postgresTimes.leaseMs).toFixed(0)} jobs/s`,
    ),
    `  PGlite in memory (openPgliteDatabase() without a data dir), ${pgliteRuns} runs`,
    line(
      'signed gzip POST /v1/results over HTTP',
      `${rate(perRun, pgliteTimes.httpMs).toFixed(0)} pages/s ${spread(perRun, pgliteTimes.httpMs)}`,
    ),
    line('leasing beforehand (untimed above)', `${rate(perRun, pgliteTimes.leaseMs).toFixed(0)} jobs/s`),
    `  client side, untimed above: JSON + gzip + sign ${rate(perRun, postgresTimes.prepareMs).toFixed(0)} pages/s; a batch is ${jsonKb.toFixed(0)} KB JSON, ${gzipKb.toFixed(0)} KB gzip`,
    '  one Node process runs the server and the uploading client; PostgreSQL runs as its own process on the same machine',
  ];
  return lines.join('\n');
}
