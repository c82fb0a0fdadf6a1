import robotsParser from 'robots-parser';
import type { Database, Queryable } from '../db/database';
import { type Resolver, safeFetch } from '../net/safe-fetch';
import type { ScrapingSettings } from '../scraping-settings';

/** The product token robots.txt groups are matched against (falling back to `*`). */
const robotsUserAgent = 'GleanerBot';

/** RFC 9309 §2.5: crawlers must parse at least 500 KiB; the rest is cut off while streaming. */
const maxRobotsBytes = 500 * 1024;
const robotsTimeoutMs = 10_000;
/** RFC 9309 §2.3.1.3: an unreachable robots.txt means "disallow all" for a while; try again after this. */
const unreachableRetrySeconds = 10 * 60;

type RobotsFetch =
  | { status: 'parsed'; body: string }
  | { status: 'allow_all'; body: null }
  | { status: 'unreachable'; body: null; detail: string };

/**
 * Fetches an origin's robots.txt from the server through `safeFetch` (URL rules and a public-address
 * check on every hop, at most five redirects, RFC 9309 §2.3.1.2), so a campaign cannot point the
 * server at a private network. RFC 9309: 4xx means no restrictions; 5xx or no answer means disallow
 * all until retried. `lookup` replaces the system resolver in tests.
 */
export async function fetchRobotsTxt(
  origin: string,
  settings: ScrapingSettings,
  lookup?: Resolver,
): Promise<RobotsFetch> {
  const fetched = await safeFetch(`${origin}/robots.txt`, {
    maxBytes: maxRobotsBytes,
    timeoutMs: robotsTimeoutMs,
    maxRedirects: 5,
    onTooLarge: 'truncate',
    allowedTestOrigins: settings.testOrigins,
    headers: { 'user-agent': `${robotsUserAgent}/0.1 (+robots.txt check)` },
    lookup,
  });
  if (!fetched.ok) return { status: 'unreachable', body: null, detail: `${fetched.code}: ${fetched.detail}` };
  if (fetched.status >= 400 && fetched.status < 500) return { status: 'allow_all', body: null };
  if (fetched.status < 200 || fetched.status >= 300) {
    return { status: 'unreachable', body: null, detail: `HTTP ${fetched.status}` };
  }
  // A line cut at the cap could read as a shorter, broader rule ("Allow: /pub" of "Allow: /public/"): drop it.
  const lineEnd = Math.max(fetched.body.lastIndexOf(0x0a), fetched.body.lastIndexOf(0x0d));
  const complete = fetched.truncated ? fetched.body.subarray(0, lineEnd + 1) : fetched.body;
  return { status: 'parsed', body: new TextDecoder().decode(complete) };
}

export interface RobotsRules {
  isAllowed: (url: string) => boolean;
  crawlDelaySeconds: number | undefined;
}

/** The rules of a stored robots.txt: parsed, allow-all (4xx), or nothing allowed (not fetched or unreachable). */
export function robotsRules(origin: string, status: string | null, body: string | null): RobotsRules {
  if (status === 'parsed' && body !== null) {
    const robots = robotsParser(`${origin}/robots.txt`, body);
    return {
      isAllowed: (url: string) => robots.isAllowed(url, robotsUserAgent) !== false,
      crawlDelaySeconds: robots.getCrawlDelay(robotsUserAgent),
    };
  }
  return { isAllowed: () => status === 'allow_all', crawlDelaySeconds: undefined };
}

/**
 * Fetches robots.txt for every origin that has none yet (or whose fetch failed long enough ago),
 * then fails the queued jobs it disallows. Returns how many origins it handled.
 */
export async function processPendingRobots(db: Database, settings: ScrapingSettings, limit = 20): Promise<number> {
  const origins = await db.query<{ origin: string }>(
    `select origin from hosts
      where robots_status is null
         or (robots_status = 'unreachable' and robots_fetched_at < now() - make_interval(secs => $1))
      order by origin limit $2`,
    [unreachableRetrySeconds, limit],
  );
  for (const { origin } of origins) {
    const fetched = await fetchRobotsTxt(origin, settings);
    const rules = robotsRules(origin, fetched.status, fetched.body);
    const delayMs = Math.max(settings.politenessMs, Math.round((rules.crawlDelaySeconds ?? 0) * 1000));
    await db.transaction(async (tx) => {
      await tx.query(
        `update hosts set robots_status = $2, robots_txt = $3, robots_fetched_at = now(), crawl_delay_ms = $4
          where origin = $1`,
        [origin, fetched.status, fetched.body, Math.min(delayMs, 600_000)],
      );
      if (fetched.status !== 'unreachable') await failDisallowedJobs(tx, origin, rules.isAllowed);
    });
  }
  return origins.length;
}

/** Marks the queued jobs of an origin that robots.txt disallows as failed, with that reason. */
async function failDisallowedJobs(tx: Queryable, origin: string, isAllowed: (url: string) => boolean): Promise<void> {
  const queued = await tx.query<{ id: string; url: string }>(
    `select id::text as id, url from jobs where origin = $1 and state = 'queued'`,
    [origin],
  );
  const disallowed = queued.filter((job) => !isAllowed(job.url)).map((job) => job.id);
  if (disallowed.length === 0) return;
  await tx.query(
    `update jobs set state = 'failed', open_slots = 0, failure_reason = 'robots_disallowed: robots.txt disallows this path'
      where id = any($1::bigint[])`,
    [disallowed],
  );
}
