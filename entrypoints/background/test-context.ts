import type { FetchFn } from '@/lib/api-client';
import type { GleanerDb } from '@/lib/db';
import { createFakeGleanerServer, type FakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { createTestDb } from '@/lib/testing/test-db';
import type { BackgroundContext } from './context';
import { createHandlers } from './handlers';
import { createSyncRunner } from './sync';

/** For tests only: a background with a fresh database, a fake server and a clock the test moves. */
export function createTestBackground(options: { fetch?: FetchFn; server?: FakeGleanerServer; db?: GleanerDb } = {}) {
  const server = options.server ?? createFakeGleanerServer();
  const clock = { now: Date.parse('2025-06-01T12:00:00Z') };
  const ctx: BackgroundContext = {
    db: options.db ?? createTestDb(),
    fetch: options.fetch ?? server.fetch,
    now: () => clock.now,
    extensionVersion: '0.1.0',
    browserName: 'chrome',
  };
  const requestSync = createSyncRunner(ctx);
  const handlers = createHandlers(ctx, requestSync);
  return { ctx, server, clock, requestSync, handlers };
}
