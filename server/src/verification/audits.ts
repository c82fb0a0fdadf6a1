import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/database';
import { ledgerRepository } from '../repositories/ledger-repository';
import { pagePoints } from '../services/points-rules';
import {
  type AuditSettings,
  auditRate,
  auditsToDraw,
  nextTrust,
  passesToVerify,
  trustPerPass,
  trustToVerify,
} from './audit-rules';
import { sameContent } from './similarity';

/** A page ingest has just stored (not a surplus copy), with what verification needs to know of its job. */
export interface NewPage {
  pageId: string;
  jobId: string;
  url: string;
  text: string;
  textSha256: string;
  /** The job's known text hash when it is a canary. */
  canarySha256: string | null;
  /** The page this copy audits, when the job is an audit job. */
  auditOfPage: string | null;
  /** When the device was given the job (a canary counts as a check drawn then). */
  leasedAt: Date;
}

/** A check's outcome for a device, applied at the end of the transaction in device order. */
export interface CheckOutcome {
  device: string;
  passed: boolean;
  /** Why the pool is rejected, in words that name the check (failures only). */
  reason?: string;
}

const byDevice = (a: CheckOutcome, b: CheckOutcome) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);

/**
 * Verification of the pages a device just uploaded, inside ingest's transaction: credits each page
 * pending, checks canaries and audit copies at once, and draws new audits from the device's pending
 * pool. Returns the checks whose effects (trust, verifying or rejecting pools) `applyChecks` applies last.
 */
export async function verifyNewPages(
  tx: Queryable,
  device: string,
  pages: readonly NewPage[],
  settings: AuditSettings,
): Promise<CheckOutcome[]> {
  const random = settings.random ?? Math.random;
  if (pages.length === 0) return [];
  const ledger = ledgerRepository(tx);
  const outcomes: CheckOutcome[] = [];
  const reference = (page: NewPage) => `scrape:${page.jobId}:${device}`;
  const kindOf = (page: NewPage) =>
    page.canarySha256 !== null ? 'canary' : page.auditOfPage !== null ? 'audit' : 'scrape';
  for (const reason of ['scrape', 'audit', 'canary'] as const) {
    await ledger.creditManyPending(
      device,
      reason,
      pages.filter((page) => kindOf(page) === reason).map((page) => ({ reference: reference(page), url: page.url })),
      pagePoints,
    );
  }
  const ordinary = pages.filter((page) => kindOf(page) === 'scrape').length;
  for (const page of pages) {
    if (page.canarySha256 !== null) {
      // A canary is a page of the pool like any other (a passed one waits for audits too, so a device
      // cannot earn by answering checks alone); its known text makes it a check drawn when it was leased.
      const passed = page.canarySha256 === page.textSha256;
      const reason = `a check of ${page.url} failed: the text you uploaded is not the page's known text; your pending pages are rejected`;
      await tx.query(
        `insert into audits (kind, page_id, device, drawn_at, state, checked_by, reason, settled_at)
         values ('canary', $1::bigint, $2, $3, $4, 'canary', $5, now())`,
        [page.pageId, device, page.leasedAt, passed ? 'passed' : 'failed', passed ? null : reason],
      );
      outcomes.push({ device, passed, reason });
    } else if (page.auditOfPage !== null) {
      outcomes.push(...(await checkAuditCopy(tx, device, page, random() < settings.spotCheckRate)));
    }
  }
  if (ordinary > 0) {
    const standing = await tx.query<{ trust: number; passes: number }>(
      `select d.trust, (select count(*)::int from (select 1 from audits a where a.device = d.address and a.state = 'passed'
                                                     limit $2) as enough) as passes
         from devices d where d.address = $1`,
      [device, settings.newDeviceAudits],
    );
    const rate = auditRate(standing[0]?.trust ?? 0.5, standing[0]?.passes ?? 0, settings);
    await drawAudits(tx, device, auditsToDraw(ordinary, rate, random), random);
  }
  return outcomes;
}

