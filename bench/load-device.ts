import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { generatePrivateKey } from 'viem/accounts';
import type { LeasedJob, LeaseResponse } from '../protocol/jobs';
import type { LabelResult, LeasedTask } from '../protocol/labeling';
import type { ResultBatchAck } from '../protocol/results';
import { type SigningServer, signRequest } from '../protocol/signing';
import { libsecp256k1Signer } from '../server/src/plugins/request-signature';
import { pageOf } from './ingest';
import type { LoadRecorder } from './load-metrics';

/** The extension's pace: it leases 5 jobs every 30 s and uploads what it fetched (≈ 10 pages) every 60 s. */
const leaseSize = 5;
const leaseEveryMs = 30_000;
const uploadEveryMs = 60_000;
/** Labeling tasks leased per upload cycle, answered in the next upload batch. */
const taskLeaseSize = 2;
/** No request may hang the bench: one that takes this long counts as a `timeout` error. */
const requestTimeoutMs = 30_000;

export interface LoadServer {
  url: string;
  signing: SigningServer;
}

/** What the server acknowledged as accepted, to be found in the database afterwards. */
export interface Acknowledged {
  pages: string[];
  labels: string[];
}

/**
 * The page text follows from the URL (`/story/<n>` is article n), so an audit copy of a page, leased to another
 * device, uploads the same text and passes, as two honest fetches of a static page would.
 */
const seedOf = (url: string) => Number(/(\d+)$/.exec(url)?.[1] ?? 0);

/** One simulated extension: its own key, signing every request exactly as the extension does. */
export class LoadDevice {
  /** Signs the extension's bytes on libsecp256k1 (~0.2 ms, viem ~1.4 ms): the generator shares the server's CPU. */
  private readonly account = libsecp256k1Signer(generatePrivateKey());
  private jobs: LeasedJob[] = [];
  private tasks: LeasedTask[] = [];
  /** Until when (performance.now()) the server asked this device to wait (a shed request's Retry-After). */
  private resumeAt = 0;
  /** How much faster than real time this device's clock runs (set by `run`). */
  private compression = 1;

  constructor(
    private readonly server: LoadServer,
    private readonly acknowledged: Acknowledged,
  ) {}

