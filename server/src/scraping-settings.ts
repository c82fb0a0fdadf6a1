import { z } from 'zod';

/** Tunables of the frontier, leases and verification; from the environment, with safe defaults. */
export interface ScrapingSettings {
  leaseSeconds: number;
  /** Minimum delay between two fetches from one origin, across all devices. */
  politenessMs: number;
  /** Share of jobs fetched by two devices whose text hashes are compared. */
  redundancyShare: number;
  /** Chance that a lease includes a canary page (content known to the server). */
  canaryRate: number;
  maxPageBytes: number;
  fetchTimeoutMs: number;
  /** Exact origins a test setup may use although the URL rules forbid them (never set in production). */
  testOrigins: string[];
}

export const defaultScrapingSettings: ScrapingSettings = {
  leaseSeconds: 300,
  politenessMs: 1000,
  redundancyShare: 0.1,
  canaryRate: 0.05,
  maxPageBytes: 5 * 1024 * 1024,
  fetchTimeoutMs: 30_000,
  testOrigins: [],
};

const share = z.coerce.number().min(0).max(1);
const envSchema = z.object({
  GLEANER_LEASE_SECONDS: z.coerce.number().int().min(10).max(86_400).optional(),
  GLEANER_POLITENESS_MS: z.coerce.number().int().min(0).max(600_000).optional(),
  GLEANER_REDUNDANCY_SHARE: share.optional(),
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
    politenessMs: value.GLEANER_POLITENESS_MS ?? defaultScrapingSettings.politenessMs,
    redundancyShare: value.GLEANER_REDUNDANCY_SHARE ?? defaultScrapingSettings.redundancyShare,
    canaryRate: value.GLEANER_CANARY_RATE ?? defaultScrapingSettings.canaryRate,
    maxPageBytes: value.GLEANER_MAX_PAGE_BYTES ?? defaultScrapingSettings.maxPageBytes,
    fetchTimeoutMs: value.GLEANER_FETCH_TIMEOUT_MS ?? defaultScrapingSettings.fetchTimeoutMs,
    testOrigins: value.GLEANER_TEST_ORIGINS,
  };
}
