import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../db/database';
import { createBuyerKey } from '../test/scrape-fixtures';

/** A page as a test wants it stored; everything else gets a plain default. */
export interface SeedPage {
  url?: string;
  text: string;
  title?: string;
  lang?: string | null;
  verification?: 'verified' | 'unverified' | 'rejected' | 'duplicate';
  html?: string | null;
  httpStatus?: number;
  contentType?: string;
  device?: string;
}

/** A buyer with an API key, and its id. */
export async function createBuyer(app: FastifyInstance, name = 'Dataset Buyer'): Promise<{ key: string; id: string }> {
  const key = await createBuyerKey(app, name);
  const me = await app.inject({ method: 'GET', url: '/v1/buyer', headers: { authorization: `Bearer ${key}` } });
  return { key, id: (me.json() as { id: string }).id };
}

/**
 * Stores a campaign's pages as ingest leaves them (campaign, host, job, assignment and page rows), so dataset
 * tests can hold thousands of pages without uploading each through a device. Returns the campaign id and the
 * page ids in order.
 */
export async function seedCampaignPages(
  db: Queryable,
  buyerId: string,
  pages: readonly SeedPage[],
  options: { keepRawHtml?: boolean; name?: string } = {},
): Promise<{ campaignId: string; pageIds: number[] }> {
  const campaignId = randomUUID();
  const origin = `https://seed-${campaignId.slice(0, 8)}.example`;
  await db.query('insert into campaigns (id, buyer_id, name, keep_raw_html) values ($1, $2, $3, $4)', [
    campaignId,
    buyerId,
    options.name ?? 'seeded campaign',
    options.keepRawHtml ?? false,
  ]);
  await db.query(
    `insert into hosts (origin, robots_status, crawl_delay_ms) values ($1, 'allowed', 0) on conflict do nothing`,
    [origin],
  );
  const devices = [...new Set(pages.map((page) => page.device ?? '0x1111111111111111111111111111111111111111'))];
  for (const device of devices) {
    await db.query(
      `insert into devices (address, extension_version, browser) values ($1, '0.1.0', 'chrome') on conflict do nothing`,
      [device],
    );
  }
  const pageIds: number[] = [];
  for (const [index, page] of pages.entries()) {
    const url = page.url ?? `${origin}/page-${index}`;
    const device = page.device ?? '0x1111111111111111111111111111111111111111';
    const [job] = await db.query<{ id: string }>(
      `insert into jobs (campaign_id, url, origin, open_slots, state) values ($1, $2, $3, 0, 'fetched') returning id::text`,
      [campaignId, url, origin],
    );
    const [assignment] = await db.query<{ id: string }>(
      `insert into assignments (job_id, device, expires_at, state) values ($1, $2, now(), 'done') returning id::text`,
      [job?.id, device],
    );
    const [stored] = await db.query<{ id: string }>(
      `insert into pages (job_id, assignment_id, device, campaign_id, url, final_url, http_status, content_type,
                          fetched_at, bytes_fetched, title, text, lang, text_sha256, html, verification)
       values ($1, $2, $3, $4, $5, $5, $6, $7, now() - interval '1 hour', $8, $9, $10, $11, $12, $13, $14)
       returning id::text`,
      [
        job?.id,
        assignment?.id,
        device,
        campaignId,
        url,
        page.httpStatus ?? 200,
        page.contentType ?? 'text/html; charset=utf-8',
        Buffer.byteLength(page.text),
        page.title ?? `Page ${index}`,
        page.text,
        page.lang === undefined ? 'en' : page.lang,
        createHash('sha256').update(page.text).digest('hex'),
        page.html ?? null,
        page.verification ?? 'verified',
      ],
    );
    pageIds.push(Number(stored?.id));
  }
  return { campaignId, pageIds };
}
