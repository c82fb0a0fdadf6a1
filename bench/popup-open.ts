import { rm } from 'node:fs/promises';
import type { BrowserContext } from '@playwright/test';
import { startGleanerServer } from '../e2e/gleaner-server';
import { consentWith, extensionBuildDir, launchExtensionBrowser } from './extension-browser';
import { formatFigure, median, numberFromEnv } from './stats';

/** What one opening of popup.html took, in ms from navigation start (the page's own clock). */
interface Opening {
  /** The static page parsed (anchor: the browser's part, before any of Gleaner's work). */
  domContentLoaded: number;
  /** The settings read and every control drawn: status, pause control, today's work, points. */
  interactive: number;
  /** The popup's content height once interactive, against Chrome's 600 px limit. */
  height: number;
}

/** The User Timing mark the popup sets once its settings are read and every control is drawn. */
const interactiveMark = 'gleaner-popup-interactive';

async function openOnce(context: BrowserContext, extensionId: string): Promise<Opening> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 380, height: 600 });
  await page.goto(`chrome-extension://${extensionId}/popup.html`);
  await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, interactiveMark);
  const opening = await page.evaluate((mark) => {
    const [navigation] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
    return {
      domContentLoaded: navigation?.domContentLoadedEventEnd ?? Number.NaN,
      interactive: performance.getEntriesByName(mark)[0]?.startTime ?? Number.NaN,
      height: Math.ceil(document.querySelector('main')?.getBoundingClientRect().height ?? Number.NaN),
    };
  }, interactiveMark);
  await page.close();
  return opening;
}

async function measure(context: BrowserContext, extensionId: string, runs: number): Promise<Opening> {
  // The first opening loads the extension's scripts into the cache; a person's first click pays it once.
  await openOnce(context, extensionId);
  const openings: Opening[] = [];
  for (let run = 0; run < runs; run += 1) openings.push(await openOnce(context, extensionId));
  return {
    domContentLoaded: median(openings.map((opening) => opening.domContentLoaded)),
    interactive: median(openings.map((opening) => opening.interactive)),
    height: Math.max(...openings.map((opening) => opening.height)),
  };
}

/**
 * Popup open to interactive in Chromium (goal < 150 ms): each run opens popup.html in a new page of
 * the popup's size and reads, on the page's own clock from navigation start, when the static page
 * was parsed (the anchor) and the popup's own mark, set once the settings are read and status, pause
 * control, today's work and points are drawn.
 * Before consent, and connected to a local server with consent given.
 */
export async function benchPopupOpen(): Promise<string> {
  const runs = numberFromEnv('GLEANER_BENCH_POPUP_RUNS', 15);
  const extensionDir = extensionBuildDir();
  const server = await startGleanerServer();
  const { context, extensionId, profile } = await launchExtensionBrowser(extensionDir);
  try {
    const before = await measure(context, extensionId, runs);
    await consentWith(context, extensionId, server.url);
    const connected = await measure(context, extensionId, runs);
    const row = (name: string, figures: Opening) =>
      `  ${name.padEnd(28)} ${formatFigure(figures.domContentLoaded, 1).padStart(7)} ms ${formatFigure(figures.interactive, 1).padStart(9)} ms ${String(figures.height).padStart(7)} px`;
    return [
      `popup open to interactive (Chromium, headless, median of ${runs} openings after one warm-up; goal < 150 ms, <= 600 px)`,
      `  ${''.padEnd(28)} ${'parsed'.padStart(10)} ${'interactive'.padStart(12)} ${'content'.padStart(10)}`,
      row('no consent', before),
      row('connected (local server)', connected),
    ].join('\n');
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
}
