import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { generatePrivateKey } from 'viem/accounts';
import type { LeasedJob, LeaseResponse } from '../protocol/jobs';
import type { LabelResult, LeasedTask } from '../protocol/labeling';
import type { ResultBatchAck } from '../protocol/results';
import {
  deriveDeviceSessionKey,
  generateSessionKeyPair,
  type SessionHeaders,
  sessionRequestHeaders,
  sessionSchema,
} from '../protocol/sessions';
import { hashBody, type SigningServer, signRequest } from '../protocol/signing';
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
 * How the simulated devices authenticate requests after registering: under a device session, as the extension
 * does (one signed handshake, then an HMAC per request), or each request signed on its own, as it did before.
 * `GLEANER_BENCH_LOAD_AUTH` selects it, so the two can be compared in one build.
 */
export type LoadAuth = 'session' | 'signature';

export function loadAuthFromEnv(): LoadAuth {
  const value = process.env.GLEANER_BENCH_LOAD_AUTH || 'session';
  if (value !== 'session' && value !== 'signature') {
    throw new Error(`GLEANER_BENCH_LOAD_AUTH must be session or signature, not ${value}`);
  }
  return value;
}

/** A session as a device holds it: the id, the HMAC key it derived, and the last counter it used. */
interface HeldSession {
  id: string;
  key: CryptoKey;
  counter: number;
}

type Reply<T> = { ok: true; value: T } | { ok: false; sessionUnknown: boolean };

/**
 * The page text follows from the URL (`/story/<n>` is article n), so an audit copy of a page, leased to another
 * device, uploads the same text and passes, as two honest fetches of a static page would.
 */
const seedOf = (url: string) => Number(/(\d+)$/.exec(url)?.[1] ?? 0);

/**
 * One simulated extension: its own key, registering and opening sessions with signed requests, then
 * authenticating every other request exactly as the extension does (see `LoadAuth`).
 */
export class LoadDevice {
  /** Signs the extension's bytes on libsecp256k1 (~0.2 ms, viem ~1.4 ms): the generator shares the server's CPU. */
  private readonly account = libsecp256k1Signer(generatePrivateKey());
  private jobs: LeasedJob[] = [];
  private tasks: LeasedTask[] = [];
  /** Until when (performance.now()) the server asked this device to wait (a shed request's Retry-After). */
  private resumeAt = 0;
  /** How much faster than real time this device's clock runs (set by `run`). */
  private compression = 1;
  /**
   * The session being used or opened, shared by the requests in flight: when the server no longer holds it,
   * the first to learn it opens the next one and the others wait for that one.
   */
  private session: Promise<HeldSession | undefined> | undefined;

  constructor(
    private readonly server: LoadServer,
    private readonly acknowledged: Acknowledged,
    private readonly auth: LoadAuth = loadAuthFromEnv(),
  ) {}

  /**
   * Sends one request, under the device's session unless `signed` (registration and the handshake itself, and
   * every request in `signature` mode); answers its JSON when it succeeded, undefined (recorded as an error, or
   * as shed) otherwise. A session the server no longer holds (401 `session_unknown`: expired, or the process
   * restarted) is replaced by a new one and the request sent once more, as the extension does.
   */
  private async send<T>(
    recorder: LoadRecorder,
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    options: { gzip?: boolean; signed?: boolean } = {},
  ): Promise<T | undefined> {
    const json = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    const bytes = options.gzip ? new Uint8Array(gzipSync(json)) : json;
    if (options.signed || this.auth === 'signature') {
      const signed = await signRequest(this.account, { method, path, body: bytes }, this.server.signing);
      const reply = await this.exchange<T>(recorder, endpoint, method, path, bytes, signed, options.gzip);
      return reply.ok ? reply.value : undefined;
    }
    const first = await this.inSession<T>(recorder, endpoint, method, path, bytes, options.gzip, true);
    if (first.ok) return first.value;
    if (!first.sessionUnknown) return undefined;
    const again = await this.inSession<T>(recorder, endpoint, method, path, bytes, options.gzip, false);
    return again.ok ? again.value : undefined;
  }

