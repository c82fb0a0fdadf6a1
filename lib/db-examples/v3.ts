import type { DbExample } from './index';

/** Rows as version 3 stored them. Saved once and never edited: upgrades are tested against them. */
export const v3Example: DbExample = {
  version: 3,
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
      { key: 'nextLeaseAt', value: null },
      { key: 'uploadRetry', value: null },
      {
        key: 'points',
        value: {
          pending: 30,
          verified: 120,
          rejected: 0,
          trust: 0.9,
          recentRejections: [],
          fetchedAt: 1_735_689_690_000,
        },
      },
      {
        key: 'labelerStanding',
        value: {
          goldAnswered: 4,
          goldCorrect: 2,
          goldAccuracy: 0.5,
          earning: false,
          reason:
            'Your accuracy on check questions is 50%, below the 60% needed: your labels do not count or earn until it rises.',
          labels: 12,
          points: { pending: 0, verified: 7.5 },
          fetchedAt: 1_735_689_700_000,
        },
      },
      {
        key: 'labelRejections',
        value: [{ assignmentId: '77', reason: 'task 77 is not a lease of this device', at: 1_735_689_710_000 }],
      },
    ],
    jobs: [
      {
        id: '17',
        jobId: '42',
        url: 'https://example.com/a',
        state: 'leased',
        keepRawHtml: false,
        collectLinks: true,
        maxBytes: 5_242_880,
        timeoutMs: 30_000,
        leasedAt: 1_735_689_600_000,
        leaseExpiresAt: 1_735_689_900_000,
      },
    ],
    outbox: [
      {
        seq: 1,
        kind: 'scrape',
        createdAt: 1_735_689_800_000,
        batchId: '',
        payload: {
          assignmentId: '15',
          jobId: '40',
          url: 'https://example.com/d',
          fetchedAt: '2025-01-01T00:03:20.000Z',
          bytesFetched: 0,
          outcome: 'failed',
          error: 'http_error',
          detail: 'The site answered HTTP 503.',
          httpStatus: 503,
          retryAfterSeconds: 60,
        },
      },
      {
        seq: 2,
        kind: 'label',
        createdAt: 1_735_689_810_000,
        batchId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
        payload: {
          kind: 'label',
          assignmentId: '80',
          labeledAt: '2025-01-01T00:03:30.000Z',
          skipped: false,
          answer: { type: 'pairwise', preferred: 'left' },
        },
      },
      {
        seq: 3,
        kind: 'label',
        createdAt: 1_735_689_820_000,
        batchId: '',
        payload: { kind: 'label', assignmentId: '81', labeledAt: '2025-01-01T00:03:40.000Z', skipped: true },
      },
    ],
    fetchLog: [
      {
        id: 1,
        at: 1_735_689_650_000,
        url: 'https://example.com/d',
        status: 503,
        bytes: 0,
        outcome: 'error',
        reason: 'http_error: The site answered HTTP 503.',
        assignmentId: '15',
        rejection: null,
      },
    ],
    tasks: [
      {
        assignmentId: '82',
        leasedAt: 1_735_689_830_000,
        expiresAt: 1_735_690_730_000,
        task: {
          assignmentId: '82',
          projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
          projectName: 'Product reviews',
          instructions: 'Is the review positive or negative?',
          labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
          content: { type: 'text', text: 'Broke after a day.' },
          expiresAt: '2025-01-01T00:18:50.000Z',
        },
      },
      {
        assignmentId: '83',
        leasedAt: 1_735_689_830_000,
        expiresAt: 1_735_690_730_000,
        task: {
          assignmentId: '83',
          projectId: '7a1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
          projectName: 'Helpful answers',
          instructions: 'Which answer helps more?',
          labelSchema: { type: 'pairwise' },
          content: { type: 'pairwise', prompt: 'How do I boil an egg?', left: 'Boil it.', right: 'Simmer 9 minutes.' },
          expiresAt: '2025-01-01T00:18:50.000Z',
        },
      },
    ],
  },
};
