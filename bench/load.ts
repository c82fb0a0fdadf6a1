import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaultChainId } from '../protocol/signing';
import { startDynamicSites } from '../server/src/verification/simulated-network';
import { checkLoadCorrectness, type LoadCorrectness, type StorageFigures, storageFigures } from './load-check';
import {
  type Acknowledged,
  jobsPerDeviceMinute,
  LoadDevice,
  type LoadServer,
  loadAuthFromEnv,
  tasksPerDeviceMinute,
} from './load-device';
import { cpuSeconds, LoadRecorder, percentile, postgresCpuSeconds, rssBytes } from './load-metrics';
import { type LoadServers, startLoadServers } from './load-servers';
import { numberFromEnv } from './stats';

/** A step passes when every device endpoint answers with p99 under this and nothing fails. */
const p99LimitMs = 500;
/** The lease route hands out at most one job per origin per call, so the campaign spreads over this many. */
const originCount = 20;
const healthEveryMs = 100;
const registerConcurrency = 16;
/** Campaign URLs and label items are added with this much headroom over what a step can take. */
const headroom = 1.5;
const maxPerRequest = 10_000;

interface Step {
  devices: number;
  seconds: number;
  requestsPerSecond: number;
  endpoints: Array<{ endpoint: string; count: number; p50: number; p99: number }>;
  healthP99: number;
  serverCpu: number;
  serverRssMb: number;
  postgresCpu: number | null;
  clientCpu: number;
  /** p99 of the load generator's own event-loop delay: what its latencies may carry of its own queueing. */
  clientLagP99: number;
  errors: string[];
  /** Requests shed (503 overloaded; not in `endpoints`, which are the admitted ones), and their share of all sent. */
  shed: number;
  shedShare: number;
  /** How quickly the shed requests were turned away. */
  shedP99: number;
  /** The slowest answered request of the step (shed ones included: they must be quick too). */
  maxMs: number;
  healthMaxMs: number;
  passed: boolean;
}

function settings() {
  const steps = (process.env.GLEANER_BENCH_LOAD_STEPS ?? '10,20,40,60,80,120,160,240,320')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  if (steps.length === 0) throw new Error('GLEANER_BENCH_LOAD_STEPS must list device counts, e.g. 10,20,40');
  return {
    steps,
    stepSeconds: numberFromEnv('GLEANER_BENCH_LOAD_STEP_SECONDS', 30),
    compression: numberFromEnv('GLEANER_BENCH_LOAD_COMPRESSION', 10),
    processes: Math.floor(numberFromEnv('GLEANER_BENCH_LOAD_PROCESSES', 1)),
    databaseUrl: process.env.DATABASE_URL || undefined,
    overload: (process.env.GLEANER_BENCH_LOAD_OVERLOAD ?? '1.5,2')
      .split(',')
      .map(Number)
      .filter((factor) => Number.isFinite(factor) && factor > 1),
  };
}

async function asBuyer(url: string, key: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Asks /health of every server in turn until `stop` resolves; samples server memory on the way. */
async function watchServers(
  load: LoadServers,
  recorder: LoadRecorder,
  stop: Promise<unknown>,
  rssPeak: { bytes: number },
): Promise<void> {
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  for (let i = 0; !done; i += 1) {
    const server = load.servers[i % load.servers.length];
    if (!server) return;
    const started = performance.now();
    try {
      const response = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(30_000) });
      await response.arrayBuffer();
      recorder.latency('/health', performance.now() - started);
      if (!response.ok) recorder.error('/health', String(response.status));
    } catch {
      recorder.error('/health', 'network');
    }
    if (i % 10 === 0) {
      const rss = await Promise.all(load.servers.map((s) => rssBytes(s.pid)));
      rssPeak.bytes = Math.max(
        rssPeak.bytes,
        rss.reduce((a, b) => a + b, 0),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, healthEveryMs));
  }
}

