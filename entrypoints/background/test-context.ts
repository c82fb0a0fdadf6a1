import type { FetchFn } from '@/lib/api-client';
import type { GleanerDb } from '@/lib/db';
import { forgetDeviceSessions } from '@/lib/device-session';
import { extractHtml } from '@/lib/extract/extract-page';
import type { PageFetch, PageRequest } from '@/lib/fetcher/fetch-page';
import { createFakeGleanerServer, type FakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { createFakeImageHost } from '@/lib/testing/fake-image-host';
import { createTestDb } from '@/lib/testing/test-db';
import { watchServerReachability } from './connection';
import type { BackgroundContext } from './context';
import { createHandlers } from './handlers';
import { createLabeling } from './labeling';
import { createSyncRunner } from './sync';
import { runBurst, type WorkContext, type WorkDeps } from './work';

/**
 * For tests only: a background with a fresh database, a fake server, a fake image host behind the
 * real image fetcher, and a clock the test moves.
 */
export function createTestBackground(
  options: { fetch?: FetchFn; server?: FakeGleanerServer; db?: GleanerDb; labelHoldMs?: number } = {},
) {
  // A new background starts with no device session, as a restarted service worker does.
  forgetDeviceSessions();
  const clock = { now: Date.parse('2025-06-01T12:00:00Z') };
  const server = options.server ?? createFakeGleanerServer({ now: () => clock.now });
  const imageHost = createFakeImageHost(() => clock.now);
  const ctx: BackgroundContext = watchServerReachability({
    db: options.db ?? createTestDb(),
    fetch: options.fetch ?? server.fetch,
    now: () => clock.now,
    extensionVersion: '0.1.0',
    browserName: 'chrome',
  });
  const labeling = createLabeling({
    ...ctx,
    random: () => 0.5,
    newBatchId: () => crypto.randomUUID(),
    fetchImage: imageHost.fetchImage,
    // Labels go up at once unless a test gives them an undo window.
    labelHoldMs: options.labelHoldMs ?? 0,
  });
  const requestSync = createSyncRunner(ctx, { onConnected: () => void labeling.onConnected() });
  const handlers = createHandlers(ctx, requestSync, labeling);
  return { ctx, server, clock, requestSync, handlers, labeling, imageHost };
}

/** An HTML page as the fake network serves it by default: its title and text name its URL. */
export function fakePage(url: string, bytes = 1_000): PageFetch {
  const html = `<html lang="en"><head><title>Page ${url}</title></head><body><p>The text of ${url}.</p><a href="/next">next</a></body></html>`;
  return {
    ok: true,
    body: {
      finalUrl: url,
      httpStatus: 200,
      contentType: 'text/html; charset=utf-8',
      mediaType: 'text/html',
      bytes: new TextEncoder().encode(html),
    },
    bytesFetched: bytes,
  };
}

/**
 * For tests only: a background that scrapes, with a fake server, a fake page fetcher (answers
 * from `pages`, else `fakePage`), the real extractor, and a `sleep` that moves the clock.
 */
export function createTestWorker(
  options: { db?: GleanerDb; server?: FakeGleanerServer; fetch?: FetchFn; work?: Partial<WorkDeps> } = {},
) {
  const background = createTestBackground(options);
  const { clock } = background;
  const pages = new Map<string, PageFetch>();
  const fetched: PageRequest[] = [];
  const sleeps: number[] = [];
  const ctx: WorkContext = {
    ...background.ctx,
    fetchPage: async (request) => {
      fetched.push(request);
      return pages.get(request.url) ?? fakePage(request.url);
    },
    extract: async (input) => extractHtml(input),
    fetchImage: background.imageHost.fetchImage,
    prepareNetwork: async () => {},
    release: async () => {},
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    random: () => 0.5,
    newBatchId: () => crypto.randomUUID(),
    ...options.work,
  };
  return { ...background, ctx, pages, fetched, sleeps, runBurst: () => runBurst(ctx) };
}
