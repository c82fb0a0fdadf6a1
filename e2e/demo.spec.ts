import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { campaignPagesSchema } from '@protocol/campaigns';
import { projectSchema } from '@protocol/labeling';
import { z } from 'zod';
import { demoArticle, demoArticleCount } from '../server/src/demo/demo-site';
import { extensionIdOf, launchWithExtension } from './fixtures';
import { LabelingPanel } from './pages/labeling-panel';
import { OptionsPage } from './pages/options-page';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** What the demo writes to demo.json once it is ready (scripts/demo.ts). */
const demoSummarySchema = z.object({
  serverUrl: z.string(),
  siteOrigin: z.string(),
  extensionDir: z.string(),
  buyerApiKey: z.string(),
  campaignId: z.string(),
  projectId: z.string(),
});

test('npm run demo serves a local site, and its extension build scrapes it and sends a label', async () => {
  // The first run builds the extension for the site's port; later runs reuse that build.
  test.setTimeout(240_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-demo-'));
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
  let output = '';
  // Its own extension folder, so a person's `npm run demo` build is never rebuilt under them.
  const demo: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, 'node_modules/tsx/dist/cli.mjs'),
      '--tsconfig',
      'server/tsconfig.json',
      'scripts/demo.ts',
      '--server-port',
      '0',
      '--data-dir',
      dataDir,
      '--extension-out',
      '.output/demo-e2e',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  demo.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  demo.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolveExit) => demo.once('exit', resolveExit));
  let context: Awaited<ReturnType<typeof launchWithExtension>> | undefined;
  try {
    const summaryFile = join(dataDir, 'demo.json');
    await expect
      .poll(
        () => {
          if (demo.exitCode !== null) throw new Error(`the demo exited with ${demo.exitCode}:\n${output}`);
          // The last line the demo prints, after it wrote the summary file.
          return output.includes('Stop with Ctrl+C.') && existsSync(summaryFile);
        },
        { timeout: 200_000, intervals: [500] },
      )
      .toBe(true);
    const summary = demoSummarySchema.parse(JSON.parse(await readFile(summaryFile, 'utf8')));
    // What a person is told: the folder to load, the key to sign in with, and how to stop.
    expect(output).toContain(summary.extensionDir);
    expect(output).toContain(summary.buyerApiKey);
    expect(output).toContain(summary.serverUrl);
    expect(output).toContain('Ctrl+C');
    const buyer = { authorization: `Bearer ${summary.buyerApiKey}` };

    context = await launchWithExtension(profile, summary.extensionDir);
    const extensionId = await extensionIdOf(context);
    const options = await OptionsPage.open(context, extensionId);
    await options.consentWithServer(summary.serverUrl);

    // A page of the local site arrives with its article's words.
    await expect
      .poll(
        async () => {
          const response = await fetch(`${summary.serverUrl}/v1/campaigns/${summary.campaignId}/pages`, {
            headers: buyer,
          });
          const { pages } = campaignPagesSchema.parse(await response.json());
          return pages.some((page) => {
            const n = Array.from({ length: demoArticleCount }, (_, i) => i).find(
              (i) => page.url === `${summary.siteOrigin}/articles/${i}`,
            );
            if (n === undefined) return false;
            const article = demoArticle(n);
            return page.text.includes(article.sections[0]?.paragraphs[0] ?? '?');
          });
        },
        { timeout: 60_000, intervals: [1000] },
      )
      .toBe(true);

    // The labeling view: its own page when the build has one, else the popup.
    const view = existsSync(join(summary.extensionDir, 'labeling.html')) ? 'labeling.html' : 'popup.html';
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/${view}`);
    const panel = new LabelingPanel(page);
    const task = await panel.current();
    await panel.answerWithKeys(task.text.match(/love|excellent|happy|comfortable|clear|lasts/i) ? 1 : 2);
    await expect
      .poll(
        async () => {
          const response = await fetch(`${summary.serverUrl}/v1/projects/${summary.projectId}`, { headers: buyer });
          return projectSchema.parse(await response.json()).progress.labels;
        },
        { timeout: 30_000, intervals: [500] },
      )
      .toBeGreaterThanOrEqual(1);

    // Ctrl+C stops the server and the site, and the demo exits cleanly.
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
  } finally {
    await context?.close();
    if (demo.exitCode === null) {
      demo.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
});