async function runStep(load: LoadServers, devices: LoadDevice[], seconds: number, compression: number): Promise<Step> {
  const recorder = new LoadRecorder();
  const health = new LoadRecorder();
  const cpuBefore = await Promise.all(load.servers.map((s) => cpuSeconds(s.pid)));
  const postgresBefore = load.kind === 'postgres' ? await postgresCpuSeconds() : 0;
  const clientBefore = process.cpuUsage();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const rssPeak = { bytes: 0 };
  const started = performance.now();
  const working = Promise.all(devices.map((device) => device.run(recorder, started + seconds * 1000, compression)));
  await Promise.all([working, watchServers(load, health, working, rssPeak)]);
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await Promise.all(load.servers.map((s) => cpuSeconds(s.pid)));
  const client = process.cpuUsage(clientBefore);
  lag.disable();
  const endpoints = [...recorder.latencies.entries()].map(([endpoint, values]) => ({
    endpoint,
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
  }));
  const errors = [
    ...[...recorder.errors.entries(), ...health.errors.entries()].map(([key, n]) => `${key}: ${n}`),
    ...[...recorder.verdicts.entries()].map(([key, n]) => `record ${key}: ${n}`),
  ];
  const requests = endpoints.reduce((sum, e) => sum + e.count, 0);
  const shed = recorder.shedCount();
  const all = [...[...recorder.latencies.values()].flat(), ...recorder.shedLatencies];
  const healthAll = health.latencies.get('/health') ?? [];
  return {
    devices: devices.length,
    seconds: elapsed,
    requestsPerSecond: requests / elapsed,
    endpoints,
    healthP99: percentile(health.latencies.get('/health') ?? [], 99),
    serverCpu: cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0) / elapsed,
    serverRssMb: rssPeak.bytes / 2 ** 20,
    postgresCpu: load.kind === 'postgres' ? ((await postgresCpuSeconds()) - postgresBefore) / elapsed : null,
    clientCpu: (client.user + client.system) / 1e6 / elapsed,
    clientLagP99: lag.percentile(99) / 1e6,
    errors,
    shed,
    shedShare: shed / Math.max(1, requests + shed),
    shedP99: percentile(recorder.shedLatencies, 99),
    maxMs: all.reduce((a, b) => Math.max(a, b), 0),
    healthMaxMs: healthAll.reduce((a, b) => Math.max(a, b), 0),
    // Capacity means every request served in time: a shed request is a step past capacity.
    passed: recorder.errorCount() + health.errorCount() + shed === 0 && endpoints.every((e) => e.p99 < p99LimitMs),
  };
}

const ms = (value: number) => `${value.toFixed(0)}`;
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

function stepLine(step: Step, compression: number): string {
  const endpoints = [...step.endpoints]
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint))
    .filter((e) => e.endpoint !== 'register')
    .map((e) => `${e.endpoint.replace(/^POST /, '')} ${ms(e.p50)}/${ms(e.p99)}`)
    .join(', ');
  const parts = [
    `  N=${String(step.devices).padStart(4)} (≈${step.devices * compression} extension devices) ${step.passed ? 'pass' : 'FAIL'}:`,
    `${step.requestsPerSecond.toFixed(0)} req/s, p50/p99 ms ${endpoints}, /health p99 ${ms(step.healthP99)};`,
    `server CPU ${pct(step.serverCpu)}, RSS ${step.serverRssMb.toFixed(0)} MB,`,
    step.postgresCpu === null ? '' : `PostgreSQL CPU ${pct(step.postgresCpu)},`,
    `load generator CPU ${pct(step.clientCpu)} (event-loop delay p99 ${ms(step.clientLagP99)} ms)`,
    step.shed > 0 ? `; shed ${step.shed}` : '',
  ];
  const line = parts.filter(Boolean).join(' ');
  return step.errors.length > 0 ? `${line}\n      errors: ${step.errors.join('; ')}` : line;
}

/** Generator lag above this means its own queueing is in the latencies it measured. */
const clientLagWarningMs = 50;

