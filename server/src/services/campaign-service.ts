import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type BuyerListQuery,
  type Campaign,
  type CampaignCreated,
  type CampaignList,
  type CampaignUrlsAdded,
  maxPagesWithHtml,
  type RejectedUrl,
  type StoredPage,
} from '@protocol/campaigns';
import { BaseError } from '@protocol/errors';
import { checkUrl } from '@protocol/url-guard';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { listCursorSql, listNewestFirst } from './list-cursor';
import { pseudonymsFor } from './pseudonyms';
import { robotsRules } from './robots-service';
import { changeWorkState, type WorkAction } from './work-state';

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
  const campaign = await tx.query<{ state: string }>('select state from campaigns where id = $1', [campaignId]);
  const state = campaign[0]?.state ?? 'active';
  // A cancelled campaign takes no more work (links found by its last live leases are dropped); a paused
  // one keeps what it is given, held out of the leasable index until it is resumed.
  if (state === 'cancelled') return { added: 0, rejected: [] };
  const held = state !== 'active';
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
      `insert into jobs (campaign_id, url, origin, depth, copies_wanted, open_slots, held)
       select $1, u, o, d, 1, 1, $5 from unnest($2::text[], $3::text[], $4::int[]) as t(u, o, d)
       on conflict (campaign_id, url) where audit_of_page is null and for_device is null do nothing
       returning id`,
      [campaignId, chunk.map((job) => job.url), chunk.map((job) => job.origin), chunk.map((job) => job.depth), held],
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

/** A buyer's control over a campaign: `POST /v1/campaigns/:id/pause|resume|cancel`. */
export type CampaignAction = WorkAction;

/**
 * Jobs held or released per statement when a campaign is paused, resumed or cancelled: each chunk
 * commits on its own and the event loop runs between chunks, so a campaign of a million jobs never
 * holds PGlite's one connection (or many row locks) for long. The campaign's state changes first and
 * is what leasing obeys, so a pause takes effect at once; a chunk that finds the state changed again
 * (a resume racing a pause) touches nothing, so the last word wins.
 */
const holdChunk = 1000;

/** Holds (or releases) a chunk of the campaign's unfinished jobs while its state still asks for it; returns how many. */
async function holdJobs(db: Database, campaignId: string, hold: boolean): Promise<number> {
  const rows = await db.query(
    `update jobs set held = $2
      where id in (select id from jobs where campaign_id = $1 and held <> $2 and state in ('queued', 'fetched')
                    order by id limit $3)
        and exists (select 1 from campaigns c where c.id = $1 and (c.state = 'active') <> $2)
      returning 1`,
    [campaignId, hold, holdChunk],
  );
  return rows.length;
}

/**
 * Cancels a chunk of the campaign's unfinished jobs: queued jobs fail as `campaign_cancelled` (kept
 * for the record), fetched ones keep their pages; all are held and take no further lease. Leases
 * already out may still deliver: ingest stores and pays those pages, it never re-opens the job.
 */
async function cancelJobs(db: Database, campaignId: string): Promise<number> {
  const rows = await db.query(
    `update jobs set held = true, open_slots = 0,
            state = case when state = 'queued' then 'failed' else state end,
            failure_reason = case when state = 'queued' then $2 else failure_reason end
      where id in (select id from jobs where campaign_id = $1 and (state = 'queued' or (state = 'fetched' and not held))
                    order by id limit $3)
      returning 1`,
    [campaignId, cancelledReason, holdChunk],
  );
  return rows.length;
}

/** The failure reason of jobs a cancellation ended before they were fetched. */
export const cancelledReason = 'campaign_cancelled: the buyer cancelled the campaign before this page was fetched';

interface CampaignRow {
  id: string;
  name: string;
  created_at: Date;
  cursor: string;
  state: 'active' | 'paused' | 'cancelled';
  keep_raw_html: boolean;
  max_depth: number;
  max_pages: number | null;
}

const campaignColumns = `id, name, created_at, ${listCursorSql('created_at')} as cursor, state, keep_raw_html, max_depth, max_pages`;

