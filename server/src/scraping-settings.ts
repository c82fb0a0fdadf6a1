import { z } from 'zod';
import { type AuditSettings, defaultAuditSettings } from './verification/audit-rules';

/**
 * The server's limits on what one caller may take or send, so no device, address or request can
 * crowd out the others. A rate or threshold of 0 turns that limit off (benchmarks, tests).
 */
export interface LimitSettings {
  /** Scrape jobs one device may hold leased (unexpired) at once. */
  leasesPerDevice: number;
  /** Labeling tasks one device may hold leased (unexpired) at once. */
  taskLeasesPerDevice: number;
  /** Device registrations (`POST /v1/devices`) one client IP may make per minute. */
  registrationsPerMinutePerIp: number;
  /** Signed requests one verified device may make per minute, all device routes together. */
  deviceRequestsPerMinute: number;
  /** Shed load (503) while the event loop's mean delay over the last second exceeds this many ms. */
  maxEventLoopDelayMs: number;
  /** Shed load (503) while the event loop was busy more than this share (0..1) of the last second. */
  maxEventLoopUtilization: number;
  /**
   * API requests (`/v1/…`) one process works on at once; more wait in line (first come, first served)
   * up to `maxQueueWaitMs`, then are shed with 503. Beyond this, requests only queue for the database
   * pool and for locks, so letting more in makes every request slower, not more of them done.
   */
  maxRequestsInFlight: number;
  /** How long a request may wait in line for one of `maxRequestsInFlight` before it is shed. */
  maxQueueWaitMs: number;
  /**
   * Which proxies to believe about the client IP (X-Forwarded-For), as Fastify's `trustProxy`:
   * false (none: the socket's address), true (any), or the proxies' addresses/CIDRs.
   * Behind a load balancer, set it, or every registration counts against the balancer's address.
   */
  trustProxy: boolean | string[];
}

export const defaultLimitSettings: LimitSettings = {
  leasesPerDevice: 20,
  taskLeasesPerDevice: 20,
  registrationsPerMinutePerIp: 20,
  deviceRequestsPerMinute: 120,
  maxEventLoopDelayMs: 200,
  maxEventLoopUtilization: 0.98,
  maxRequestsInFlight: 10,
  maxQueueWaitMs: 300,
  trustProxy: false,
};

/** Tunables of the frontier, leases, verification and limits; from the environment, with safe defaults. */
export interface ScrapingSettings {
  leaseSeconds: number;
  /**
   * A process sweeps expired leases back to the queue at most this often (ms), on the next lease call: a
   * sweep per lease was a statement per lease for slots that free minutes apart. 0: every lease (tests).
   */
  leaseSweepIntervalMs: number;
  /** Minimum delay between two fetches from one origin, across all devices. */
  politenessMs: number;
  /** Chance that a lease includes a canary page (content known to the server). */
  canaryRate: number;
  maxPageBytes: number;
  fetchTimeoutMs: number;
  /** Exact origins a test setup may use although the URL rules forbid them (never set in production). */
  testOrigins: string[];
  limits: LimitSettings;
  /** Audits drawn after upload: rates, and when the server steps in (server/src/verification/audit-rules.ts). */
  audits: AuditSettings;
}

export const defaultScrapingSettings: ScrapingSettings = {
  leaseSeconds: 300,
  leaseSweepIntervalMs: 1000,
  politenessMs: 1000,
  canaryRate: 0.05,
  maxPageBytes: 5 * 1024 * 1024,
  fetchTimeoutMs: 30_000,
  testOrigins: [],
  limits: defaultLimitSettings,
  audits: defaultAuditSettings,
};

