import { seededRandom } from '../server/src/aggregation/synthetic-crowd';
import { migrate } from '../server/src/db/migrate';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { buildTestApp, testScrapingSettings } from '../server/src/test/app';
import { createBuyerKey, registerDevice } from '../server/src/test/scrape-fixtures';
import { defaultAuditSettings } from '../server/src/verification/audit-rules';
import { type SimDevice, simulatedNetwork, startDynamicSites } from '../server/src/verification/simulated-network';

const devices = 6;
const pages = 600;
/** Today's anchor: a tenth of jobs fetched by a second device whose copy is compared. */
const redundancyShare = 0.1;

/**
 * Audit overhead: extra fetches (by devices and by the server) per verified page, at the default
 * audit rates, for honest devices on pages that change between fetches, settled to the end; against
 * the 10 % redundancy of before (0.1 extra fetch per page, which also left lone devices unverified).
 */
export async function benchAuditOverhead(): Promise<string> {
  const sites = await startDynamicSites(6);
  const db = await openPgliteDatabase();
  await migrate(db);
  const settings = {
    ...testScrapingSettings,
    testOrigins: sites.origins,
    audits: { ...defaultAuditSettings, serverAfterSeconds: 3600, settleAfterSeconds: 3600, random: seededRandom(21) },
  };
  const app = await buildTestApp(db, settings);
  try {
    const apiKey = await createBuyerKey(app);
    const urls = Array.from({ length: pages }, (_, i) => `${sites.origins[i % sites.origins.length]}/story/${i}`);
    for (let start = 0; start < urls.length; start += 1000) {
      await app.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: { name: 'audit overhead', urls: urls.slice(start, start + 1000) },
      });
    }
    await db.query(`update hosts set robots_status = 'allow_all', robots_fetched_at = now()`);
    const network = simulatedNetwork(app, db, settings, seededRandom(4));
    const honest: SimDevice[] = [];
    for (let i = 0; i < devices; i += 1) honest.push({ account: await registerDevice(app), fabricates: 0 });
    const started = performance.now();
    await network.work(honest);
    const [during] = await db.query<{ device: number; server: number }>(
      `select count(*) filter (where checked_by like 'device:%')::int as device,
              count(*) filter (where checked_by = 'server')::int as server from audits where kind = 'audit'`,
    );
    await network.settle(honest);
    const seconds = (performance.now() - started) / 1000;
    const [counts] = await db.query<{ verified: number; pending: number; device: number; server: number }>(
      `select (select count(*)::int from pages p join jobs j on j.id = p.job_id
                where j.audit_of_page is null and p.verification = 'verified') as verified,
              (select count(*)::int from pages p join jobs j on j.id = p.job_id
                where j.audit_of_page is null and p.verification = 'unverified') as pending,
              (select count(*)::int from audits where kind = 'audit' and checked_by like 'device:%') as device,
              (select count(*)::int from audits where kind = 'audit' and checked_by = 'server') as server`,
    );
    if (!counts || !during) throw new Error('no counts');
    const extra = (counts.device + counts.server) / counts.verified;
    const activeExtra = (during.device + during.server) / Math.max(1, pages);
    return [
      `audit overhead (${devices} honest devices, ${pages} pages that change between fetches, default audit rates, PGlite; ${seconds.toFixed(0)} s)`,
      `    before audits (10 % redundancy, anchor)                  ${redundancyShare.toFixed(2)} extra fetches per page; lone devices never verified`,
      `    audits while the devices worked                          ${activeExtra.toFixed(2)} extra fetches per page`,
      `    audits to settle every pool (device ${counts.device}, server ${counts.server})   ${extra.toFixed(2)} extra fetches per verified page`,
      `    pages verified ${counts.verified}, still pending ${counts.pending}`,
    ].join('\n');
  } finally {
    await app.close();
    await db.close();
    await sites.close();
  }
}