/**
 * An audit copy arrived: compare it with the audited page. The same page → the audit passed (and the
 * copy, matching another device's fetch, is verified). Different → disputed: the server fetches the
 * page itself to tell which copy is wrong (see `settleWithServerFetch`).
 */
async function checkAuditCopy(
  tx: Queryable,
  auditor: string,
  copy: NewPage,
  spotCheck: boolean,
): Promise<CheckOutcome[]> {
  const rows = await tx.query<{ id: string; device: string; state: string; text: string; url: string }>(
    `select a.id::text as id, a.device, a.state, p.text, p.url from audits a join pages p on p.id = a.page_id
      where a.job_id = $1::bigint for update of a`,
    [copy.jobId],
  );
  const audit = rows[0];
  if (audit?.state !== 'open') return [];
  const { same, similarity } = sameContent(audit.text, copy.text);
  // Agreeing copies are also judged by the server now and then: two devices that agree on made-up
  // text (one person's two devices, say) both fail against the page itself.
  if (!same || spotCheck) {
    await tx.query(`update audits set state = 'disputed', similarity = $2, checked_by = $3 where id = $1::bigint`, [
      audit.id,
      similarity,
      `device:${auditor}`,
    ]);
    return [];
  }
  await tx.query(
    `update audits set state = 'passed', similarity = $2, checked_by = $3, settled_at = now() where id = $1::bigint`,
    [audit.id, similarity, `device:${auditor}`],
  );
  // The auditor's copy is a page of its own pool: it waits for the auditor's audits like any other.
  return [{ device: audit.device, passed: true }];
}

/** Draws `count` audits uniformly at random from the device's pending pool, each leased to another device as an ordinary-looking job. */
export async function drawAudits(
  tx: Queryable,
  device: string,
  count: number,
  random: () => number = Math.random,
): Promise<number> {
  if (count <= 0) return 0;
  const pool = await tx.query<{ id: string }>(
    `select p.id::text as id from pages p
      where p.device = $1 and p.verification = 'unverified'
        and not exists (select 1 from audits a where a.page_id = p.id and a.state <> 'void')
      order by p.id`,
    [device],
  );
  // A uniform draw without replacement (partial Fisher-Yates), with the caller's randomness.
  const ids = pool.map((row) => row.id);
  const take = Math.min(count, ids.length);
  for (let i = 0; i < take; i += 1) {
    const k = i + Math.floor(random() * (ids.length - i));
    [ids[i], ids[k]] = [ids[k] as string, ids[i] as string];
  }
  const drawn = await tx.query<{
    page_id: string;
    url: string;
    origin: string;
    keep_raw_html: boolean;
    collect_links: boolean;
  }>(
    `select p.id::text as page_id, j.url, j.origin, c.keep_raw_html, (j.depth < c.max_depth) as collect_links
       from pages p join jobs j on j.id = p.job_id join campaigns c on c.id = j.campaign_id
      where p.id = any($1::text[]::bigint[]) order by p.id`,
    [ids.slice(0, take)],
  );
  if (drawn.length === 0) return 0;
  const campaignId = await systemCampaign(tx, 'audits');
  // One statement for all the audit jobs and their audits (ingest is the hot path).
  await tx.query(
    `with job as (
       insert into jobs (campaign_id, url, origin, depth, copies_wanted, open_slots, audit_of_page, not_for_device,
                         keep_raw_html, collect_links)
       select $1, t.url, t.origin, 0, 1, 1, t.page_id::bigint, $2, t.keep::boolean, t.links::boolean
         from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as t(page_id, url, origin, keep, links)
       returning id, audit_of_page)
     insert into audits (kind, page_id, device, job_id) select 'audit', audit_of_page, $2, id from job`,
    [
      campaignId,
      device,
      drawn.map((page) => page.page_id),
      drawn.map((page) => page.url),
      drawn.map((page) => page.origin),
      drawn.map((page) => String(page.keep_raw_html)),
      drawn.map((page) => String(page.collect_links)),
    ],
  );
  return drawn.length;
}

