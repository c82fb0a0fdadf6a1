import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, signedInject, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import {
  createBuyerKey,
  lease,
  pageFor,
  points,
  registerDevice,
  startRobotsSite,
  upload,
} from '../test/scrape-fixtures';
import { processPendingRobots } from './robots-service';

type Site = Awaited<ReturnType<typeof startRobotsSite>>;

describeEachDatabase(
  'buyer controls: lists, pause/resume/cancel, what a campaign kept, labels with content',
  (database) => {
    let site: Site;
    let settings: ScrapingSettings;
    let app: FastifyInstance;
    let apiKey: string;

    beforeAll(async () => {
      site = await startRobotsSite('User-agent: *\nAllow: /\n');
      settings = { ...testScrapingSettings, testOrigins: [site.origin] };
      app = await buildTestApp(database(), settings, { work: { labelSettleMs: 0 } });
      apiKey = await createBuyerKey(app);
    });
    afterAll(async () => {
      await app.close();
      await site.close();
    });

    const asBuyer = (key = apiKey) => ({ authorization: `Bearer ${key}` });
    const get = (url: string, key = apiKey) => app.inject({ method: 'GET', url, headers: asBuyer(key) });
    const post = (url: string, payload?: object, key = apiKey) =>
      app.inject({ method: 'POST', url, headers: asBuyer(key), ...(payload === undefined ? {} : { payload }) });
    /** Empties the frontier of everything but this test's work, so tests never lease each other's jobs or tasks. */
    const retireOtherWork = async () => {
      await database().query(
        `update jobs set open_slots = 0, state = 'failed', failure_reason = 'retired by test' where state = 'queued'`,
      );
      await database().query('update project_items set complete = true');
    };
    const createCampaign = async (body: Record<string, unknown>, key = apiKey) => {
      const response = await post('/v1/campaigns', { name: 'controls', ...body }, key);
      expect(response.statusCode, response.body).toBe(201);
      await processPendingRobots(database(), settings);
      return (response.json() as { campaign: { id: string } }).campaign.id;
    };
    const campaign = async (id: string) => (await get(`/v1/campaigns/${id}`)).json();
    const urls = (...paths: string[]) => paths.map((path) => `${site.origin}${path}`);

    it('returns the raw HTML a keepRawHtml campaign kept, on request, and never for a campaign that did not keep it', async () => {
      await retireOtherWork();
      const keeping = await createCampaign({ urls: urls('/kept'), keepRawHtml: true });
      const device = await registerDevice(app);
      const [job] = (await lease(app, device)).jobs;
      if (!job) throw new Error('no job leased');
      expect(job.keepRawHtml).toBe(true);
      const html = '<!doctype html><html><body><p>Kept <b>raw</b></p></body></html>';
      await upload(app, device, [{ ...pageFor(job, 'Kept raw'), html }]);

      const light = (await get(`/v1/campaigns/${keeping}/pages`)).json();
      expect(light.pages[0]).toMatchObject({ hasHtml: true, html: null });
      const withHtml = (await get(`/v1/campaigns/${keeping}/pages?include=html`)).json();
      expect(withHtml.pages[0].html).toBe(html);
      const one = await get(`/v1/campaigns/${keeping}/pages/${light.pages[0].id}`);
      expect(one.statusCode, one.body).toBe(200);
      expect(one.json().html).toBe(html);

      // A device that sends HTML the campaign did not ask for does not get it stored.
      const plain = await createCampaign({ urls: urls('/not-kept') });
      const [plainJob] = (await lease(app, device)).jobs;
      if (!plainJob) throw new Error('no job leased');
      await upload(app, device, [{ ...pageFor(plainJob, 'Not kept'), html }]);
      const plainPages = (await get(`/v1/campaigns/${plain}/pages?include=html`)).json();
      expect(plainPages.pages[0]).toMatchObject({ hasHtml: false, html: null });
    });

    it('gives each page its links as uploaded, its HTTP status, content type and final URL', async () => {
      await retireOtherWork();
      const id = await createCampaign({ seeds: urls('/with-links'), followLinks: { maxDepth: 1, maxPages: 10 } });
      const device = await registerDevice(app);
      const [job] = (await lease(app, device)).jobs;
      if (!job) throw new Error('no job leased');
      const links = [...urls('/a', '/b'), 'https://elsewhere.example/c?q=1#frag'];
      await upload(app, device, [
        {
          ...pageFor(job, 'Page with links', links),
          httpStatus: 203,
          contentType: 'application/xhtml+xml',
          finalUrl: `${site.origin}/with-links/`,
        },
      ]);
      const page = (await get(`/v1/campaigns/${id}/pages`)).json().pages[0];
      expect(page).toMatchObject({
        links,
        httpStatus: 203,
        contentType: 'application/xhtml+xml',
        finalUrl: `${site.origin}/with-links/`,
      });
    });

    it('returns each labeled item with its content next to its labels', async () => {
      await retireOtherWork();
      const items = [
        { id: 'txt', content: { type: 'text', text: 'A plain text item' } },
        { id: 'img', content: { type: 'image', imageUrl: 'https://images.example/cat.png', caption: 'a cat' } },
      ];
      const created = await post('/v1/projects', {
        name: 'content',
        instructions: 'Is it nice?',
        labelSchema: { type: 'single_choice', choices: ['yes', 'no'] },
        goldRate: 0,
        items,
      });
      expect(created.statusCode, created.body).toBe(201);
      const labels = (await get(`/v1/projects/${created.json().project.id}/labels`)).json();
      expect(
        labels.items.map((item: { id: string; content: unknown }) => ({ id: item.id, content: item.content })),
      ).toEqual(items);
    });

    it('pauses a campaign: no new leases, a live lease is still accepted and paid; resume leases again', async () => {
      await retireOtherWork();
      const id = await createCampaign({ urls: urls('/p1', '/p2', '/p3') });
      const device = await registerDevice(app);
      const [live] = (await lease(app, device, 1)).jobs;
      if (!live) throw new Error('no job leased');

      // With an empty JSON body, as the console sends it.
      const paused = await post(`/v1/campaigns/${id}/pause`, {});
      expect(paused.statusCode, paused.body).toBe(200);
      expect(paused.json()).toMatchObject({ id, state: 'paused' });
      const other = await registerDevice(app);
      expect((await lease(app, other)).jobs).toEqual([]);
      // URLs added while paused wait too.
      expect((await post(`/v1/campaigns/${id}/urls`, { urls: urls('/p4') })).json().accepted).toBe(1);
      expect((await lease(app, other)).jobs).toEqual([]);

      const before = await points(app, device);
      const acks = await upload(app, device, [pageFor(live, 'Fetched before the pause')]);
      expect(acks.acks[0]?.status).toBe('accepted');
      expect((await points(app, device)).pending).toBeGreaterThan(before.pending);

      const resumed = await post(`/v1/campaigns/${id}/resume`);
      expect(resumed.json()).toMatchObject({ state: 'active' });
      const leasedAfter: string[] = [];
      for (let round = 0; round < 5; round += 1)
        leasedAfter.push(...(await lease(app, other)).jobs.map((job) => job.url));
      expect(leasedAfter.sort()).toEqual(urls('/p2', '/p3', '/p4'));
    });

    it('never leases a paused campaign’s job, even one that escaped being held', async () => {
      await retireOtherWork();
      const id = await createCampaign({ urls: urls('/escaped') });
      await post(`/v1/campaigns/${id}/pause`);
      // As if the job were inserted by a link-follow racing the pause: in the leasable index after all.
      await database().query('update jobs set held = false where campaign_id = $1', [id]);
      expect((await lease(app, await registerDevice(app))).jobs).toEqual([]);
    });

    it('cancels a campaign for good: queued jobs fail as cancelled, a live lease is paid, no resume, no more URLs', async () => {
      await retireOtherWork();
      const id = await createCampaign({ seeds: urls('/c1', '/c2'), followLinks: { maxDepth: 2, maxPages: 50 } });
      const device = await registerDevice(app);
      const [live] = (await lease(app, device, 1)).jobs;
      if (!live) throw new Error('no job leased');

      const cancelled = await post(`/v1/campaigns/${id}/cancel`);
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      expect(cancelled.json()).toMatchObject({ state: 'cancelled', counts: { queued: 0 } });
      expect(cancelled.json().failures[0].reason).toMatch(/^campaign_cancelled/);
      expect((await lease(app, await registerDevice(app))).jobs).toEqual([]);

      // The live lease delivers a page with links: it is stored and paid, and its links start nothing new.
      const before = await points(app, device);
      const acks = await upload(app, device, [pageFor(live, 'Fetched before the cancel', urls('/c3', '/c4'))]);
      expect(acks.acks[0]?.status).toBe('accepted');
      expect((await points(app, device)).pending).toBeGreaterThan(before.pending);
      const pages = (await get(`/v1/campaigns/${id}/pages`)).json().pages;
      expect(pages.map((page: { url: string }) => page.url)).toEqual([live.url]);
      const jobs = await database().query<{ url: string }>('select url from jobs where campaign_id = $1', [id]);
      expect(jobs.map((job) => job.url).sort()).toEqual(urls('/c1', '/c2'));

      for (const action of ['resume', 'pause']) {
        const refused = await post(`/v1/campaigns/${id}/${action}`);
        expect(refused.statusCode).toBe(409);
        expect(refused.json()).toMatchObject({ code: 'conflict' });
        expect(refused.json().message).toMatch(/cancelled/);
      }
      const added = await post(`/v1/campaigns/${id}/urls`, { urls: urls('/c9') });
      expect(added.statusCode).toBe(409);
      expect(added.json().code).toBe('conflict');
      // Cancelling again is harmless.
      expect((await post(`/v1/campaigns/${id}/cancel`)).json().state).toBe('cancelled');
      expect((await campaign(id)).state).toBe('cancelled');
    });

    it('calls an active campaign complete once nothing is left to do, and active again when URLs are added', async () => {
      await retireOtherWork();
      const id = await createCampaign({ urls: urls('/done') });
      expect((await campaign(id)).state).toBe('active');
      const device = await registerDevice(app);
      const [job] = (await lease(app, device)).jobs;
      if (!job) throw new Error('no job leased');
      expect((await campaign(id)).state).toBe('active');
      await upload(app, device, [pageFor(job, 'Done')]);
      expect((await campaign(id)).state).toBe('complete');
      await post(`/v1/campaigns/${id}/urls`, { urls: urls('/more') });
      expect((await campaign(id)).state).toBe('active');
    });

    it('pauses and cancels a project: no new tasks, a live task’s label is kept; no resume or items after cancel', async () => {
      await retireOtherWork();
      const created = await post('/v1/projects', {
        name: 'controlled',
        instructions: 'Is it nice?',
        labelSchema: { type: 'single_choice', choices: ['yes', 'no'] },
        goldRate: 0,
        overlap: 1,
        items: [1, 2, 3, 4].map((n) => ({ id: `i${n}`, content: { type: 'text', text: `item ${n}` } })),
      });
      const id = created.json().project.id as string;
      const labeler = await registerDevice(app);
      const leaseTasks = async (device: LocalAccount, max = 1) =>
        (
          (await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max } })).json() as {
            tasks: LeasedTask[];
          }
        ).tasks;
      const [live] = await leaseTasks(labeler);
      if (!live) throw new Error('no task leased');

      expect((await post(`/v1/projects/${id}/pause`)).json()).toMatchObject({ id, state: 'paused' });
      const other = await registerDevice(app);
      expect(await leaseTasks(other, 5)).toEqual([]);
      const acks = await upload(app, labeler, [
        {
          kind: 'label',
          assignmentId: live.assignmentId,
          labeledAt: new Date().toISOString(),
          answer: { type: 'single_choice', choice: 'yes' },
        },
      ]);
      expect(acks.acks[0]?.status).toBe('accepted');
      const labeled = (await get(`/v1/projects/${id}/labels`))
        .json()
        .items.filter((item: { labels: unknown[] }) => item.labels.length > 0);
      expect(labeled).toHaveLength(1);

      expect((await post(`/v1/projects/${id}/resume`)).json().state).toBe('active');
      expect(await leaseTasks(other, 1)).toHaveLength(1);

      expect((await post(`/v1/projects/${id}/cancel`)).json().state).toBe('cancelled');
      expect(await leaseTasks(await registerDevice(app), 5)).toEqual([]);
      const resumed = await post(`/v1/projects/${id}/resume`);
      expect(resumed.statusCode).toBe(409);
      expect(resumed.json().code).toBe('conflict');
      const items = await post(`/v1/projects/${id}/items`, [{ id: 'late', content: { type: 'text', text: 'late' } }]);
      expect(items.statusCode).toBe(409);
    });

    it('lists campaigns and projects newest first, page by page, each once, and only the buyer’s own', async () => {
      const key = await createBuyerKey(app, 'Lister');
      const otherKey = await createBuyerKey(app, 'Other Lister');
      await createCampaign({ urls: urls('/someone-else') }, otherKey);
      const campaignIds = await Promise.all(
        Array.from({ length: 7 }, (_, n) => createCampaign({ name: `c${n}`, urls: urls(`/list-${n}`) }, key)),
      );
      // All within one millisecond, some in one microsecond: the cursor must keep microseconds, and break ties by id.
      await database().query(
        `update campaigns set created_at = '2026-01-01T00:00:00.000100Z'::timestamptz + make_interval(secs => t.micros / 1e6)
           from unnest($1::uuid[], $2::int[]) as t(id, micros) where campaigns.id = t.id`,
        [campaignIds, [1, 2, 2, 3, 3, 3, 4]],
      );
      const seen: Array<{ id: string; createdAt: string }> = [];
      let next: string | null = null;
      for (let page = 0; page < 10; page += 1) {
        const response = await get(`/v1/campaigns?limit=3${next ? `&before=${next}` : ''}`, key);
        expect(response.statusCode, response.body).toBe(200);
        const body = response.json() as { campaigns: Array<{ id: string; createdAt: string }>; next: string | null };
        expect(body.campaigns.length).toBeLessThanOrEqual(3);
        seen.push(...body.campaigns);
        next = body.next;
        if (next === null) break;
      }
      expect(seen.map((entry) => entry.id).sort()).toEqual([...campaignIds].sort());
      expect(new Set(seen.map((entry) => entry.id)).size).toBe(7);
      // Newest first: the campaign made 4 µs after the base comes first, the one made 1 µs after it last.
      expect(seen[0]?.id).toBe(campaignIds[6]);
      expect(seen.at(-1)?.id).toBe(campaignIds[0]);

      const projectIds: string[] = [];
      for (let n = 0; n < 3; n += 1) {
        const response = await post(
          '/v1/projects',
          { name: `p${n}`, instructions: 'x', labelSchema: { type: 'single_choice', choices: ['a', 'b'] } },
          key,
        );
        projectIds.push(response.json().project.id);
      }
      const first = (await get('/v1/projects?limit=2', key)).json();
      expect(first.projects.map((project: { id: string }) => project.id)).toEqual([projectIds[2], projectIds[1]]);
      const rest = (await get(`/v1/projects?limit=2&before=${first.next}`, key)).json();
      expect(rest).toEqual({ projects: [expect.objectContaining({ id: projectIds[0], state: 'active' })], next: null });

      const garbage = await get('/v1/campaigns?before=not-a-cursor', key);
      expect(garbage.statusCode).toBe(400);
      expect(garbage.json().code).toBe('bad_request');
      // A cursor of the right shape naming no real moment is refused as one too, not a 500 from the database.
      const uuid = '00000000-0000-0000-0000-000000000000';
      for (const time of [
        '2026-02-30T00:00:00.000000Z',
        '2026-13-01T00:00:00.000000Z',
        '0000-01-01T00:00:00.000000Z',
        '2026-01-01T24:00:00.000000Z',
      ]) {
        const cursor = Buffer.from(`${time}|${uuid}`).toString('base64url');
        for (const list of ['campaigns', 'projects', 'datasets']) {
          const response = await get(`/v1/${list}?before=${cursor}`, key);
          expect(response.statusCode, `${list} ${time}`).toBe(400);
          expect(response.json().message).toContain('before is not a cursor');
        }
      }
      const leapDay = Buffer.from(`2024-02-29T23:59:59.999999Z|${uuid}`).toString('base64url');
      expect((await get(`/v1/projects?before=${leapDay}`, key)).statusCode).toBe(200);
    });

    it('answers 404 not_found to another buyer on every route of a campaign or project, and changes nothing', async () => {
      await retireOtherWork();
      const campaignId = await createCampaign({ urls: urls('/private-to-owner') });
      const device = await registerDevice(app);
      const [job] = (await lease(app, device)).jobs;
      if (!job) throw new Error('no job leased');
      await upload(app, device, [pageFor(job, 'Owner only')]);
      const pageId = (await get(`/v1/campaigns/${campaignId}/pages`)).json().pages[0].id;
      const projectId = (
        await post('/v1/projects', {
          name: 'owner only',
          instructions: 'x',
          labelSchema: { type: 'single_choice', choices: ['a', 'b'] },
          items: [{ id: 'x', content: { type: 'text', text: 'x' } }],
        })
      ).json().project.id;

      const intruder = await createBuyerKey(app, 'Intruder');
      const routes: Array<[method: 'GET' | 'POST', url: string, payload?: object]> = [
        ['GET', `/v1/campaigns/${campaignId}`],
        ['GET', `/v1/campaigns/${campaignId}/pages`],
        ['GET', `/v1/campaigns/${campaignId}/pages?include=html`],
        ['GET', `/v1/campaigns/${campaignId}/pages/${pageId}`],
        ['POST', `/v1/campaigns/${campaignId}/urls`, { urls: urls('/intruder') }],
        ['POST', `/v1/campaigns/${campaignId}/pause`],
        ['POST', `/v1/campaigns/${campaignId}/resume`],
        ['POST', `/v1/campaigns/${campaignId}/cancel`],
        ['GET', `/v1/projects/${projectId}`],
        ['GET', `/v1/projects/${projectId}/labels`],
        ['POST', `/v1/projects/${projectId}/items`, [{ id: 'y', content: { type: 'text', text: 'y' } }]],
        ['POST', `/v1/projects/${projectId}/pause`],
        ['POST', `/v1/projects/${projectId}/resume`],
        ['POST', `/v1/projects/${projectId}/cancel`],
      ];
      for (const [method, url, payload] of routes) {
        const response = await app.inject({
          method,
          url,
          headers: asBuyer(intruder),
          ...(payload === undefined ? {} : { payload }),
        });
        expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(404);
        expect(response.json().code, `${method} ${url}`).toBe('not_found');
      }
      expect((await get('/v1/campaigns', intruder)).json()).toEqual({ campaigns: [], next: null });
      expect((await get('/v1/projects', intruder)).json()).toEqual({ projects: [], next: null });
      // Nothing the intruder sent took effect.
      expect((await campaign(campaignId)).state).toBe('complete');
      expect((await get(`/v1/projects/${projectId}`)).json()).toMatchObject({
        state: 'active',
        progress: { items: 1 },
      });
      // The owner reads the same page fine: the 404 was about the buyer, not the page.
      expect((await get(`/v1/campaigns/${campaignId}/pages/${pageId}`)).statusCode).toBe(200);
    });

    it('documents every buyer route in /openapi.json with a summary and its response schema', async () => {
      const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, { summary?: string; responses?: Record<string, unknown> }>>;
      };
      const expected: Array<[path: string, method: string]> = [
        ['/v1/campaigns', 'get'],
        ['/v1/campaigns/{campaignId}/pages/{pageId}', 'get'],
        ['/v1/campaigns/{campaignId}/pause', 'post'],
        ['/v1/campaigns/{campaignId}/resume', 'post'],
        ['/v1/campaigns/{campaignId}/cancel', 'post'],
        ['/v1/projects', 'get'],
        ['/v1/projects/{projectId}/pause', 'post'],
        ['/v1/projects/{projectId}/resume', 'post'],
        ['/v1/projects/{projectId}/cancel', 'post'],
      ];
      for (const [path, method] of expected) {
        const operation = spec.paths[path]?.[method];
        expect(operation?.summary, `${method} ${path}`).toBeTruthy();
        expect(operation?.responses?.['200'], `${method} ${path}`).toBeDefined();
      }
      const pageSchema = JSON.stringify(spec.paths['/v1/campaigns/{campaignId}/pages']?.get?.responses?.['200']);
      for (const field of ['httpStatus', 'contentType', 'links', 'html']) expect(pageSchema).toContain(field);
      const labelsSchema = JSON.stringify(spec.paths['/v1/projects/{projectId}/labels']?.get?.responses?.['200']);
      expect(labelsSchema).toContain('content');
    });
  },
);
