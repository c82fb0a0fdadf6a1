import { type Device, deviceRegistrationSchema } from '@protocol/devices';
import { BaseError, type ErrorBody, httpStatusOf } from '@protocol/errors';
import { type LeasedJob, leaseRequestSchema } from '@protocol/jobs';
import { matchesGold, valueProblem } from '@protocol/label-rules';
import {
  goldPolicy,
  type ItemContent,
  type LabelerStanding,
  type LabelingProjects,
  type LabelSchema,
  type LabelValue,
  type LeasedTask,
  labelResultSchema,
  taskLeaseRequestSchema,
} from '@protocol/labeling';
import type { PointsSummary } from '@protocol/points';
import {
  type RecordVerdictCode,
  type ResultAck,
  resultBatchSchema,
  type ScrapeResult,
  scrapeResultSchema,
} from '@protocol/results';
import {
  deriveDeviceSessionKey,
  generateSessionKeyPair,
  readSessionHeaders,
  sessionMacInput,
  sessionOpenSchema,
} from '@protocol/sessions';
import { defaultChainId, hashBody, verifyRequestSignature } from '@protocol/signing';
import { type Address, bytesToHex } from 'viem';
import type { FetchFn } from '../api-client';
import { findUncleanText } from '../clean-text';
import { textSha256 } from '../extract/text-hash';
import { gunzip } from '../gzip';

/** A lease as the fake server keeps it. */
interface FakeLease {
  job: LeasedJob;
  device: Address;
  state: 'leased' | 'submitted' | 'failed';
}

/** A labeling item as the fake server keeps it: its project, schema, content and gold answer. */
interface FakeItem {
  id: string;
  projectId: string;
  projectName: string;
  instructions: string;
  labelSchema: LabelSchema;
  content: ItemContent;
  gold: LabelValue | null;
  /** Pairwise items: whether answer a is shown on the left (the real server draws it per assignment). */
  leftIsA: boolean;
  /** The project's worked examples, sent with each task when given. */
  examples?: LeasedTask['examples'];
}

interface FakeTaskLease {
  task: LeasedTask;
  item: FakeItem;
  device: Address;
  state: 'leased' | 'submitted' | 'skipped';
}

/** A label the fake server accepted, as it stores it (pairwise answers mapped to a/b). */
interface FakeLabel {
  device: Address;
  assignmentId: string;
  itemId: string;
  value: LabelValue;
  gold: boolean;
  goldCorrect: boolean | null;
}

const pointsPerLabel = 5;

/** Why an answer does not fit its item's schema, as the real server says it (the same rules); undefined when it fits. */
function answerProblem(item: FakeItem, value: LabelValue): string | undefined {
  return valueProblem(item.labelSchema, item.content, value);
}

/**
 * What a test may ask of one route: answer with a status (an error body, headers such as
 * Retry-After, or a 2xx body that is not what the route answers), or process and then lose the reply.
 */
type Misbehaviour = { status: number; body?: unknown; headers?: Record<string, string> } | 'unreachable' | 'lose-reply';

/** The real server's cap on a request body once inflated (413 `payload_too_large` above it). */
const maxInflatedBytes = 32 * 1024 * 1024;

interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
  body: string;
}

/**
 * For tests only: answers the device, lease, results and points routes like the Gleaner server
 * does, verifying each request's signature over the exact method, path and body bytes received
 * (gzip bodies are signed compressed). Results are acknowledged one by one with the real server's
 * codes (a NUL or lone surrogate anywhere refused as invalid_text, hash recomputed, unknown leases
 * rejected, repeats marked duplicate) and a batch id seen before gets its first answer; a body over
 * 32 MB inflated is refused with 413 and a body that is not a batch with 400.
 * Labeling too: task leases (never an item twice to one device, pairwise answers as left/right),
 * labels in result batches (pairwise mapped back to a/b, gold scored) and the labeler's standing.
 */
/** On the fake's 404 for a request it authenticated (signature or session): the device that sent it. */
export const authenticatedDeviceHeader = 'x-fake-authenticated-device';