  /** Sends one signed request; answers its JSON when it succeeded, undefined (recorded as an error) otherwise. */
  private async send<T>(
    recorder: LoadRecorder,
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    gzip = false,
  ): Promise<T | undefined> {
    const json = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    const bytes = gzip ? new Uint8Array(gzipSync(json)) : json;
    const signed = await signRequest(this.account, { method, path, body: bytes }, this.server.signing);
    const headers: Record<string, string> = { ...signed };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (gzip) headers['content-encoding'] = 'gzip';
    // Timed from the send: the client's signing is its own cost, not the server's latency.
    const started = performance.now();
    try {
      const response = await fetch(`${this.server.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : bytes,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      const text = await response.text();
      const ms = performance.now() - started;
      if (!response.ok) {
        const code = (() => {
          try {
            return (JSON.parse(text) as { code?: string }).code ?? '';
          } catch {
            return '';
          }
        })();
        if (response.status === 503 && code === 'overloaded') {
          // Shed: the device keeps the server's Retry-After, as the extension does, on its own faster clock.
          recorder.shedOne(endpoint, ms);
          const seconds = Number(response.headers.get('retry-after') ?? 5);
          this.resumeAt = performance.now() + (seconds * 1000) / this.compression;
          return undefined;
        }
        recorder.latency(endpoint, ms);
        recorder.error(endpoint, `${response.status}${code ? ` ${code}` : ''}`);
        return undefined;
      }
      recorder.latency(endpoint, ms);
      return JSON.parse(text) as T;
    } catch (error) {
      recorder.latency(endpoint, performance.now() - started);
      recorder.error(endpoint, error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'network');
      return undefined;
    }
  }

  /** Registers the device (not timed in a step: a device does it once in its life). */
  async register(recorder: LoadRecorder): Promise<void> {
    const reply = await this.send(recorder, 'register', 'POST', '/v1/devices', {
      extensionVersion: 'load-bench',
      browser: 'other',
    });
    if (!reply) throw new Error(`a load device could not register: ${[...recorder.errors.keys()].join(', ')}`);
  }

  /** Leases until the campaign hands out work (its hosts' robots.txt is fetched in the background first). */
  async leaseUntilWork(recorder: LoadRecorder, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.jobs.length === 0) {
      if (performance.now() > deadline) throw new Error(`no job was leasable within ${timeoutMs / 1000} s`);
      await this.lease(recorder);
      if (this.jobs.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async lease(recorder: LoadRecorder): Promise<void> {
    const reply = await this.send<LeaseResponse>(recorder, 'POST /v1/jobs/lease', 'POST', '/v1/jobs/lease', {
      max: leaseSize,
    });
    if (reply) this.jobs.push(...reply.jobs);
  }

  /** Uploads the pages of every job leased so far and the labels of the tasks leased last cycle, then leases tasks. */
  private async uploadAndLabel(recorder: LoadRecorder): Promise<void> {
    const jobs = this.jobs;
    const tasks = this.tasks;
    this.jobs = [];
    this.tasks = [];
    const labels: LabelResult[] = tasks.map((task) => ({
      kind: 'label',
      assignmentId: task.assignmentId,
      labeledAt: new Date().toISOString(),
      answer: { type: 'single_choice', choice: 'yes' },
    }));
    const results = [...jobs.map((job) => pageOf(job, seedOf(job.url))), ...labels];
    if (results.length > 0) {
      const ack = await this.send<ResultBatchAck>(
        recorder,
        'POST /v1/results',
        'POST',
        '/v1/results',
        { batchId: randomUUID(), results },
        true,
      );
      if (!ack) {
        // Not acknowledged (shed, or failed): the extension keeps its results queued and tries again later.
        this.jobs = [...jobs, ...this.jobs];
        this.tasks = tasks;
        return;
      }
      for (const entry of ack.acks) {
        const isLabel = entry.index >= jobs.length;
        if (entry.status === 'accepted' && entry.assignmentId !== null) {
          (isLabel ? this.acknowledged.labels : this.acknowledged.pages).push(entry.assignmentId);
        } else {
          recorder.verdict(`${isLabel ? 'label' : 'page'} ${entry.status} ${entry.code ?? ''}`.trim());
        }
      }
    }
    const leased = await this.send<{ tasks: LeasedTask[] }>(
      recorder,
      'POST /v1/tasks/lease',
      'POST',
      '/v1/tasks/lease',
      {
        max: taskLeaseSize,
      },
    );
    if (leased) this.tasks = leased.tasks;
  }

  /**
   * Works like the extension until `until` (a performance.now() time), its clock sped up `compression` times:
   * a lease every 30 s / compression, an upload every 60 s / compression, each starting at a random phase
   * so the devices do not move in lockstep. A shed request's Retry-After (on the same faster clock) is kept:
   * no request until it has run out, and results not acknowledged stay queued for the next upload.
   */
  async run(recorder: LoadRecorder, until: number, compression: number): Promise<void> {
    this.compression = compression;
    const every = async (periodMs: number, action: () => Promise<void>) => {
      let next = performance.now() + Math.random() * periodMs;
      for (;;) {
        const wait = next - performance.now();
        if (next >= until) return;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        // While the server's Retry-After runs, the device's alarms find nothing to do.
        if (performance.now() >= this.resumeAt) await action();
        // A tick missed while a slow request ran is skipped, as the extension's alarms would be.
        next += periodMs * Math.max(1, Math.ceil((performance.now() - next) / periodMs));
      }
    };
    await Promise.all([
      every(leaseEveryMs / compression, () => this.lease(recorder)),
      every(uploadEveryMs / compression, () => this.uploadAndLabel(recorder)),
    ]);
  }
}

/** Pages and label tasks a device asks for per (uncompressed) minute, to size the campaign and project. */
export const jobsPerDeviceMinute = (leaseSize * 60_000) / leaseEveryMs;
export const tasksPerDeviceMinute = (taskLeaseSize * 60_000) / uploadEveryMs;
