import { randomUUID } from 'node:crypto';
import { type RejectedUrl, rejectedUrlSchema } from '@protocol/campaigns';
import { checkUrl } from '@protocol/url-guard';
import { z } from 'zod';
import type { Database } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { enqueueJobs } from './campaign-service';

/** The operator's canary pages; not a wire format devices see, so it lives with the admin API. */
export const canaryCreateSchema = z.object({
  pages: z
    .array(
      z.object({ url: z.string(), textSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256') }),
    )
    .min(1)
    .max(10_000),
});
export const canaryCreatedSchema = z.object({ added: z.number().int(), rejected: z.array(rejectedUrlSchema) });

/** Canary rows are templates: each canary lease is a job made for that lease (see lease-service.ts). */
const canarySlots = 0;

/**
 * Adds canary pages to the one canary campaign (no buyer). Their text hash is known, so a device that
 * uploads anything else is caught; to a device they look like any other job.
 */
export async function addCanaries(
  db: Database,
  settings: ScrapingSettings,
  pages: ReadonlyArray<{ url: string; textSha256: string }>,
): Promise<z.infer<typeof canaryCreatedSchema>> {
  const hashByUrl = new Map<string, string>();
  const refused: RejectedUrl[] = [];
  for (const page of pages) {
    const verdict = checkUrl(page.url, { allowedTestOrigins: settings.testOrigins });
    if (verdict.ok) hashByUrl.set(verdict.url, page.textSha256);
    else refused.push({ url: page.url, rule: verdict.rule, reason: verdict.reason });
  }
  const jobs = [...hashByUrl.keys()].map((url) => ({ url, origin: new URL(url).origin, depth: 0 }));
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ id: string }>(
      `select id from campaigns where buyer_id is null and name = 'canaries'`,
    );
    const campaignId = existing[0]?.id ?? randomUUID();
    if (!existing[0]) {
      await tx.query(`insert into campaigns (id, buyer_id, name) values ($1, null, 'canaries')`, [campaignId]);
    }
    const { added, rejected } = await enqueueJobs(tx, campaignId, jobs, settings);
    for (const [url, sha] of hashByUrl) {
      await tx.query('update jobs set canary_sha256 = $3, open_slots = $4 where campaign_id = $1 and url = $2', [
        campaignId,
        url,
        sha,
        canarySlots,
      ]);
    }
    return { added, rejected: [...refused, ...rejected] };
  });
}