export function createFakeGleanerServer(options: { origin?: string; now?: () => number } = {}) {
  const origin = options.origin ?? 'http://127.0.0.1:8787';
  const now = options.now ?? (() => Date.now());
  const devices = new Map<Address, Device>();
  const received: ReceivedRequest[] = [];
  const seenNonces = new Set<string>();
  /** Device sessions: ECDH is symmetric, so the server side derives its key as a device would, from the device's public key. */
  const sessions = new Map<string, { device: Address; key: CryptoKey; counters: Set<number> }>();
  let reachable = true;
  /** Jobs waiting to be leased, in order. */
  const queue: LeasedJob[] = [];
  const leases = new Map<string, FakeLease>();
  const batches = new Map<string, { device: Address; acks: ResultAck[] }>();
  /** Every result the server accepted, in order. */
  const accepted: ScrapeResult[] = [];
  const misbehaviours = new Map<string, Misbehaviour[]>();
  const state = {
    retryAfterSeconds: 60,
    nextJobId: 1,
    points: null as PointsSummary | null,
    maxInflatedBytes,
  };
  /** Labeling items waiting, in order; each is leased at most once to each device. */
  const items: FakeItem[] = [];
  const taskLeases = new Map<string, FakeTaskLease>();
  /** Every label the server accepted, in order. */
  const labels: FakeLabel[] = [];
  const labeling = { nextAssignment: 9001, nextItem: 1 };

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const fail = (error: ErrorBody) => json(httpStatusOf(error.code), error);

  const fetch: FetchFn = async (input, init) => {
    const url = new URL(input);
    if (!reachable || url.origin !== origin) throw new TypeError('Failed to fetch');
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const bytes = init.body instanceof Uint8Array ? init.body : new Uint8Array();
    const path = `${url.pathname}${url.search}`;
    const method = init.method ?? 'GET';
    const plain = headers['content-encoding'] === 'gzip' ? await gunzip(bytes) : bytes;
    received.push({ method, path, headers, credentials: init.credentials, body: new TextDecoder().decode(plain) });
    const misbehaviour = misbehaviours.get(url.pathname)?.shift();
    if (misbehaviour === 'unreachable') throw new TypeError('Failed to fetch');
    if (misbehaviour && misbehaviour !== 'lose-reply') {
      return json(misbehaviour.status, misbehaviour.body ?? {}, misbehaviour.headers);
    }

    let device: Address;
    let bySession: boolean;
    try {
      const claimed = readSessionHeaders(headers);
      bySession = claimed !== null;
      if (claimed) {
        const session = sessions.get(claimed.sessionId);
        if (!session) return fail({ code: 'session_unknown', message: 'This server holds no such device session.' });
        const input = sessionMacInput({ method, path, bodyHash: hashBody(bytes), counter: claimed.counter });
        const mac = new Uint8Array(await crypto.subtle.sign('HMAC', session.key, input as Uint8Array<ArrayBuffer>));
        if (bytesToHex(mac).slice(2) !== claimed.mac) {
          return fail({ code: 'signature_invalid', message: 'The session MAC does not match this request.' });
        }
        if (session.counters.has(claimed.counter)) {
          return fail({ code: 'nonce_replayed', message: 'This session counter was already received.' });
        }
        session.counters.add(claimed.counter);
        device = session.device;
      } else {
        ({ device } = await verifyRequestSignature(
          headers,
          { method, path, body: bytes },
          { origins: [origin], chainId: defaultChainId },
        ));
      }
    } catch (error) {
      if (error instanceof BaseError) return fail(error.toBody());
      throw error;
    }
    if (!bySession) {
      const nonce = headers['x-gleaner-nonce'] ?? '';
      if (seenNonces.has(nonce)) return fail({ code: 'nonce_replayed', message: 'This request was already received.' });
      seenNonces.add(nonce);
    }

    if (method === 'POST' && url.pathname === '/v1/devices/sessions') {
      if (bySession) return fail({ code: 'signature_missing', message: 'Open a session with the device key.' });
      if (!devices.has(device)) return fail({ code: 'device_unknown', message: `Device ${device} is not registered.` });
      const opening = sessionOpenSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (!opening.success) return fail({ code: 'bad_request', message: 'Invalid session request.' });
      const own = await generateSessionKeyPair();
      const sessionId = bytesToHex(crypto.getRandomValues(new Uint8Array(16))).slice(2);
      const key = await deriveDeviceSessionKey(
        own.privateKey,
        { sessionId, serverPublicKey: opening.data.publicKey },
        device,
        origin,
      );
      sessions.set(sessionId, { device, key, counters: new Set() });
      return json(201, { sessionId, serverPublicKey: own.publicKey, ttlSeconds: 1800, replayWindow: 1024 });
    }

    if (method === 'POST' && url.pathname === '/v1/devices') {
      const registration = deviceRegistrationSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (!registration.success) return fail({ code: 'bad_request', message: 'Invalid registration.' });
      const now = new Date().toISOString();
      const known = devices.get(device);
      const record: Device = {
        address: device,
        extensionVersion: registration.data.extensionVersion,
        browser: registration.data.browser,
        registeredAt: known?.registeredAt ?? now,
        lastSeenAt: now,
      };
      devices.set(device, record);
      return json(known ? 200 : 201, record);
    }
    if (method === 'POST' && url.pathname === '/v1/jobs/lease') {
      if (!devices.has(device)) return fail({ code: 'device_unknown', message: `Device ${device} is not registered.` });
      const { max } = leaseRequestSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
      const jobs: LeasedJob[] = [];
      const origins = new Set<string>();
      for (const job of [...queue]) {
        if (jobs.length >= max) break;
        const jobOrigin = URL.canParse(job.url) ? new URL(job.url).origin : job.url;
        if (origins.has(jobOrigin)) continue;
        origins.add(jobOrigin);
        queue.splice(queue.indexOf(job), 1);
        const leased = { ...job, leaseExpiresAt: new Date(now() + 300_000).toISOString() };
        leases.set(leased.assignmentId, { job: leased, device, state: 'leased' });
        jobs.push(leased);
      }
      return json(200, { jobs, retryAfterSeconds: jobs.length > 0 ? 0 : state.retryAfterSeconds });
    }
    if (method === 'POST' && url.pathname === '/v1/tasks/lease') {
      if (!devices.has(device)) return fail({ code: 'device_unknown', message: `Device ${device} is not registered.` });
      const { max, projectId } = taskLeaseRequestSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
      const seen = new Set([...taskLeases.values()].filter((l) => l.device === device).map((l) => l.item.id));
      const tasks: LeasedTask[] = [];
      for (const item of items) {
        if (tasks.length >= max) break;
        if (seen.has(item.id) || (projectId !== undefined && item.projectId !== projectId)) continue;
        const assignmentId = String(labeling.nextAssignment++);
        const content: LeasedTask['content'] =
          item.content.type === 'pairwise'
            ? {
                type: 'pairwise',
                prompt: item.content.prompt,
                left: item.content.answers[item.leftIsA ? 0 : 1],
                right: item.content.answers[item.leftIsA ? 1 : 0],
              }
            : item.content;
        const task: LeasedTask = {
          assignmentId,
          projectId: item.projectId,
          projectName: item.projectName,
          instructions: item.instructions,
          labelSchema: item.labelSchema,
          content,
          ...(item.examples ? { examples: item.examples } : {}),
          expiresAt: new Date(now() + 15 * 60_000).toISOString(),
        };
        taskLeases.set(assignmentId, { task, item, device, state: 'leased' });
        tasks.push(task);
      }
      return json(200, { tasks });
    }
    if (method === 'GET' && url.pathname === '/v1/tasks/projects') {
      // Projects with an item this device was never shown or holds leased; progress as labels accepted per project.
      const seen = new Set(
        [...taskLeases.values()].filter((l) => l.device === device && l.state !== 'leased').map((l) => l.item.id),
      );
      const projects = new Map<string, LabelingProjects['projects'][number]>();
      for (const item of items) {
        if (seen.has(item.id) || projects.has(item.projectId)) continue;
        const ofProject = items.filter((other) => other.projectId === item.projectId && other.gold === null);
        projects.set(item.projectId, {
          id: item.projectId,
          name: item.projectName,
          labelType: item.labelSchema.type,
          items: ofProject.length,
          itemsComplete: 0,
          yourLabels: labels.filter(
            (label) => label.device === device && ofProject.some((other) => other.id === label.itemId),
          ).length,
        });
      }
      return json(200, { projects: [...projects.values()] });
    }
    if (method === 'GET' && url.pathname === '/v1/devices/me/labeling') {
      return json(200, standingOf(device));
    }
    if (method === 'POST' && url.pathname === '/v1/results') {
      if (plain.byteLength > state.maxInflatedBytes) {
        return fail({
          code: 'payload_too_large',
          message: `The request body is larger than ${state.maxInflatedBytes} bytes once inflated.`,
        });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder().decode(plain));
      } catch {
        return fail({ code: 'bad_request', message: 'The body is not JSON.' });
      }
      const batch = resultBatchSchema.safeParse(raw);
      if (!batch.success) return fail({ code: 'bad_request', message: 'Invalid batch.' });
      const { batchId, results } = batch.data;
      const earlier = batches.get(batchId);
      const acks = earlier?.device === device ? earlier.acks : await ingest(device, results);
      if (!earlier) batches.set(batchId, { device, acks });
      if (misbehaviour === 'lose-reply') throw new TypeError('Failed to fetch');
      return json(200, { batchId, acks });
    }
    if (method === 'GET' && url.pathname === '/v1/devices/me/points') {
      const pages = accepted.filter((result) => result.outcome === 'fetched').length;
      return json(
        200,
        state.points ?? { pending: pages * 10, verified: 0, rejected: 0, trust: 0.5, recentRejections: [] },
      );
    }
    if (method === 'GET' && url.pathname === '/v1/devices/me') {
      const known = devices.get(device);
      if (!known)
        return fail({ code: 'device_unknown', message: `Device ${device} is not registered; register it first.` });
      return json(200, { ...known, lastSeenAt: new Date().toISOString() });
    }
    // Authenticated, but no route here: a wrapper that adds routes (fake-wallet-routes) reads who asked from this.
    return json(
      404,
      { code: 'not_found', message: `No route ${method} ${url.pathname}.` },
      { [authenticatedDeviceHeader]: device },
    );
  };

  function goldRecord(device: Address) {
    const gold = labels.filter((label) => label.device === device && label.gold);
    return { answered: gold.length, correct: gold.filter((label) => label.goldCorrect).length };
  }

  function standingOf(device: Address): LabelerStanding {
    const record = goldRecord(device);
    const accuracy = record.answered >= goldPolicy.minGold ? record.correct / record.answered : null;
    const earning = accuracy === null || accuracy >= goldPolicy.minAccuracy;
    const own = labels.filter((label) => label.device === device);
    return {
      goldAnswered: record.answered,
      goldCorrect: record.correct,
      goldAccuracy: accuracy,
      earning,
      reason: earning
        ? null
        : `Your accuracy on check questions is ${Math.round((accuracy ?? 0) * 100)}%, below the ${
            goldPolicy.minAccuracy * 100
          }% needed: your labels do not count or earn until it rises.`,
      labels: own.length,
      // Work labels wait for their item to be aggregated; correct gold answers are verified at once.
      points: {
        pending: earning ? own.filter((label) => !label.gold).length * pointsPerLabel : 0,
        verified: record.correct * pointsPerLabel,
      },
    };
  }

  function ingestLabel(device: Address, index: number, raw: unknown): ResultAck {
    const parsed = labelResultSchema.safeParse(raw);
    if (!parsed.success) {
      return {
        index,
        assignmentId: null,
        status: 'rejected',
        code: 'invalid_record',
        reason: parsed.error.issues[0]?.message ?? 'invalid',
      };
    }
    const label = parsed.data;
    const reject = (code: RecordVerdictCode, reason: string): ResultAck => ({
      index,
      assignmentId: label.assignmentId,
      status: 'rejected',
      code,
      reason,
    });
    const lease = taskLeases.get(label.assignmentId);
    if (!lease || lease.device !== device) {
      return reject('foreign_assignment', `task ${label.assignmentId} is not a lease of this device`);
    }
    if (lease.state !== 'leased') {
      return { index, assignmentId: label.assignmentId, status: 'duplicate', code: 'already_received' };
    }
    if (label.skipped) {
      lease.state = 'skipped';
      return { index, assignmentId: label.assignmentId, status: 'accepted' };
    }
    if (!label.answer) return reject('invalid_label', 'a label that is not skipped needs an answer');
    const answer = label.answer;
    const value: LabelValue =
      answer.type === 'pairwise' && answer.preferred !== 'tie'
        ? { type: 'pairwise', preferred: (answer.preferred === 'left') === lease.item.leftIsA ? 'a' : 'b' }
        : (answer as LabelValue);
    const problem = answerProblem(lease.item, value);
    if (problem) return reject('invalid_label', problem);
    const gold = lease.item.gold;
    labels.push({
      device,
      assignmentId: label.assignmentId,
      itemId: lease.item.id,
      value,
      gold: gold !== null,
      goldCorrect: gold === null ? null : matchesGold(gold, value),
    });
    lease.state = 'submitted';
    return { index, assignmentId: label.assignmentId, status: 'accepted' };
  }

  async function ingest(device: Address, results: readonly unknown[]): Promise<ResultAck[]> {
    const acks: ResultAck[] = [];
    for (const [index, raw] of results.entries()) {
      // As the real server: a NUL or an unpaired surrogate anywhere refuses the record before anything else.
      const unclean = findUncleanText(raw);
      if (unclean !== null) {
        const id = (raw as { assignmentId?: unknown } | null)?.assignmentId;
        acks.push({
          index,
          assignmentId: typeof id === 'string' ? id : null,
          status: 'rejected',
          code: 'invalid_text',
          reason: `${unclean} holds a NUL character or an unpaired surrogate`,
        });
        continue;
      }
      if (typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'label') {
        acks.push(ingestLabel(device, index, raw));
        continue;
      }
      const parsed = scrapeResultSchema.safeParse(raw);
      if (!parsed.success) {
        acks.push({
          index,
          assignmentId: null,
          status: 'rejected',
          code: 'invalid_record',
          reason: parsed.error.issues[0]?.message ?? 'invalid',
        });
        continue;
      }
      const result = parsed.data;
      const reject = (code: RecordVerdictCode, reason: string) =>
        acks.push({ index, assignmentId: result.assignmentId, status: 'rejected', code, reason });
      const lease = leases.get(result.assignmentId);
      if (!lease || lease.device !== device) {
        reject('foreign_assignment', `assignment ${result.assignmentId} is not a lease of this device`);
        continue;
      }
      if (lease.state !== 'leased') {
        acks.push({ index, assignmentId: result.assignmentId, status: 'duplicate', code: 'already_received' });
        continue;
      }
      if (result.outcome === 'fetched' && (await textSha256(result.text)) !== result.textSha256) {
        reject('hash_mismatch', 'textSha256 is not the SHA-256 of the normalized text');
        continue;
      }
      lease.state = result.outcome === 'fetched' ? 'submitted' : 'failed';
      accepted.push(result);
      acks.push({ index, assignmentId: result.assignmentId, status: 'accepted' });
    }
    return acks;
  }

  return {
    origin,
    fetch,
    devices,
    received,
    leases,
    accepted,
    /** Simulates the network or the server being down (fetch rejects, as browsers do). */
    setReachable(value: boolean) {
      reachable = value;
    },
    /** Queues pages to lease; unset fields get ordinary values. Returns the jobs as they will be leased. */
    addJobs(jobs: ReadonlyArray<Partial<LeasedJob> & { url: string }>): LeasedJob[] {
      const added = jobs.map((job) => {
        const id = String(state.nextJobId++);
        return {
          assignmentId: `a${id}`,
          jobId: `j${id}`,
          keepRawHtml: false,
          collectLinks: false,
          maxBytes: 1_000_000,
          timeoutMs: 10_000,
          leaseExpiresAt: new Date(now() + 300_000).toISOString(),
          ...job,
        };
      });
      queue.push(...added);
      return added;
    },
    /** Lowers the cap on an inflated request body (413 `payload_too_large` above it; 32 MB like the real server). */
    setMaxInflatedBytes(bytes: number) {
      state.maxInflatedBytes = bytes;
    },
    /** What the lease route says to wait when no job is ready. */
    setRetryAfterSeconds(seconds: number) {
      state.retryAfterSeconds = seconds;
    },
    setPoints(points: PointsSummary) {
      state.points = points;
    },
    taskLeases,
    /** Every label the server accepted, pairwise answers as a/b. */
    labels,
    /**
     * Adds labeling items (text single choice unless told otherwise); `gold` makes one a check
     * question. Returns their ids. Each is leased once to each device, in order.
     */
    addItems(entries: ReadonlyArray<Partial<Omit<FakeItem, 'gold'>> & { gold?: LabelValue | null }>): string[] {
      const added = entries.map((entry): FakeItem => {
        const id = entry.id ?? `item-${labeling.nextItem++}`;
        return {
          projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
          projectName: 'Product reviews',
          instructions: 'Is the review positive or negative?',
          labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
          content: { type: 'text', text: `Review ${id}` },
          leftIsA: true,
          ...entry,
          id,
          gold: entry.gold ?? null,
        };
      });
      items.push(...added);
      return added.map((item) => item.id);
    },
    /** Makes the next requests to `path` misbehave, one entry each, in order. */
    misbehave(path: string, ...entries: Misbehaviour[]) {
      misbehaviours.set(path, [...(misbehaviours.get(path) ?? []), ...entries]);
    },
  };
}
export type FakeGleanerServer = ReturnType<typeof createFakeGleanerServer>;
