import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Dataset, datasetSchema } from '@protocol/datasets';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPostgresDatabase } from '../db/postgres-database';
import { freePort } from '../demo/server-process';
import { createTestSchema, describePostgres, postgresTestUrl } from '../test/databases';
import { seedCampaignPages } from './test-fixtures';

/**
 * A real crash: the server process is killed (SIGKILL) in the middle of a dataset build, then started again.
 * Until the build is redone nothing of the dataset is visible; then it is published whole, once.
 */

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const operatorToken = 'restart-test-operator-token-0123456789';

interface Server {
  url: string;
  child: ChildProcess;
  output: () => string;
}

async function startServer(databaseUrl: string, dataDir: string, port: number): Promise<Server> {
  let output = '';
  // The server itself, not tsx's command line: that runs the server in a child of its own, and a SIGKILL
  // of it would leave the real server running on (the "crash" would not happen).
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/server.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: 'server/tsconfig.json',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      GLEANER_DATA_DIR: dataDir,
      GLEANER_OPERATOR_TOKEN: operatorToken,
      GLEANER_WORK_LEASE_SECONDS: '5',
      GLEANER_WORK_POLL_MS: '200',
      GLEANER_DATASET_BATCH_ROWS: '10',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The server exited with ${child.exitCode}:\n${output}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The server did not answer /health within 90 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { url, child, output: () => output };
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

const stopped = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });

describePostgres('a dataset build survives its server being killed mid-way', () => {
  let schema: { schema: string; drop: () => Promise<void> };
  let db: Database;
  let dataDir: string;
  let databaseUrl: string;
  let server: Server | undefined;

  beforeAll(async () => {
    schema = await createTestSchema();
    db = await openPostgresDatabase(postgresTestUrl, { schema: schema.schema, maxConnections: 2 });
    await migrate(db);
    dataDir = await mkdtemp(join(tmpdir(), 'gleaner-restart-'));
    databaseUrl = `${postgresTestUrl}${postgresTestUrl.includes('?') ? '&' : '?'}search_path=${schema.schema}`;
  });
  afterAll(async () => {
    // Stopped, not killed: a killed server leaves its anvil behind for the next start to end, and none follows.
    if (server) await stopped(server.child);
    await db.close();
    await schema.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('shows nothing half-built after the kill, then resumes and publishes every row once', async () => {
    const port = await freePort();
    server = await startServer(databaseUrl, dataDir, port);
    const buyer = await fetch(`${server.url}/v1/admin/buyers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Restart Buyer' }),
    }).then((r) => r.json() as Promise<{ apiKey: string; buyer: { id: string } }>);
    const headers = { authorization: `Bearer ${buyer.apiKey}`, 'content-type': 'application/json' };
    const me = (await fetch(`${server.url}/v1/buyer`, { headers }).then((r) => r.json())) as { id: string };
    const pages = Array.from({ length: 1500 }, (_, i) => ({
      text: `${Array.from({ length: 400 }, (_, w) => `w${(i * 31 + w * 17) % 997}`).join(' ')} page ${i}`,
    }));
    const { campaignId } = await seedCampaignPages(db, me.id, pages);

    const created = await fetch(`${server.url}/v1/datasets`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl'] }),
    });
    expect(created.status).toBe(201);
    const { id } = datasetSchema.parse(await created.json());
    const read = async (): Promise<Dataset> =>
      datasetSchema.parse(await fetch(`${server?.url}/v1/datasets/${id}`, { headers }).then((r) => r.json()));

    // Kill the server once the build is writing rows.
    for (let dataset = await read(); ; dataset = await read()) {
      expect(dataset.state, server.output()).not.toBe('ready');
      if (dataset.progress.phase === 'writing' && dataset.progress.rowsDone > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await killed(server.child);

    // What a dead build leaves is invisible: the dataset lists no files and no final file exists.
    const [left] = await db.query<{ state: string; files: unknown }>(
      'select state, files from datasets where id = $1',
      [id],
    );
    expect(left?.state).toBe('building');
    expect(JSON.parse(JSON.stringify(left?.files))).toEqual([]);
    const finalFiles = await readdir(join(dataDir, 'datasets', 'datasets', id, 'data')).catch(() => []);
    expect(finalFiles.filter((name) => name.startsWith('train-'))).toEqual([]);

    server = await startServer(databaseUrl, dataDir, port);
    const urlsBefore = await fetch(`${server.url}/v1/datasets/${id}/urls`, { headers });
    expect([409, 200]).toContain(urlsBefore.status);
    let dataset = await read();
    const deadline = Date.now() + 120_000;
    while (dataset.state !== 'ready' && dataset.state !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      dataset = await read();
    }
    expect(dataset.state, `${dataset.error}\n${server.output()}`).toBe('ready');
    expect(dataset.stats?.rows).toBe(1500);

    // Every row is there exactly once, in the files the dataset lists, with their listed hashes.
    const rows: Array<Record<string, unknown>> = [];
    for (const file of dataset.files.filter((f) => f.kind === 'parquet')) {
      const response = await fetch(`${server.url}/v1/datasets/${id}/files/${file.path}`, { headers });
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
      rows.push(...(await parquetReadObjects({ file: bytes.buffer as ArrayBuffer, compressors })));
    }
    expect(rows).toHaveLength(1500);
    expect(new Set(rows.map((row) => row.url)).size).toBe(1500);
    // The staging area of the killed run is gone.
    const staging = await readdir(join(dataDir, 'datasets', 'datasets', id, 'staging'), {
      recursive: true,
      withFileTypes: true,
    }).catch(() => []);
    expect(staging.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
  }, 300_000);
});