/** The one campaign (no buyer) that holds the server's own jobs of a kind, made on first use. */
async function systemCampaign(tx: Queryable, name: 'audits'): Promise<string> {
  const existing = await tx.query<{ id: string }>(`select id from campaigns where buyer_id is null and name = $1`, [
    name,
  ]);
  if (existing[0]) return existing[0].id;
  const id = randomUUID();
  await tx.query(`insert into campaigns (id, buyer_id, name) values ($1, null, $2)`, [id, name]);
  return id;
}

/**
 * Applies checks in device order, each under its device's row lock (devices come after jobs and hosts
 * in the global lock order): trust moves; a pass verifies every pending page with `passesToVerify`
 * passed audits drawn after it; a failure rejects the whole pending pool with the reason.
 */
export async function applyChecks(tx: Queryable, checks: readonly CheckOutcome[]): Promise<void> {
  if (checks.length === 0) return;
  const sorted = [...checks].sort(byDevice);
  await tx.query('select 1 from devices where address = any($1::text[]) order by address for no key update', [
    [...new Set(sorted.map((check) => check.device))],
  ]);
  for (const check of sorted) {
    const rows = await tx.query<{ trust: number }>('select trust from devices where address = $1', [check.device]);
    await tx.query('update devices set trust = $2 where address = $1', [
      check.device,
      nextTrust(rows[0]?.trust ?? 0.5, check.passed),
    ]);
    if (check.passed) await verifyCertifiedPages(tx, check.device);
    else await rejectPendingPool(tx, check.device, check.reason ?? 'a check of your work failed');
  }
}

/**
 * Verifies the device's pending pages that passed an audit themselves, or have `passesToVerify`
 * passed audits drawn after their upload, while the device's trust is at least `trustToVerify`.
 */
async function verifyCertifiedPages(tx: Queryable, device: string): Promise<void> {
  const verified = await tx.query<{ job_id: string }>(
    `update pages set verification = 'verified'
      where device = $1 and verification = 'unverified'
        and (select trust from devices where address = $1) >= $3
        -- An audit still under way may yet fail and reject the pool: nothing is verified before it is settled.
        and not exists (select 1 from audits where device = $1 and state in ('open', 'disputed'))
        and (received_at < (select drawn_at from audits where device = $1 and state = 'passed'
                             order by drawn_at desc offset $2 limit 1)
             or exists (select 1 from audits a where a.page_id = pages.id and a.state = 'passed'))
      returning job_id::text as job_id`,
    [device, passesToVerify - 1, trustToVerify],
  );
  if (verified.length === 0) return;
  await ledgerRepository(tx).settleMany(
    verified.map((row) => `scrape:${row.job_id}:${device}`),
    'verified',
  );
  await markJobsVerified(
    tx,
    verified.map((row) => row.job_id),
  );
}

/** A failed check rejects everything of the device still pending: all of it came after its last failure. */
async function rejectPendingPool(tx: Queryable, device: string, reason: string): Promise<void> {
  const rejected = await tx.query<{ job_id: string }>(
    `update pages set verification = 'rejected' where device = $1 and verification = 'unverified'
      returning job_id::text as job_id`,
    [device],
  );
  await ledgerRepository(tx).settleMany(
    rejected.map((row) => `scrape:${row.job_id}:${device}`),
    'rejected',
    reason,
  );
}

/** Jobs whose page is verified are done. Skips jobs another transaction holds (jobs come before devices in the lock order). */
async function markJobsVerified(tx: Queryable, jobIds: readonly string[]): Promise<void> {
  await tx.query(
    `update jobs set state = 'verified', open_slots = 0
      where id in (select id from jobs where id = any($1::text[]::bigint[]) and state = 'fetched'
                    order by id for no key update skip locked)`,
    [jobIds],
  );
}

/** What the server's own fetch of a page gave: its text, or why there is none. */
export type ServerFetch = { ok: true; text: string } | { ok: false; detail: string };

/**
 * Settles audits no other device delivered in time, and disputed ones, by fetching the page on the
 * server: the audited page passes if it is the same page as the server's copy; in a dispute the
 * auditor's copy is judged the same way. A fetch that fails voids the audit (the pool draws another).
 */
