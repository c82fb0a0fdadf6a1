import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Campaign, CampaignCreated, CampaignUrlsAdded, RejectedUrl, StoredPage } from '@protocol/campaigns';
import { checkUrl } from '@protocol/url-guard';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { robotsRules } from './robots-service';

interface CampaignInput {
  name: string;
  urls: string[];
  seeds: string[];
  followLinks?: { maxDepth: number; maxPages: number } | undefined;
  keepRawHtml: boolean;
}

interface NewJob {
  url: string;
  origin: string;
  depth: number;
}

/**
 * Rows per multi-row insert, and URLs vetted between two yields of the event loop: a request of
 * 10,000 URLs runs as ten short steps, and other requests are served between them.
 */
const chunkSize = 1000;

/**
 * Adds vetted URLs to a campaign one chunk per transaction, yielding between chunks: on embedded
 * PGlite a transaction holds the one connection alone, so one long transaction would stall every
 * other request for its whole length. Each chunk stands on its own (URLs already in the campaign
 * are skipped), so a request that fails part-way can simply be sent again to /urls.
 */
async function enqueueInChunks(db: Database, campaignId: string, jobs: readonly NewJob[], settings: ScrapingSettings) {
  let added = 0;
  const rejected: RejectedUrl[] = [];
  for (let start = 0; start < jobs.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const chunk = jobs.slice(start, start + chunkSize);
    const result = await db.transaction((tx) => enqueueJobs(tx, campaignId, chunk, settings));
    added += result.added;
    rejected.push(...result.rejected);
  }
  return { added, rejected };
}

/** Vets each URL with the shared guard; returns the normalized survivors and a reason for each refusal. */
async function vetUrls(urls: readonly string[], settings: ScrapingSettings) {
  const accepted = new Map<string, NewJob>();
  const rejected: RejectedUrl[] = [];
  let duplicates = 0;
  for (let start = 0; start < urls.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    for (const url of urls.slice(start, start + chunkSize)) {
      const verdict = checkUrl(url, { allowedTestOrigins: settings.testOrigins });
      if (!verdict.ok) {
        rejected.push({ url, rule: verdict.rule, reason: verdict.reason });
        continue;
      }
      if (accepted.has(verdict.url)) {
        duplicates += 1;
        continue;
      }
      accepted.set(verdict.url, { url: verdict.url, origin: new URL(verdict.url).origin, depth: 0 });
    }
  }
  return { accepted: [...accepted.values()], rejected, duplicates };
}

/**
 * Adds jobs to a campaign: new origins get a hosts row (their robots.txt is fetched in the background),
 * opted-out origins are refused, URLs already in the campaign are skipped, and a share of jobs is
 * marked for a second, independent fetch. Returns how many were added and which were refused.
 */
