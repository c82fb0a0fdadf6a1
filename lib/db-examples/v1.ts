import type { DbExample } from './index';

/** Rows as version 1 stored them. Saved once and never edited: upgrades are tested against them. */
export const v1Example: DbExample = {
  version: 1,
  tables: {
    settings: [
      { key: 'serverUrl', value: 'https://gleaner.example.org' },
      { key: 'dailyBudgetBytes', value: 50_000_000 },
      { key: 'consent', value: { given: true, at: 1_735_689_600_000, version: 1 } },
      { key: 'pausedUntil', value: null },
      {
        key: 'connection',
        value: {
          state: 'connected',
          deviceAddress: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
          lastError: null,
          lastContactAt: 1_735_689_660_000,
          registeredServerUrl: 'https://gleaner.example.org',
        },
      },
    ],
    jobs: [
      {
        id: 'job-1',
        url: 'https://example.com/a',
        state: 'leased',
        leasedAt: 1_735_689_600_000,
        leaseExpiresAt: 1_735_689_900_000,
      },
      {
        id: 'job-2',
        url: 'http://example.org/b?page=2',
        state: 'done',
        leasedAt: 1_735_689_600_000,
        leaseExpiresAt: 1_735_689_900_000,
      },
    ],
    outbox: [
      { seq: 1, kind: 'scrape', createdAt: 1_735_689_700_000, payload: { jobId: 'job-2', text: 'Hello' } },
      { seq: 2, kind: 'label', createdAt: 1_735_689_800_000, payload: { taskId: 't-1', choice: 2 } },
    ],
    fetchLog: [
      { id: 1, at: 1_735_689_650_000, url: 'http://example.org/b?page=2', status: 200, bytes: 5120, outcome: 'ok' },
      { id: 2, at: 1_735_689_660_000, url: 'http://10.0.0.1/', status: null, bytes: 0, outcome: 'blocked' },
    ],
  },
};