const share = z.coerce.number().min(0).max(1);
const perMinute = z.coerce.number().int().min(0).max(1_000_000);
const envSchema = z.object({
  GLEANER_LEASE_SECONDS: z.coerce.number().int().min(10).max(86_400).optional(),
  GLEANER_POLITENESS_MS: z.coerce.number().int().min(0).max(600_000).optional(),
  GLEANER_AUDIT_RATE: share.optional(),
  GLEANER_AUDIT_SERVER_AFTER_SECONDS: z.coerce.number().int().min(0).max(86_400).optional(),
  GLEANER_AUDIT_SETTLE_AFTER_SECONDS: z.coerce.number().int().min(0).max(86_400).optional(),
  GLEANER_CANARY_RATE: share.optional(),
  GLEANER_MAX_PAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .optional(),
  GLEANER_FETCH_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).optional(),
  GLEANER_TEST_ORIGINS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^http:\/\/127\.0\.0\.1:\d{1,5}$/, 'test origins must be exactly http://127.0.0.1:PORT'),
      ),
    ),
  GLEANER_MAX_LEASES_PER_DEVICE: z.coerce.number().int().min(1).max(100_000).optional(),
  GLEANER_MAX_TASK_LEASES_PER_DEVICE: z.coerce.number().int().min(1).max(100_000).optional(),
  GLEANER_REGISTRATIONS_PER_MINUTE_PER_IP: perMinute.optional(),
  GLEANER_DEVICE_REQUESTS_PER_MINUTE: perMinute.optional(),
  GLEANER_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  GLEANER_MAX_EVENT_LOOP_UTILIZATION: share.optional(),
  GLEANER_MAX_REQUESTS_IN_FLIGHT: z.coerce.number().int().min(0).max(100_000).optional(),
  GLEANER_MAX_QUEUE_WAIT_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  GLEANER_TRUST_PROXY: z
    .string()
    .trim()
    .optional()
    .transform((value): LimitSettings['trustProxy'] | undefined => {
      if (value === undefined || value === '') return undefined;
      if (value === 'true' || value === 'false') return value === 'true';
      return value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
    })
    .refine(
      (value) => !Array.isArray(value) || value.every((entry) => /^[\d.:a-fA-F]+(\/\d{1,3})?$/.test(entry)),
      'must be true, false, or comma-separated proxy addresses/CIDRs',
    ),
});

/** Reads the scraping settings from the environment; throws naming every bad variable. */
export function loadScrapingSettings(env: NodeJS.ProcessEnv): ScrapingSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Invalid environment:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  }
  const value = parsed.data;
  return {
    leaseSeconds: value.GLEANER_LEASE_SECONDS ?? defaultScrapingSettings.leaseSeconds,
    leaseSweepIntervalMs: defaultScrapingSettings.leaseSweepIntervalMs,
    politenessMs: value.GLEANER_POLITENESS_MS ?? defaultScrapingSettings.politenessMs,
    canaryRate: value.GLEANER_CANARY_RATE ?? defaultScrapingSettings.canaryRate,
    maxPageBytes: value.GLEANER_MAX_PAGE_BYTES ?? defaultScrapingSettings.maxPageBytes,
    fetchTimeoutMs: value.GLEANER_FETCH_TIMEOUT_MS ?? defaultScrapingSettings.fetchTimeoutMs,
    testOrigins: value.GLEANER_TEST_ORIGINS,
    limits: {
      leasesPerDevice: value.GLEANER_MAX_LEASES_PER_DEVICE ?? defaultLimitSettings.leasesPerDevice,
      taskLeasesPerDevice: value.GLEANER_MAX_TASK_LEASES_PER_DEVICE ?? defaultLimitSettings.taskLeasesPerDevice,
      registrationsPerMinutePerIp:
        value.GLEANER_REGISTRATIONS_PER_MINUTE_PER_IP ?? defaultLimitSettings.registrationsPerMinutePerIp,
      deviceRequestsPerMinute: value.GLEANER_DEVICE_REQUESTS_PER_MINUTE ?? defaultLimitSettings.deviceRequestsPerMinute,
      maxEventLoopDelayMs: value.GLEANER_MAX_EVENT_LOOP_DELAY_MS ?? defaultLimitSettings.maxEventLoopDelayMs,
      maxEventLoopUtilization: value.GLEANER_MAX_EVENT_LOOP_UTILIZATION ?? defaultLimitSettings.maxEventLoopUtilization,
      maxRequestsInFlight: value.GLEANER_MAX_REQUESTS_IN_FLIGHT ?? defaultLimitSettings.maxRequestsInFlight,
      maxQueueWaitMs: value.GLEANER_MAX_QUEUE_WAIT_MS ?? defaultLimitSettings.maxQueueWaitMs,
      trustProxy: value.GLEANER_TRUST_PROXY ?? defaultLimitSettings.trustProxy,
    },
    audits: {
      ...defaultAuditSettings,
      rate: value.GLEANER_AUDIT_RATE ?? defaultAuditSettings.rate,
      serverAfterSeconds: value.GLEANER_AUDIT_SERVER_AFTER_SECONDS ?? defaultAuditSettings.serverAfterSeconds,
      settleAfterSeconds: value.GLEANER_AUDIT_SETTLE_AFTER_SECONDS ?? defaultAuditSettings.settleAfterSeconds,
    },
  };
}