/** What made a step fail, in words: the endpoints over the limit, the errors, and whether the generator kept up. */
function limitOf(step: Step): string {
  const slow = step.endpoints.filter((e) => e.p99 >= p99LimitMs).map((e) => `${e.endpoint} p99 ${ms(e.p99)} ms`);
  const reasons = [
    ...slow,
    ...(step.shed > 0 ? [`${step.shed} requests shed (503 overloaded)`] : []),
    ...(step.errors.length > 0 ? [`errors (${step.errors.join('; ')})`] : []),
  ];
  if (step.clientLagP99 > clientLagWarningMs) {
    reasons.push(
      `and the load generator lagged (event-loop p99 ${ms(step.clientLagP99)} ms): part of it may be the client`,
    );
  }
  return reasons.join(', ');
}

function correctnessLines(check: LoadCorrectness): string[] {
  const ok = (bad: number) => (bad === 0 ? 'ok' : `VIOLATED (${bad})`);
  return [
    `  jobs leased beyond their copies: ${ok(check.overLeasedJobs)}`,
    `  jobs credited beyond their copies: ${ok(check.overCreditedJobs)}; duplicate ledger references: ${ok(check.duplicateReferences)}`,
    `  acknowledged pages stored: ${check.pagesAcknowledged - check.pagesMissing}/${check.pagesAcknowledged}, labels: ${check.labelsAcknowledged - check.labelsMissing}/${check.labelsAcknowledged}`,
  ];
}

export interface LoadOptions {
  steps: readonly number[];
  stepSeconds: number;
  compression: number;
  processes: number;
  databaseUrl: string | undefined;
  /** After the ramp: steps at these multiples of the largest N that passed, where shedding is expected. */
  overload: readonly number[];
  /** Campaign URLs and label items added per step, over what the step's devices ask for. */
  headroom?: number;
  log?: (line: string) => void;
}

export interface LoadRun {
  kind: 'pglite' | 'postgres';
  steps: Step[];
  overloadSteps: Array<Step & { factor: number }>;
  check: LoadCorrectness;
  storage: StorageFigures[];
  /** What the servers logged at error level or above (a 500 is a bug, and says why here). */
  serverErrors: string[];
}

/** Whether the database broke an invariant: a bug, whatever the timings. */
export function violations(check: LoadCorrectness): number {
  return (
    check.overLeasedJobs + check.overCreditedJobs + check.duplicateReferences + check.pagesMissing + check.labelsMissing
  );
}