export async function enqueueJobs(
  tx: Queryable,
  campaignId: string,
  jobs: readonly NewJob[],
  settings: ScrapingSettings,
  options: { recordRefusals?: boolean } = {},
): Promise<{ added: number; rejected: RejectedUrl[] }> {
  if (jobs.length === 0) return { added: 0, rejected: [] };
  // Sorted, so two transactions adding the same new origins take their unique-index locks in one order.
  const origins = [...new Set(jobs.map((job) => job.origin))].sort();
  await tx.query(
    `insert into hosts (origin, crawl_delay_ms) select unnest($1::text[]), $2 on conflict (origin) do nothing`,
    [origins, settings.politenessMs],
  );
  const hosts = await tx.query<{
    origin: string;
    opted_out: boolean;
    robots_status: string | null;
    robots_txt: string | null;
  }>('select origin, opted_out, robots_status, robots_txt from hosts where origin = any($1::text[])', [origins]);
  const byOrigin = new Map(hosts.map((host) => [host.origin, host]));
  const rules = new Map<string, ReturnType<typeof robotsRules>>();
  const rejected: RejectedUrl[] = [];
  let added = 0;
  for (let start = 0; start < jobs.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const chunk: NewJob[] = [];
    for (const job of jobs.slice(start, start + chunkSize)) {
      const host = byOrigin.get(job.origin);
      if (host?.opted_out) {
        rejected.push({ url: job.url, rule: 'domain_opted_out', reason: `${job.origin} asked not to be crawled.` });
        continue;
      }
      // Where robots.txt is known already, apply it now; otherwise the robots worker does once it has fetched it.
      if (host && host.robots_status !== null && host.robots_status !== 'unreachable') {
        let rule = rules.get(job.origin);
        if (!rule) {
          rule = robotsRules(job.origin, host.robots_status, host.robots_txt);
          rules.set(job.origin, rule);
        }
        if (!rule.isAllowed(job.url)) {
          rejected.push({ url: job.url, rule: 'robots_disallowed', reason: 'robots.txt disallows this path.' });
          continue;
        }
      }
      chunk.push(job);
    }
    if (chunk.length === 0) continue;
    const rows = await tx.query(
      `insert into jobs (campaign_id, url, origin, depth, copies_wanted, open_slots)
       select $1, u, o, d, 1, 1 from unnest($2::text[], $3::text[], $4::int[]) as t(u, o, d)
       on conflict (campaign_id, url) where audit_of_page is null and for_device is null do nothing
       returning id`,
      [campaignId, chunk.map((job) => job.url), chunk.map((job) => job.origin), chunk.map((job) => job.depth)],
    );
    added += rows.length;
  }
  if (options.recordRefusals && rejected.length > 0) {
    // Links found while crawling have no one to hear a refusal: keep it as a failed job the buyer sees.
    const depthOf = new Map(jobs.map((job) => [job.url, job.depth]));
    await tx.query(
      `insert into jobs (campaign_id, url, origin, depth, copies_wanted, open_slots, state, failure_reason)
       select $1, u, o, d, 1, 0, 'failed', r from unnest($2::text[], $3::text[], $4::int[], $5::text[]) as t(u, o, d, r)
       on conflict (campaign_id, url) where audit_of_page is null and for_device is null do nothing`,
      [
        campaignId,
        rejected.map((entry) => entry.url),
        rejected.map((entry) => new URL(entry.url).origin),
        rejected.map((entry) => depthOf.get(entry.url) ?? 0),
        rejected.map((entry) => `${entry.rule}: ${entry.reason}`),
      ],
    );
  }
  return { added, rejected };
}

