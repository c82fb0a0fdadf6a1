import { describe, expect, it } from 'vitest';
import { describePostgres, postgresTestUrl } from '../server/src/test/databases';
import { runLoad, violations } from './load';

/**
 * The load harness in short mode: a few dozen simulated extensions for a few seconds against real server
 * processes. It asserts what must hold however loaded the server is (no job leased or credited beyond its
 * copies, no ledger reference twice, every acknowledged page and label stored), never a timing: the
 * figures are `npm run bench -- load`'s.
 */
const short = { stepSeconds: 5, compression: 30, overload: [] } as const;

describe('load harness, short mode [pglite]', () => {
  it('one process on the embedded database: work flows and nothing acknowledged is lost or doubled', async () => {
    const run = await runLoad({ ...short, steps: [12], processes: 1, databaseUrl: undefined });
    expect(run.kind).toBe('pglite');
    expect(run.check.pagesAcknowledged).toBeGreaterThan(0);
    expect(run.check.labelsAcknowledged).toBeGreaterThan(0);
    expect(run.check.scrapeCredits).toBeGreaterThan(0);
    expect(run.check).toMatchObject({ overLeasedJobs: 0, overCreditedJobs: 0, duplicateReferences: 0 });
    expect(violations(run.check)).toBe(0);
  }, 240_000);
});

describePostgres('load harness, short mode [postgres]', () => {
  it('two processes on one PostgreSQL, devices competing for too few jobs: no job leased or credited twice', async () => {
    // Half the URLs the devices ask for: every lease races the other process's for the same jobs.
    const run = await runLoad({
      ...short,
      steps: [24],
      processes: 2,
      databaseUrl: postgresTestUrl,
      headroom: 0.5,
    });
    expect(run.kind).toBe('postgres');
    expect(run.check.pagesAcknowledged).toBeGreaterThan(0);
    expect(run.check.labelsAcknowledged).toBeGreaterThan(0);
    expect(run.check.scrapeCredits).toBeGreaterThan(0);
    expect(run.check).toMatchObject({ overLeasedJobs: 0, overCreditedJobs: 0, duplicateReferences: 0 });
    expect(violations(run.check)).toBe(0);
  }, 240_000);
});
