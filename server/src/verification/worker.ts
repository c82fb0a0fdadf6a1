import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { drawSettlingAudits, type ServerFetch, settleWithServerFetch } from './audits';
import { checkReportedFailures } from './failure-checks';
import { fetchPageOnServer, type ServerPageFetch } from './server-fetch';

/** The server's own fetch of a page for an audit: the extension's rules and extraction, on the server. */
export function serverPageText(settings: ScrapingSettings): (url: string) => Promise<ServerFetch> {
  const fetchPage = serverPage(settings);
  return async (url) => {
    const fetched = await fetchPage(url);
    return fetched.ok ? { ok: true, text: fetched.text } : { ok: false, detail: `${fetched.code}: ${fetched.detail}` };
  };
}

/** The server's own fetch of a page whose job a device reported failed for good. */
export function serverPage(settings: ScrapingSettings): (url: string) => Promise<ServerPageFetch> {
  return (url) =>
    fetchPageOnServer(url, {
      maxBytes: settings.maxPageBytes,
      timeoutMs: settings.fetchTimeoutMs,
      allowedTestOrigins: settings.testOrigins,
    });
}

/**
 * One round of the background verification work: pools that stopped growing draw the audits they
 * still need, audits no device delivered in time (or disputed ones) are settled by the server's
 * own fetch, and so are failures only one device reported. Safe with several server processes: each
 * audit is settled under its row lock, once; each failure check is written once.
 */
export async function runVerificationRound(
  db: Database,
  settings: ScrapingSettings,
  fetchText: (url: string) => Promise<ServerFetch> = serverPageText(settings),
  fetchPage: (url: string) => Promise<ServerPageFetch> = serverPage(settings),
): Promise<{ drawn: number; settled: number; failuresConfirmed: number; failuresRefuted: number }> {
  const drawn = await drawSettlingAudits(db, settings.audits);
  const settled = await settleWithServerFetch(db, settings.audits, fetchText);
  const failures = await checkReportedFailures(db, fetchPage);
  return { drawn, settled, failuresConfirmed: failures.confirmed, failuresRefuted: failures.refuted };
}

/** Runs verification rounds every `intervalMs` (0: never; tests call `runVerificationRound`); rounds never overlap. */
export function startVerificationWorker(
  db: Database,
  settings: ScrapingSettings,
  log: FastifyBaseLogger,
  intervalMs: number,
): { close: () => Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = runVerificationRound(db, settings)
      .then(() => undefined)
      .catch((err: unknown) => log.warn({ err }, 'verification round failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = intervalMs > 0 ? setInterval(run, intervalMs) : undefined;
  timer?.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
