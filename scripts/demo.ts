/**
 * `npm run demo`: Gleaner on one machine, offline, in one command. A local news site, the server on
 * its embedded database allowing exactly that site, a test build of the extension for that site, a
 * buyer with a campaign over the site and a labeling project; then it says what to load and where to look.
 *
 *   npm run demo -- [--server-port N] [--site-port N] [--data-dir DIR] [--extension-out DIR]
 *
 * The data folder (./data-demo) starts empty on every run and stays after the demo stops, to look into.
 * The site keeps the port its last extension build was made for when that port is free, so a
 * second run needs neither a rebuild nor reloading the extension.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { demoProject, setUpDemo } from '../server/src/demo/demo-setup';
import { type DemoSite, startDemoSite } from '../server/src/demo/demo-site';
import { freePort, portIsFree, type ServerProcess, startServerProcess } from '../server/src/demo/server-process';
import { chromeBuildDir, readBuildStamp } from '../server/src/extension-build';
import { buildIfStale } from './build-if-stale';

/** The extension's default server address (lib/settings.ts): on this port nobody has to type it. */
const extensionDefaultPort = 8787;
const markerFile = '.gleaner-demo';

const say = (line = '') => process.stdout.write(`${line}\n`);

/** A path as short as it reads well: relative inside the working folder, absolute outside it. */
function shortPath(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') ? inside : path;
}

function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--${name} must be a port number (0 for any free one)`);
  return port;
}

/** Empties the demo's data folder, refusing a folder the demo did not make (it might be someone's data). */
async function freshDataDir(dir: string): Promise<void> {
  if (existsSync(dir) && (await readdir(dir)).length > 0 && !existsSync(join(dir, markerFile))) {
    throw new Error(`${dir} holds files the demo did not write: choose another folder with --data-dir`);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, markerFile), 'Made by npm run demo, which empties this folder on each run.\n');
}

/** The site's port: asked for, else the one the last demo build allows (if free), else any free one. */
async function startSite(asked: number | undefined, extensionOut: string): Promise<DemoSite> {
  if (asked !== undefined) return startDemoSite(asked);
  const built = readBuildStamp(chromeBuildDir('', extensionOut))?.testOrigins;
  const previous = built ? Number(new URL(built.split(',')[0] as string).port) : undefined;
  if (previous && (await portIsFree(previous))) return startDemoSite(previous).catch(() => startDemoSite(0));
  return startDemoSite(0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'server-port': { type: 'string' },
      'site-port': { type: 'string' },
      'data-dir': { type: 'string', default: 'data-demo' },
      'extension-out': { type: 'string', default: '.output/demo' },
    },
  });
  const dataDir = resolve(values['data-dir']);
  const extensionOut = values['extension-out'];
  const askedServerPort = portOption(values['server-port'], 'server-port');
  const askedSitePort = portOption(values['site-port'], 'site-port');

  await freshDataDir(dataDir);
  // The site listens first and keeps its port: the extension is built for exactly this origin.
  const site = await startSite(askedSitePort, extensionOut);
  let server: ServerProcess | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    stopping = true;
    await server?.stop();
    await site.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  try {
    say(`Demo site: ${site.origin}/`);
    const extension = await buildIfStale('extension', { testOrigins: site.origin, outDir: extensionOut });
    await buildIfStale('console');

    const serverPort =
      askedServerPort ?? ((await portIsFree(extensionDefaultPort)) ? extensionDefaultPort : await freePort());
    const operatorToken = randomBytes(24).toString('base64url');
    server = await startServerProcess(
      serverPort === 0 ? await freePort() : serverPort,
      {
        GLEANER_DATA_DIR: dataDir,
        GLEANER_OPERATOR_TOKEN: operatorToken,
        GLEANER_TEST_ORIGINS: site.origin,
        // So the server's own "load this build" line names the demo's build.
        GLEANER_EXTENSION_OUT_DIR: extensionOut,
        // One local site: a short pause between its pages shows progress without hammering it.
        GLEANER_POLITENESS_MS: '250',
        // Label points settle as soon as their item is aggregated, so the popup shows them verified.
        GLEANER_LABEL_SETTLE_SECONDS: '0',
        LOG_LEVEL: 'warn',
      },
      (line) => say(`  [server] ${line}`),
    );
    const setup = await setUpDemo(server.url, operatorToken, site.origin);
    const summary = {
      serverUrl: server.url,
      consoleUrl: `${server.url}/`,
      siteOrigin: site.origin,
      extensionDir: extension.dir,
      dataDir,
      operatorToken,
      ...setup,
    };
    const summaryFile = join(dataDir, 'demo.json');
    // Written whole, then renamed into place: whoever polls for the file never reads half of it.
    await writeFile(`${summaryFile}.tmp`, `${JSON.stringify(summary, null, 2)}\n`);
    await rename(`${summaryFile}.tmp`, summaryFile);
    const items = demoProject.items ?? [];
    const gold = items.filter((item) => (item as { gold?: unknown }).gold).length;
    const usesDefault = new URL(server.url).port === String(extensionDefaultPort);

    say();
    say('Gleaner demo is running (no internet needed).');
    say();
    say('1. Load the extension (a test build that may fetch only the demo site):');
    say(`     ${extension.dir}`);
    say('   Chrome or Chromium: chrome://extensions → Developer mode → Load unpacked → that folder.');
    say('   (After a demo run that rebuilt it, click its reload button ↻ there.)');
    say(
      usesDefault
        ? `2. In the options page that opens, agree: the server address is already ${server.url}.`
        : `2. In the options page that opens, set the server address to ${server.url}, then agree.`,
    );
    say('   The popup (toolbar icon) then shows the pages fetched today and your points, and offers the');
    say(
      `   labeling tasks: ${items.length} short reviews to mark positive or negative, ${gold} of them with a known answer.`,
    );
    say(`3. Watch as the buyer: open ${summary.consoleUrl} and sign in with the API key`);
    say(`     ${setup.buyerApiKey}`);
    say(
      `   Campaign "Demo: The Daily Example" (${setup.campaignUrls.length} pages of ${site.origin}) fills as the extension`,
    );
    say(`   fetches; project "Demo: review sentiment" collects the labels. API docs: ${server.url}/docs`);
    say();
    say(`Data: ${shortPath(dataDir)} (emptied on the next run; summary in ${shortPath(summaryFile)})`);
    say(`Operator token (admin API, npm run gleaner): ${operatorToken}`);
    say('Stop with Ctrl+C.');
    say();
    const code = await server.exited;
    // Unasked (a crash, or someone stopped it): say so, and stop the site with it.
    if (!stopping) {
      say(`The server stopped (exit ${code}).`);
      await stop(code === 0 ? 0 : 1);
    }
  } catch (error) {
    await server?.stop();
    await site.close();
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`The demo could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
