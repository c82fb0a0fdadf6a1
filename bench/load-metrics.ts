import { readdir, readFile, readlink } from 'node:fs/promises';

/** Latencies per endpoint and errors by endpoint, HTTP status and error code, for one step of the load bench. */
export class LoadRecorder {
  readonly latencies = new Map<string, number[]>();
  readonly errors = new Map<string, number>();
  /** Record verdicts that are not `accepted` (a duplicate or a rejection), by code: the harness sends none on purpose. */
  readonly verdicts = new Map<string, number>();
  /** Requests the server turned away as overloaded (503 + Retry-After), by endpoint: shedding, not failure. */
  readonly shed = new Map<string, number>();
  /** How long the shed requests took to be turned away (they are not in `latencies`). */
  readonly shedLatencies: number[] = [];

  latency(endpoint: string, ms: number): void {
    const list = this.latencies.get(endpoint) ?? [];
    list.push(ms);
    this.latencies.set(endpoint, list);
  }

  error(endpoint: string, what: string): void {
    const key = `${endpoint} ${what}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  shedOne(endpoint: string, ms: number): void {
    this.shed.set(endpoint, (this.shed.get(endpoint) ?? 0) + 1);
    this.shedLatencies.push(ms);
  }

  shedCount(): number {
    let total = 0;
    for (const count of this.shed.values()) total += count;
    return total;
  }

  verdict(what: string): void {
    this.verdicts.set(what, (this.verdicts.get(what) ?? 0) + 1);
  }

  errorCount(): number {
    let total = 0;
    for (const count of this.errors.values()) total += count;
    for (const count of this.verdicts.values()) total += count;
    return total;
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux this runs on (USER_HZ). */
const ticksPerSecond = 100;

/** The pid listening on 127.0.0.1:`port`: the server itself, not the tsx launcher that spawned it. */
export async function listeningPid(port: number): Promise<number | undefined> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inode = table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${portHex}`) && fields[3] === '0A')?.[9];
  if (!inode) return undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      if (target === `socket:[${inode}]`) return Number(entry);
    }
  }
  return undefined;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / ticksPerSecond;
}

/** Resident memory of a process in bytes (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** CPU seconds of every PostgreSQL process on this machine (the database a PostgreSQL run talks to). */
export async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') total += await cpuSeconds(Number(entry));
  }
  return total;
}
