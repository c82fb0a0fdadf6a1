import { lookup } from 'node:dns/promises';
import { checkUrl, classifyIp } from '@protocol/url-guard';
import robotsParser from 'robots-parser';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';

/** The product token robots.txt groups are matched against (falling back to `*`). */
const robotsUserAgent = 'GleanerBot';

const maxRobotsBytes = 500 * 1024;
/** RFC 9309 §2.3.1.3: an unreachable robots.txt means "disallow all" for a while; try again after this. */
const unreachableRetrySeconds = 10 * 60;

type RobotsFetch =
  | { status: 'parsed'; body: string }
  | { status: 'allow_all'; body: null }
  | { status: 'unreachable'; body: null; detail: string };

/**
 * Fetches an origin's robots.txt from the server, with the same URL rules as the devices plus a
 * DNS check of the resolved address, so a campaign cannot point the server at a private network.
 * RFC 9309: 4xx means no restrictions; 5xx or no answer means disallow all until retried.
 */
async function fetchRobotsTxt(origin: string, settings: ScrapingSettings): Promise<RobotsFetch> {
  const url = `${origin}/robots.txt`;
  const verdict = checkUrl(url, { allowedTestOrigins: settings.testOrigins });
  if (!verdict.ok) return { status: 'unreachable', body: null, detail: verdict.reason };
  const { hostname } = new URL(url);
  if (!settings.testOrigins.includes(origin)) {
    try {
      const addresses = await lookup(hostname.replace(/^\[|\]$/g, ''), { all: true });
      const unsafe = addresses.find((address) => classifyIp(address.address) !== 'public');
      if (unsafe) return { status: 'unreachable', body: null, detail: `${hostname} resolves to ${unsafe.address}` };
    } catch (error) {
      return { status: 'unreachable', body: null, detail: `DNS: ${(error as Error).message}` };
    }
  }
  try {
    let target = url;
    // Follow up to five redirects by hand, re-checking each hop (RFC 9309 §2.3.1.2).
    for (let hop = 0; hop <= 5; hop += 1) {
      const response = await fetch(target, {
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
        headers: { 'user-agent': `${robotsUserAgent}/0.1 (+robots.txt check)` },
      });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        target = new URL(location, target).href;
        const hopVerdict = checkUrl(target, { allowedTestOrigins: settings.testOrigins });
        if (!hopVerdict.ok) return { status: 'unreachable', body: null, detail: `redirect: ${hopVerdict.reason}` };
        continue;
      }
      if (response.status >= 400 && response.status < 500) return { status: 'allow_all', body: null };
      if (!response.ok) return { status: 'unreachable', body: null, detail: `HTTP ${response.status}` };
      const bytes = new Uint8Array(await response.arrayBuffer()).slice(0, maxRobotsBytes);
      return { status: 'parsed', body: new TextDecoder().decode(bytes) };
    }
    return { status: 'unreachable', body: null, detail: 'too many redirects' };
  } catch (error) {
    return { status: 'unreachable', body: null, detail: (error as Error).message };
  }
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