/**
 * Campaign records with their progress for any number of campaigns in two queries (counts by bucket,
 * and the top failure reasons per campaign), never one query per campaign.
 */
async function withProgress(db: Database, rows: readonly CampaignRow[]): Promise<Campaign[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  // `busy` counts what keeps a campaign from being complete: work not yet handed out, or out on a lease.
  const counts = await db.query<{ campaign_id: string; bucket: string; count: number; busy: number }>(
    `select j.campaign_id::text as campaign_id,
            case when j.state = 'queued' and live.any then 'leased' else j.state end as bucket,
            count(*)::int as count,
            count(*) filter (where j.state = 'queued' or (j.state = 'fetched' and j.open_slots > 0) or live.any)::int as busy
       from jobs j
       cross join lateral (select exists (select 1 from assignments a where a.job_id = j.id and a.state = 'leased') as any) live
      where j.campaign_id = any($1::uuid[]) group by 1, 2`,
    [ids],
  );
  const failures = await db.query<{ campaign_id: string; reason: string; count: number }>(
    `select campaign_id, reason, count from (
       select campaign_id::text as campaign_id, coalesce(failure_reason, 'unknown') as reason, count(*)::int as count,
              row_number() over (partition by campaign_id order by count(*) desc, coalesce(failure_reason, 'unknown')) as rank
         from jobs where campaign_id = any($1::uuid[]) and state = 'failed'
        group by jobs.campaign_id, coalesce(failure_reason, 'unknown')) ranked
      where rank <= 20 order by campaign_id, count desc, reason`,
    [ids],
  );
  return rows.map((row) => {
    const mine = counts.filter((entry) => entry.campaign_id === row.id);
    const count = (bucket: string) => mine.find((entry) => entry.bucket === bucket)?.count ?? 0;
    const busy = mine.reduce((sum, entry) => sum + entry.busy, 0);
    return {
      id: row.id,
      name: row.name,
      createdAt: row.created_at.toISOString(),
      // Complete is derived, not stored: ingest, lease expiry, the robots worker and added URLs all
      // change what is left, and none of them has to remember to update the campaign.
      state: row.state === 'active' && busy === 0 ? 'complete' : row.state,
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
      failures: failures
        .filter((entry) => entry.campaign_id === row.id)
        .map((entry) => ({ reason: entry.reason, count: entry.count })),
    };
  });
}

interface PageRow {
  id: number;
  url: string;
  final_url: string;
  http_status: number;
  content_type: string;
  fetched_at: Date;
  title: string;
  text: string;
  lang: string | null;
  text_sha256: string;
  device: string;
  verification: StoredPage['verification'];
  links: string | null;
  has_html: boolean;
  html: string | null;
}

/** The page columns a buyer reads; the HTML itself only when asked for (it may be megabytes a page). */
const pageColumns = (withHtml: boolean) =>
  `id::float8 as id, url, final_url, http_status, content_type, fetched_at, title, text, lang, text_sha256, device,
   verification, links::text as links, html is not null as has_html, ${withHtml ? 'html' : 'null::text as html'}`;

const toStoredPage = (row: PageRow, pseudonym: (device: string) => string): StoredPage => ({
  id: row.id,
  url: row.url,
  finalUrl: row.final_url,
  httpStatus: row.http_status,
  contentType: row.content_type,
  fetchedAt: row.fetched_at.toISOString(),
  title: row.title,
  text: row.text,
  lang: row.lang,
  textSha256: row.text_sha256,
  device: pseudonym(row.device),
  verification: row.verification,
  // Pages stored before links were kept have none recorded.
  links: row.links === null ? [] : (JSON.parse(row.links) as string[]),
  hasHtml: row.has_html,
  html: row.html,
});