export function campaignService(db: Database, settings: ScrapingSettings) {
  return {
    /** Creates a campaign for a buyer from URLs and seeds; every refused URL comes back with its reason. */
    async create(buyerId: string, input: CampaignInput): Promise<CampaignCreated> {
      const vetted = await vetUrls([...input.urls, ...input.seeds], settings);
      const id = randomUUID();
      await db.query(
        `insert into campaigns (id, buyer_id, name, keep_raw_html, max_depth, max_pages) values ($1, $2, $3, $4, $5, $6)`,
        [
          id,
          buyerId,
          input.name,
          input.keepRawHtml,
          input.followLinks?.maxDepth ?? 0,
          input.followLinks?.maxPages ?? null,
        ],
      );
      const capped = input.followLinks ? vetted.accepted.slice(0, input.followLinks.maxPages) : vetted.accepted;
      const { added, rejected } = await enqueueInChunks(db, id, capped, settings);
      const campaign = await this.get(buyerId, id);
      if (!campaign) throw new Error('campaign vanished after insert');
      return {
        campaign,
        accepted: added,
        duplicates: vetted.duplicates,
        rejected: [...vetted.rejected, ...rejected],
      };
    },

    /**
     * Adds URLs to a buyer's campaign (vetted like those it was created with, within its page cap);
     * undefined when the campaign is not theirs. URLs it has already count as duplicates.
     */
    async addUrls(buyerId: string, id: string, urls: readonly string[]): Promise<CampaignUrlsAdded | undefined> {
      const owned = await db.query<{ max_pages: number | null }>(
        'select max_pages from campaigns where id = $1 and buyer_id = $2',
        [id, buyerId],
      );
      const campaign = owned[0];
      if (!campaign) return undefined;
      const vetted = await vetUrls(urls, settings);
      const known = new Set(
        (
          await db.query<{ url: string }>('select url from jobs where campaign_id = $1 and url = any($2::text[])', [
            id,
            vetted.accepted.map((job) => job.url),
          ])
        ).map((row) => row.url),
      );
      const fresh = vetted.accepted.filter((job) => !known.has(job.url));
      let room = fresh.length;
      if (campaign.max_pages !== null) {
        // Like link following, the page cap is counted without a lock: two requests at once may pass it by a little.
        const count = await db.query<{ count: number }>(
          'select count(*)::int as count from jobs where campaign_id = $1',
          [id],
        );
        room = Math.max(0, campaign.max_pages - (count[0]?.count ?? 0));
      }
      const full: RejectedUrl[] = fresh.slice(room).map((job) => ({
        url: job.url,
        rule: 'campaign_full',
        reason: `The campaign already has its maxPages (${campaign.max_pages}) pages.`,
      }));
      const { added, rejected } = await enqueueInChunks(db, id, fresh.slice(0, room), settings);
      return {
        accepted: added,
        duplicates: vetted.duplicates + known.size + (fresh.slice(0, room).length - added - rejected.length),
        rejected: [...vetted.rejected, ...rejected, ...full],
      };
    },

    /** Stored pages of a buyer's campaign after a page id; undefined when the campaign is not theirs. */
    async pages(
      buyerId: string,
      id: string,
      query: { after: number; limit: number },
    ): Promise<{ pages: StoredPage[]; next: number | null } | undefined> {
      const owned = await db.query('select 1 from campaigns where id = $1 and buyer_id = $2', [id, buyerId]);
      if (owned.length === 0) return undefined;
      const rows = await db.query<{
        id: number;
        url: string;
        final_url: string;
        fetched_at: Date;
        title: string;
        text: string;
        lang: string | null;
        text_sha256: string;
        device: string;
        verification: StoredPage['verification'];
      }>(
        `select id::float8 as id, url, final_url, fetched_at, title, text, lang, text_sha256, device, verification
           from pages where campaign_id = $1 and id > $2 order by id limit $3`,
        [id, query.after, query.limit],
      );
      return {
        pages: rows.map((row) => ({
          id: row.id,
          url: row.url,
          finalUrl: row.final_url,
          fetchedAt: row.fetched_at.toISOString(),
          title: row.title,
          text: row.text,
          lang: row.lang,
          textSha256: row.text_sha256,
          device: row.device,
          verification: row.verification,
        })),
        next: rows.length === query.limit ? (rows.at(-1)?.id ?? null) : null,
      };
    },

    /** A campaign with its progress, or undefined when it is not this buyer's. */
    async get(buyerId: string, id: string): Promise<Campaign | undefined> {
      const rows = await db.query<{
        id: string;
        name: string;
        created_at: Date;
        keep_raw_html: boolean;
        max_depth: number;
        max_pages: number | null;
      }>('select * from campaigns where id = $1 and buyer_id = $2', [id, buyerId]);
      const row = rows[0];
      if (!row) return undefined;
      const counts = await db.query<{ bucket: string; count: number }>(
        `select case
                  when j.state = 'queued' and exists (
                    select 1 from assignments a where a.job_id = j.id and a.state = 'leased') then 'leased'
                  else j.state end as bucket,
                count(*)::int as count
           from jobs j where j.campaign_id = $1 group by 1`,
        [id],
      );
      const count = (bucket: string) => counts.find((entry) => entry.bucket === bucket)?.count ?? 0;
      const failures = await db.query<{ reason: string; count: number }>(
        `select coalesce(failure_reason, 'unknown') as reason, count(*)::int as count
           from jobs where campaign_id = $1 and state = 'failed' group by 1 order by 2 desc, 1 limit 20`,
        [id],
      );
      return {
        id: row.id,
        name: row.name,
        createdAt: row.created_at.toISOString(),
        keepRawHtml: row.keep_raw_html,
        maxDepth: row.max_depth,
        maxPages: row.max_pages,
        counts: {
          queued: count('queued'),
          leased: count('leased'),
          fetched: count('fetched'),
          verified: count('verified'),
          failed: count('failed'),
        },
        failures,
      };
    },
  };
}