export async function settleWithServerFetch(
  db: Database,
  settings: AuditSettings,
  fetchText: (url: string) => Promise<ServerFetch>,
  limit = 20,
): Promise<number> {
  const due = await db.query<{ id: string; url: string }>(
    `select a.id::text as id, p.url from audits a join pages p on p.id = a.page_id
      where a.kind = 'audit'
        and (a.state = 'disputed'
             or (a.state = 'open' and a.drawn_at <= now() - make_interval(secs => $1)
                 and not exists (select 1 from assignments s where s.job_id = a.job_id and s.state = 'leased'
                                   and s.expires_at > now())))
      order by a.id limit $2`,
    [settings.serverAfterSeconds, limit],
  );
  let settled = 0;
  for (const audit of due) {
    const fetched = await fetchText(audit.url);
    await db.transaction(async (tx) => {
      // Close the audit job first (jobs before devices), so no device takes it once the server has.
      const rows = await tx.query<{
        id: string;
        state: string;
        device: string;
        job_id: string;
        text: string;
        checked_by: string | null;
      }>(
        `select a.id::text as id, a.state, a.device, a.job_id::text as job_id, p.text, a.checked_by
           from audits a join pages p on p.id = a.page_id where a.id = $1::bigint for update of a`,
        [audit.id],
      );
      const row = rows[0];
      if (!row || (row.state !== 'open' && row.state !== 'disputed')) return;
      await tx.query(
        `update jobs set open_slots = 0, state = case when state = 'queued' then 'failed' else state end,
                failure_reason = coalesce(failure_reason, 'audit settled by the server')
          where id = $1::bigint`,
        [row.job_id],
      );
      if (!fetched.ok) {
        const reason = `the server could not fetch the page: ${fetched.detail}`.slice(0, 500);
        // A dispute stays open (it blocks the pool's verification) until the server can judge it;
        // an audit nobody disputed is void, and the pool draws another.
        if (row.state === 'disputed') {
          await tx.query('update audits set reason = $2 where id = $1::bigint', [row.id, reason]);
          return;
        }
        await tx.query(`update audits set state = 'void', reason = $2, settled_at = now() where id = $1::bigint`, [
          row.id,
          reason,
        ]);
        return;
      }
      const checks: CheckOutcome[] = [];
      const verdict = sameContent(fetched.text, row.text);
      await tx.query(
        `update audits set state = $2, similarity = $3, checked_by = 'server', settled_at = now(), reason = $4
          where id = $1::bigint`,
        [
          row.id,
          verdict.same ? 'passed' : 'failed',
          verdict.similarity,
          verdict.same ? null : failureReason(verdict.similarity),
        ],
      );
      checks.push({ device: row.device, passed: verdict.same, reason: failureReason(verdict.similarity) });
      if (row.state === 'disputed' && row.checked_by?.startsWith('device:')) {
        checks.push(...(await judgeAuditorCopy(tx, row.job_id, row.checked_by.slice('device:'.length), fetched.text)));
      }
      await applyChecks(tx, checks);
      settled += 1;
    });
  }
  return settled;
}

const failureReason = (similarity: number) =>
  `an audit of your work failed: another fetch of a page you uploaded found different text (similarity ${similarity.toFixed(2)}); your pending pages are rejected and your trust starts again from zero`;

/** In a dispute, the auditor's copy is a check of the auditor: the same page as the server's passes, else fails. */
async function judgeAuditorCopy(tx: Queryable, jobId: string, auditor: string, serverText: string) {
  const copies = await tx.query<{ id: string; text: string }>(
    `select id::text as id, text from pages where job_id = $1::bigint and device = $2`,
    [jobId, auditor],
  );
  const copy = copies[0];
  if (!copy) return [];
  const verdict = sameContent(serverText, copy.text);
  await tx.query(
    `insert into audits (kind, page_id, device, job_id, state, checked_by, similarity, reason, settled_at)
     values ('audit', $1::bigint, $2, null, $3, 'server', $4, $5, now())`,
    [
      copy.id,
      auditor,
      verdict.same ? 'passed' : 'failed',
      verdict.similarity,
      verdict.same ? null : failureReason(verdict.similarity),
    ],
  );
  return [{ device: auditor, passed: verdict.same, reason: failureReason(verdict.similarity) }];
}