export function campaignService(db: Database, settings: ScrapingSettings) {
  const owned = async (buyerId: string, id: string) =>
    (await db.query('select 1 from campaigns where id = $1 and buyer_id = $2', [id, buyerId])).length > 0;

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
      const maxPages = input.followLinks?.maxPages;
      const capped = maxPages === undefined ? vetted.accepted : vetted.accepted.slice(0, maxPages);
      // Past the page cap, as adding URLs later says: every URL sent comes back accepted or with its reason.
      const full: RejectedUrl[] = vetted.accepted.slice(capped.length).map((job) => ({
        url: job.url,
        rule: 'campaign_full',
        reason: `The campaign already has its maxPages (${maxPages}) pages.`,
      }));
      const { added, rejected } = await enqueueInChunks(db, id, capped, settings);
      const campaign = await this.get(buyerId, id);
      if (!campaign) throw new Error('campaign vanished after insert');
      return {
        campaign,
        accepted: added,
        duplicates: vetted.duplicates,
        rejected: [...vetted.rejected, ...rejected, ...full],
      };
    },

    /**
     * Adds URLs to a buyer's campaign (vetted like those it was created with, within its page cap);
     * undefined when the campaign is not theirs. URLs it has already count as duplicates.
     */
    async addUrls(buyerId: string, id: string, urls: readonly string[]): Promise<CampaignUrlsAdded | undefined> {
      const owned = await db.query<{ max_pages: number | null; state: string }>(
        'select max_pages, state from campaigns where id = $1 and buyer_id = $2',
        [id, buyerId],
      );
      const campaign = owned[0];
      if (!campaign) return undefined;
      if (campaign.state === 'cancelled') {
        throw new BaseError('conflict', `Campaign ${id} is cancelled: it takes no more URLs.`, {
          details: { state: 'cancelled' },
        });
      }
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
      query: { after: number; limit: number; include?: 'html' | undefined },
    ): Promise<{ pages: StoredPage[]; next: number | null } | undefined> {
      if (!(await owned(buyerId, id))) return undefined;
      const withHtml = query.include === 'html';
      const limit = withHtml ? Math.min(query.limit, maxPagesWithHtml) : query.limit;
      const rows = await db.query<PageRow>(
        `select ${pageColumns(withHtml)} from pages where campaign_id = $1 and id > $2 order by id limit $3`,
        [id, query.after, limit],
      );
      const pseudonym = await pseudonymsFor(db, 'campaigns', id);
      return {
        pages: rows.map((row) => toStoredPage(row, pseudonym)),
        next: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
      };
    },

    /** One stored page with its raw HTML (when kept); undefined when the campaign is not theirs or has no such page. */
    async page(buyerId: string, id: string, pageId: number): Promise<StoredPage | undefined> {
      const rows = await db.query<PageRow>(
        `select ${pageColumns(true)} from pages
          where id = $3 and campaign_id = $1 and exists (select 1 from campaigns c where c.id = $1 and c.buyer_id = $2)`,
        [id, buyerId, pageId],
      );
      return rows[0] ? toStoredPage(rows[0], await pseudonymsFor(db, 'campaigns', id)) : undefined;
    },

    /** A campaign with its progress, or undefined when it is not this buyer's. */
    async get(buyerId: string, id: string): Promise<Campaign | undefined> {
      const rows = await db.query<CampaignRow>(
        `select ${campaignColumns} from campaigns where id = $1 and buyer_id = $2`,
        [id, buyerId],
      );
      return (await withProgress(db, rows))[0];
    },

    /** The buyer's campaigns, newest first, keyset paged by (created_at, id). */
    async list(buyerId: string, query: BuyerListQuery): Promise<CampaignList> {
      const page = await listNewestFirst<CampaignRow>(db, 'campaigns', campaignColumns, { buyerId, ...query });
      return { campaigns: await withProgress(db, page.rows), next: page.next };
    },

    /**
     * Pauses, resumes or cancels a buyer's campaign and returns it; undefined when it is not theirs.
     * Pausing or resuming twice is harmless; a cancelled campaign stays cancelled (409 to resume or pause it).
     */
    async control(buyerId: string, id: string, action: CampaignAction): Promise<Campaign | undefined> {
      const target = await changeWorkState(db, 'campaigns', { id, buyerId, action });
      if (target === null) return undefined;
      for (;;) {
        const done = target === 'cancelled' ? await cancelJobs(db, id) : await holdJobs(db, id, target === 'paused');
        if (done < holdChunk) break;
        await yieldToEventLoop();
      }
      return this.get(buyerId, id);
    },
  };
}
