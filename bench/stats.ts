import { defaultLimitSettings, type LimitSettings } from '../server/src/scraping-settings';

/** Median of a list of numbers (the benchmarks report medians: these machines are noisy). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `fn` `runs` times and returns each run's wall time in milliseconds. */
export async function timeRuns(runs: number, fn: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** The server every bench request is signed for; bench servers accept exactly this origin. */
export const benchSigningServer = { origin: 'http://gleaner.bench', chainId: 31337 };
export const benchServerIdentity = { origins: [benchSigningServer.origin], chainId: benchSigningServer.chainId };

/** Benchmarks measure paths, not limits: no lease cap, no rate limits, no load shedding. */
export const benchLimits: LimitSettings = {
  ...defaultLimitSettings,
  leasesPerDevice: 1_000_000,
  taskLeasesPerDevice: 1_000_000,
  registrationsPerMinutePerIp: 0,
  deviceRequestsPerMinute: 0,
  maxEventLoopDelayMs: 0,
  maxEventLoopUtilization: 0,
  maxRequestsInFlight: 0,
};

/** A positive number from the environment (a bench's size or run count), or the fallback. */
export function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** A figure for a bench table: grouped thousands, `digits` decimals at most. */
export function formatFigure(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}