  /** Sends one request under the current session, opening one first if the device holds none. */
  private async inSession<T>(
    recorder: LoadRecorder,
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    bytes: Uint8Array<ArrayBuffer>,
    gzip: boolean | undefined,
    mayReopen: boolean,
  ): Promise<Reply<T>> {
    const session = this.session ?? this.openSession(recorder);
    this.session = session;
    const held = await session;
    if (!held) {
      // The handshake failed (recorded as its own error, or shed): the next request tries a new one.
      if (this.session === session) this.session = undefined;
      return { ok: false, sessionUnknown: false };
    }
    // Counters are taken in sending order; requests in flight at once may arrive out of it, within the window.
    held.counter += 1;
    const request = { method, path, bodyHash: hashBody(bytes), counter: held.counter };
    const headers = await sessionRequestHeaders(held.key, held.id, request);
    const reply = await this.exchange<T>(recorder, endpoint, method, path, bytes, headers, gzip, mayReopen);
    if (!reply.ok && reply.sessionUnknown && this.session === session) this.session = undefined;
    return reply;
  }

  /** The handshake: a fresh P-256 key pair, its public half in a signed body, then the key derived by ECDH. */
  private async openSession(recorder: LoadRecorder): Promise<HeldSession | undefined> {
    const pair = await generateSessionKeyPair();
    const opened = await this.send<unknown>(
      recorder,
      'POST /v1/devices/sessions',
      'POST',
      '/v1/devices/sessions',
      { publicKey: pair.publicKey },
      { signed: true },
    );
    if (opened === undefined) return undefined;
    const session = sessionSchema.parse(opened);
    const key = await deriveDeviceSessionKey(
      pair.privateKey,
      session,
      this.account.address,
      this.server.signing.origin,
    );
    return { id: session.sessionId, key, counter: 0 };
  }

  /**
   * One HTTP exchange with its authentication headers made, recorded on `recorder`. A 401 `session_unknown`
   * while `mayReopen` is not an error: the device opens a new session and sends the request again.
   */
  private async exchange<T>(
    recorder: LoadRecorder,
    endpoint: string,
    method: 'GET' | 'POST',
    path: string,
    bytes: Uint8Array<ArrayBuffer>,
    auth: Record<string, string> | SessionHeaders,
    gzip = false,
    mayReopen = false,
  ): Promise<Reply<T>> {
    // Every body this device sends is JSON (gzipped or not), never empty.
    const hasBody = bytes.length > 0;
    const headers: Record<string, string> = { ...auth };
    if (hasBody) headers['content-type'] = 'application/json';
    if (gzip) headers['content-encoding'] = 'gzip';
    // Timed from the send: the client's signing or MAC is its own cost, not the server's latency.
    const started = performance.now();
    try {
      const response = await fetch(`${this.server.url}${path}`, {
        method,
        headers,
        body: hasBody ? bytes : undefined,
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
          return { ok: false, sessionUnknown: false };
        }
        recorder.latency(endpoint, ms);
        if (mayReopen && response.status === 401 && code === 'session_unknown') {
          return { ok: false, sessionUnknown: true };
        }
        recorder.error(endpoint, `${response.status}${code ? ` ${code}` : ''}`);
        return { ok: false, sessionUnknown: false };
      }
      recorder.latency(endpoint, ms);
      return { ok: true, value: JSON.parse(text) as T };
    } catch (error) {
      recorder.latency(endpoint, performance.now() - started);
      recorder.error(endpoint, error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'network');
      return { ok: false, sessionUnknown: false };
    }
  }

  /**
   * Registers the device and, in `session` mode, opens its first session (neither timed in a step: a device
   * registers once in its life, and opens a session when it starts; reopening one mid-step is in the step).
   */
  async register(recorder: LoadRecorder): Promise<void> {
    const reply = await this.send(
      recorder,
      'register',
      'POST',
      '/v1/devices',
      { extensionVersion: 'load-bench', browser: 'other' },
      { signed: true },
    );
    if (!reply) throw new Error(`a load device could not register: ${[...recorder.errors.keys()].join(', ')}`);
    if (this.auth !== 'session') return;
    this.session = this.openSession(recorder);
    if (!(await this.session)) {
      throw new Error(`a load device could not open a session: ${[...recorder.errors.keys()].join(', ')}`);
    }
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
        { gzip: true },
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
