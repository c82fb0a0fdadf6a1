import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { startGleanerServer } from '../e2e/gleaner-server';
import { consentWith, extensionBuildDir, launchExtensionBrowser } from './extension-browser';
import { formatFigure, numberFromEnv } from './stats';

/** Linux clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every common kernel). */
const ticksPerSecond = 100;
const sampleEveryMs = 1_000;

interface ProcessInfo {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
  /** Context switches of all its threads: each is the process waking up (or being woken). */
  switches: number;
  args: string[];
}

function readProcess(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    let switches = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) switches += Number(match[1]);
    }
    // Zygote children rewrite their title: one string with spaces rather than NUL-separated arguments.
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    return { pid, ppid, ticks, switches, args };
  } catch {
    return null; // It ended while being read.
  }
}

/** The Chromium started on `profile` and all its descendants (zygotes, GPU, network, renderers). */
function browserProcesses(profile: string): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo => info !== null);
  const root = all.find(
    (info) => info.args.includes(`--user-data-dir=${profile}`) && !info.args.some((arg) => arg.startsWith('--type=')),
  );
  if (!root) return [];
  const family = new Set([root.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const info of all) {
      if (!family.has(info.pid) && family.has(info.ppid)) {
        family.add(info.pid);
        grew = true;
      }
    }
  }
  return all.filter((info) => family.has(info.pid));
}

/** Sums the CPU ticks and switches each process spent between its first and last sample in the window. */
class Tally {
  private readonly first = new Map<number, ProcessInfo>();
  private readonly last = new Map<number, ProcessInfo>();
  add(info: ProcessInfo, seenBefore: boolean) {
    // A process born during the window counts from zero.
    if (!this.first.has(info.pid)) this.first.set(info.pid, seenBefore ? info : { ...info, ticks: 0, switches: 0 });
    this.last.set(info.pid, info);
  }
  get processes() {
    return this.first.size;
  }
  get ticks() {
    return [...this.last.values()].reduce((sum, info) => sum + info.ticks - (this.first.get(info.pid)?.ticks ?? 0), 0);
  }
  get switches() {
    return [...this.last.values()].reduce(
      (sum, info) => sum + info.switches - (this.first.get(info.pid)?.switches ?? 0),
      0,
    );
  }
}

const isRenderer = (info: ProcessInfo) => info.args.includes('--type=renderer');
const isExtensionRenderer = (info: ProcessInfo) => isRenderer(info) && info.args.includes('--extension-process');

/**
 * The extension at rest (goal: < 1 % CPU, only alarm wakeups): Chromium with the extension,
 * consent given to a local server that has no work, every page closed but one blank tab (the
 * anchor: an idle renderer of the same browser). For GLEANER_BENCH_IDLE_MINUTES (10) it samples
 * /proc each second: CPU time (utime + stime) and context switches of the extension's renderer
 * process, which hosts its service worker, against the blank tab's renderer and the whole browser.
 * Service worker starts are counted from Playwright's `serviceworker` events, and what woke it is
 * read from the server's request log: each sync alarm sends one heartbeat (GET /v1/devices/me),
 * and the burst it starts reads the points and asks for jobs. Caveat: Playwright attaches to the
 * worker over CDP, which seems to keep it (and its process) running between alarms, so the
 * process figures are an upper bound of what a browser without a debugger spends.
 */
export async function benchExtensionIdle(): Promise<string> {
  const minutes = numberFromEnv('GLEANER_BENCH_IDLE_MINUTES', 10);
  const extensionDir = extensionBuildDir();
  const server = await startGleanerServer({ env: { LOG_LEVEL: 'info' } });
  const { context, extensionId, profile } = await launchExtensionBrowser(extensionDir);
  try {
    await consentWith(context, extensionId, server.url);
    const blank = await context.newPage();
    for (const page of context.pages()) if (page !== blank) await page.close();
    // Let the first burst after consent finish before the window opens.
    await new Promise((settle) => setTimeout(settle, 30_000));

    let workerStarts = 0;
    context.on('serviceworker', () => {
      workerStarts += 1;
    });
    const requestsBefore = server.output().length;
    const extension = new Tally();
    const anchor = new Tally();
    const browser = new Tally();
    const seen = new Set(browserProcesses(profile).map((info) => info.pid));
    const blankPid = blankRendererPid(profile);
    const startedAt = Date.now();
    const endsAt = startedAt + minutes * 60_000;
    for (;;) {
      for (const info of browserProcesses(profile)) {
        const before = seen.has(info.pid);
        browser.add(info, before);
        if (isExtensionRenderer(info)) extension.add(info, before);
        if (info.pid === blankPid) anchor.add(info, before);
      }
      if (Date.now() >= endsAt) break;
      await new Promise((wait) => setTimeout(wait, sampleEveryMs));
    }
    const seconds = (Date.now() - startedAt) / 1000;
    const requests = countRequests(server.output().slice(requestsBefore));

    const cpu = (tally: Tally) => `${formatFigure((tally.ticks / ticksPerSecond / seconds) * 100, 3)} %`;
    const perMinute = (tally: Tally) => formatFigure(tally.switches / (seconds / 60), 0);
    const row = (name: string, tally: Tally) =>
      `  ${name.padEnd(34)} ${cpu(tally).padStart(9)} ${perMinute(tally).padStart(12)} ${String(tally.processes).padStart(9)}`;
    return [
      `extension at rest (Chromium headless, consent given, no work; ${formatFigure(seconds / 60, 1)} min sampled from /proc each second; goal < 1 % CPU, only alarm wakeups)`,
      `  ${''.padEnd(34)} ${'CPU'.padStart(9)} ${'switches/min'.padStart(12)} ${'processes'.padStart(9)}`,
      row('extension process (service worker)', extension),
      row('blank tab renderer (anchor)', anchor),
      row('whole browser', browser),
      `  service worker starts: ${workerStarts}; sync alarms expected: about ${formatFigure(seconds / 60, 0)} (one a minute)`,
      `  requests to the server: ${
        Object.entries(requests)
          .map(([path, count]) => `${path} ${count}`)
          .join(', ') || 'none'
      }`,
    ].join('\n');
  } finally {
    await context.close();
    await server.stop();
    await rm(profile, { recursive: true, force: true });
  }
}

/** The blank tab's renderer: the newest renderer that is not the extension's (the closed pages' are gone by now). */
function blankRendererPid(profile: string): number | null {
  const renderers = browserProcesses(profile).filter((info) => isRenderer(info) && !isExtensionRenderer(info));
  return renderers.at(-1)?.pid ?? null;
}

/** Requests by path from the server's pino log ("incoming request" lines). */
function countRequests(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.includes('"incoming request"')) continue;
    const url = /"url":"([^"?]*)/.exec(line)?.[1];
    if (url) counts[url] = (counts[url] ?? 0) + 1;
  }
  return counts;
}