/**
 * Capacity of the real server under simulated extensions: N devices, each with its own key and authenticating
 * as the extension does (`LoadAuth`), register, lease 5 jobs every 30 s, upload their pages (8 KB of
 * text each, gzipped) with the labels of the tasks they leased every 60 s, and lease 2 labeling tasks; the
 * clock is sped up by a compression factor, so N simulated devices send what N × factor extensions would.
 * N grows step by step (each step a fixed time) until a step misses p99 < 500 ms, sheds a request or has
 * any error. Then, past that capacity, overload steps show what shedding does (admitted p99, share shed,
 * /health). Last the database is checked: no job leased or credited beyond its copies, every acknowledged
 * record stored.
 *
 * Nothing is fetched: the server does not fetch pages to ingest them, only robots.txt of each origin.
 * Canaries are off (their known text would be a real fetch's); audit copies stay on and pass, since a
 * page's text follows from its URL.
 */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const log = options.log ?? (() => {});
  const headroomFactor = options.headroom ?? headroom;
  const sites = await startDynamicSites(originCount);
  const load = await startLoadServers(options.processes, options.databaseUrl, {
    GLEANER_TEST_ORIGINS: sites.origins.join(','),
    GLEANER_POLITENESS_MS: '0',
    GLEANER_CANARY_RATE: '0',
    GLEANER_CHAIN: 'off',
    GLEANER_REGISTRATIONS_PER_MINUTE_PER_IP: '0',
    // The per-device rate limit is a rate: a device whose clock runs `compression` times faster may ask as often.
    GLEANER_DEVICE_REQUESTS_PER_MINUTE: String(Math.min(1_000_000, Math.ceil(120 * options.compression))),
  });
  const acknowledged: Acknowledged = { pages: [], labels: [] };
  const steps: Step[] = [];
  const overloadSteps: LoadRun['overloadSteps'] = [];
  let check: LoadCorrectness | undefined;
  let storage: StorageFigures[] = [];
  let serverErrors: string[] = [];
  try {
    const first = load.servers[0];
    if (!first) throw new Error('no server started');
    const buyer = (await asBuyer(first.url, first.operatorToken, '/v1/admin/buyers', { name: 'Load bench' })) as {
      apiKey: string;
    };
    let urls = 0;
    let campaignId: string | undefined;
    const addUrls = async (wanted: number) => {
      while (urls < wanted) {
        const count = Math.min(maxPerRequest, wanted - urls);
        const batch = Array.from(
          { length: count },
          (_, i) => `${sites.origins[(urls + i) % originCount]}/story/${urls + i}`,
        );
        if (campaignId === undefined) {
          const created = (await asBuyer(first.url, buyer.apiKey, '/v1/campaigns', {
            name: 'load bench',
            urls: batch,
          })) as {
            campaign: { id: string };
          };
          campaignId = created.campaign.id;
        } else {
          await asBuyer(first.url, buyer.apiKey, `/v1/campaigns/${campaignId}/urls`, { urls: batch });
        }
        urls += count;
      }
    };
    let items = 0;
    const project = (await asBuyer(first.url, buyer.apiKey, '/v1/projects', {
      name: 'load bench labels',
      instructions: 'Is this sentence about the weather?',
      labelSchema: { type: 'single_choice', choices: ['yes', 'no'] },
      overlap: 1,
      goldRate: 0,
    })) as { project: { id: string } };
    const addItems = async (wanted: number) => {
      while (items < wanted) {
        const count = Math.min(maxPerRequest, wanted - items);
        const batch = Array.from({ length: count }, (_, i) => ({
          id: `item-${items + i}`,
          content: { type: 'text', text: `Sentence ${items + i}: it may rain later today.` },
        }));
        await asBuyer(first.url, buyer.apiKey, `/v1/projects/${project.project.id}/items`, { items: batch });
        items += count;
      }
    };

    // Each device signs for the server it talks to, as an extension signs for its configured server.
    const targets = load.servers.map((server) => ({
      url: server.url,
      signing: { origin: server.url, chainId: defaultChainId },
    }));
    const devices: LoadDevice[] = [];
    const setup = new LoadRecorder();
    // Virtual minutes a step spans: what each device asks for in it sizes the campaign and the project.
    const stepMinutes = (options.stepSeconds * options.compression) / 60;
    let jobsWanted = 0;
    let tasksWanted = 0;
    const prepare = async (n: number) => {
      jobsWanted += Math.ceil(n * jobsPerDeviceMinute * stepMinutes * headroomFactor);
      tasksWanted += Math.ceil(n * tasksPerDeviceMinute * stepMinutes * headroomFactor);
      await addUrls(jobsWanted);
      await addItems(tasksWanted);
      while (devices.length < n) {
        const fresh = Array.from(
          { length: Math.min(registerConcurrency, n - devices.length) },
          (_, i) => new LoadDevice(targets[(devices.length + i) % targets.length] as LoadServer, acknowledged),
        );
        await Promise.all(fresh.map((device) => device.register(setup)));
        devices.push(...fresh);
      }
      if (steps.length === 0) await devices[0]?.leaseUntilWork(setup, 60_000);
    };
    log(
      `load: ${load.kind}, ${options.processes} process(es), time ×${options.compression}, ${options.stepSeconds} s per step, steps ${options.steps.join(',')}`,
    );
    for (const n of options.steps) {
      await prepare(n);
      const step = await runStep(load, devices, options.stepSeconds, options.compression);
      steps.push(step);
      log(stepLine(step, options.compression));
      if (!step.passed) break;
    }
    const capacity = steps.filter((step) => step.passed).at(-1)?.devices ?? 0;
    for (const factor of capacity > 0 ? options.overload : []) {
      const n = Math.round(capacity * factor);
      // A fresh start for the step: the devices added now join a server that has just recovered.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await prepare(n);
      const step = { ...(await runStep(load, devices.slice(0, n), options.stepSeconds, options.compression)), factor };
      overloadSteps.push(step);
      log(overloadLine(step, options.compression));
    }
    serverErrors = load.servers.flatMap((server) =>
      server
        .output()
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line)),
    );
    const db = await load.stopAndOpenDatabase();
    try {
      check = await checkLoadCorrectness(db, acknowledged);
      storage = await storageFigures(db);
    } finally {
      await db.close();
    }
  } finally {
    await load.dispose();
    await sites.close();
  }
  return { kind: load.kind, steps, overloadSteps, check, storage, serverErrors };
}