/**
 * A pending pool must settle even when its device stops uploading: devices whose oldest pending page
 * waited `settleAfterSeconds` with no audit under way draw as many audits as their oldest page still
 * needs, from pages not audited yet (so a small quiet pool ends up with each page checked itself).
 */
export async function drawSettlingAudits(db: Database, settings: AuditSettings, limit = 50): Promise<number> {
  const waiting = await db.query<{ device: string; oldest: Date }>(
    `select p.device, min(p.received_at) as oldest
       from pages p
      where p.verification = 'unverified'
        and p.received_at <= now() - make_interval(secs => $1)
        and not exists (select 1 from audits a where a.page_id = p.id and a.state <> 'void')
        and not exists (select 1 from audits a where a.device = p.device and a.state in ('open', 'disputed'))
      group by p.device order by min(p.received_at) limit $2`,
    [settings.settleAfterSeconds, limit],
  );
  let drawn = 0;
  for (const { device, oldest } of waiting) {
    drawn += await db.transaction(async (tx) => {
      const passed = await tx.query<{ n: number }>(
        `select count(*)::int as n from audits where device = $1 and state = 'passed' and drawn_at > $2`,
        [device, oldest],
      );
      return drawAudits(tx, device, Math.max(1, passesToVerify - (passed[0]?.n ?? 0)), settings.random);
    });
  }
  return drawn;
}

/** What a device's pending points wait for, in numbers and words (the popup and options show it). */
export async function pendingExplanation(
  tx: Queryable,
  device: string,
  settings: AuditSettings,
): Promise<{
  pendingPages: number;
  auditsUnderWay: number;
  auditsPassed: number;
  auditsNeeded: number;
  settlesBy: string | null;
  message: string;
} | null> {
  const rows = await tx.query<{
    pending: number;
    oldest: Date | null;
    under_way: number;
    newest_open: Date | null;
    trust: number;
  }>(
    `select (select count(*)::int from pages where device = $1 and verification = 'unverified') as pending,
            (select trust from devices where address = $1) as trust,
            (select min(received_at) from pages where device = $1 and verification = 'unverified') as oldest,
            (select count(*)::int from audits where device = $1 and state in ('open', 'disputed')) as under_way,
            (select max(drawn_at) from audits where device = $1 and state in ('open', 'disputed')) as newest_open`,
    [device],
  );
  const row = rows[0];
  if (!row || row.pending === 0 || !row.oldest) return null;
  const passedRows = await tx.query<{ n: number }>(
    `select count(*)::int as n from audits where device = $1 and state = 'passed' and drawn_at > $2`,
    [device, row.oldest],
  );
  const passed = Math.min(passesToVerify, passedRows[0]?.n ?? 0);
  const from =
    row.newest_open ?? new Date(Math.max(Date.now(), row.oldest.getTime() + settings.settleAfterSeconds * 1000));
  const settlesBy = new Date(from.getTime() + settings.serverAfterSeconds * 1000);
  const pages = `${row.pending} page${row.pending === 1 ? '' : 's'}`;
  const underWay =
    row.under_way > 0
      ? `${row.under_way} audit${row.under_way === 1 ? '' : 's'} of your work ${row.under_way === 1 ? 'is' : 'are'} under way`
      : 'new audits of your work will be drawn soon';
  return {
    pendingPages: row.pending,
    auditsUnderWay: row.under_way,
    auditsPassed: passed,
    auditsNeeded: passesToVerify,
    settlesBy: settlesBy.toISOString(),
    message:
      row.trust < trustToVerify
        ? `${pages} wait for audits: ${underWay}. Your work starts earning once ${Math.ceil((trustToVerify - row.trust) / trustPerPass - 1e-9)} more audits of it pass (a new device, or one that failed an audit, earns after 25 passed audits in a row).`
        : `${pages} wait for audits: ${underWay}; ${passed} of the ${passesToVerify} passed audits your oldest pending page needs are in.`,
  };
}