/** Admitted requests must stay under this past capacity, and /health well under it. */
const overloadP99LimitMs = 1000;

function overloadLine(step: Step & { factor: number }, compression: number): string {
  const worst = step.endpoints.reduce((max, e) => Math.max(max, e.p99), 0);
  const held = worst < overloadP99LimitMs && step.errors.length === 0;
  return [
    `  ×${step.factor} capacity, N=${step.devices} (≈${step.devices * compression} extension devices) ${held ? 'held' : 'DID NOT HOLD'}:`,
    `shed ${step.shed} (${pct(step.shedShare)}, turned away in p99 ${ms(step.shedP99)} ms),`,
    `admitted ${step.requestsPerSecond.toFixed(0)} req/s with p99 ${ms(worst)} ms (limit ${overloadP99LimitMs}), slowest answer ${ms(step.maxMs)} ms,`,
    `/health p99 ${ms(step.healthP99)} ms (max ${ms(step.healthMaxMs)});`,
    `server CPU ${pct(step.serverCpu)}${step.postgresCpu === null ? '' : `, PostgreSQL CPU ${pct(step.postgresCpu)}`}`,
    step.errors.length > 0 ? `\n      errors: ${step.errors.join('; ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

export async function benchLoad(): Promise<string> {
  const config = settings();
  const run = await runLoad({ ...config, log: (line) => process.stderr.write(`${line}\n`) });
  const { steps, check } = run;
  // A broken invariant is a bug, not a figure: the run fails, whatever its timings.
  if (violations(check) > 0) process.exitCode = 1;
  const passed = steps.filter((step) => step.passed);
  const best = passed[passed.length - 1];
  const failed = steps.find((step) => !step.passed);
  const compressionNote = `time ×${config.compression}: N simulated devices send what N × ${config.compression} extensions would`;
  return [
    `Load: simulated extensions against ${config.processes} server process(es) on ${run.kind}, ${compressionNote}; ${config.stepSeconds} s per step; devices authenticate by ${loadAuthFromEnv()} (GLEANER_BENCH_LOAD_AUTH)`,
    ...steps.map((step) => stepLine(step, config.compression)),
    best
      ? `  largest N with every endpoint p99 < ${p99LimitMs} ms, nothing shed and 0 errors: ${best.devices} (≈${best.devices * config.compression} extension devices)`
      : `  no step passed (p99 < ${p99LimitMs} ms, nothing shed, 0 errors)`,
    failed
      ? `  limited at N=${failed.devices} by: ${limitOf(failed)}`
      : `  every step passed: raise GLEANER_BENCH_LOAD_STEPS to find the limit`,
    ...(run.overloadSteps.length > 0
      ? [`past capacity (GLEANER_BENCH_LOAD_OVERLOAD): devices keep each Retry-After`]
      : []),
    ...run.overloadSteps.map((step) => overloadLine(step, config.compression)),
    ...correctnessLines(check),
    ...(run.serverErrors.length > 0
      ? [`  the servers logged ${run.serverErrors.length} errors; the first:`, ...run.serverErrors.slice(0, 3)]
      : []),
    `  stored per row (heap, TOAST, indexes): ${run.storage.map((f) => `${f.table} ${(f.bytesPerRow / 1024).toFixed(1)} KB (${f.rows})`).join(', ')}`,
  ]
    .filter(Boolean)
    .join('\n');
}
