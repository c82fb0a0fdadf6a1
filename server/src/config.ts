import { resolve } from 'node:path';
import { defaultChainId } from '@protocol/signing';
import { z } from 'zod';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** `postgres://…` runs on real PostgreSQL; unset means embedded PGlite in `GLEANER_DATA_DIR`. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  /** Connections this process keeps to PostgreSQL (each replica its own pool: replicas × this ≤ max_connections). */
  GLEANER_DATABASE_POOL: z.coerce.number().int().min(1).max(1000).default(10),
  GLEANER_DATA_DIR: z.string().min(1).default('./data'),
  /** Operator token for the admin API and CLI; generated into the data folder when unset. */
  GLEANER_OPERATOR_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /**
   * Public origins of this server, comma-separated, as devices know it (device signatures name one).
   * Unset: http://HOST:PORT, plus the localhost spelling when HOST is a loopback address.
   */
  GLEANER_PUBLIC_URL: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }).transform((url) => new URL(url).origin)).min(1))
    .optional(),
  /** Chain id named in device signatures (and, later, the reward contracts' chain). */
  GLEANER_CHAIN_ID: z.coerce.number().int().positive().default(defaultChainId),
  /** JSON-RPC of the reward chain: wallet signatures are then verified through it (smart-contract wallets too). */
  CHAIN_RPC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Profiling: count every statement's calls and wall time, written as JSON to this file at shutdown. */
  GLEANER_QUERY_STATS: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface ServerConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  databasePool: number;
  dataDir: string;
  operatorToken: string | undefined;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  publicOrigins: string[];
  chainId: number;
  chainRpcUrl: string | undefined;
  queryStatsFile: string | undefined;
}

function defaultOrigins(host: string, port: number): string[] {
  const loopback = ['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'];
  if (loopback.includes(host)) return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  return [`http://${host.includes(':') ? `[${host}]` : host}:${port}`];
}

/** Reads and validates the environment once at boot; a bad value stops the start with a clear message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // An empty variable (`DATABASE_URL= npm start`) means unset, as in most shells' habits.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid environment:\n${problems}`);
  }
  const value = parsed.data;
  return {
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL,
    databasePool: value.GLEANER_DATABASE_POOL,
    dataDir: resolve(value.GLEANER_DATA_DIR),
    operatorToken: value.GLEANER_OPERATOR_TOKEN,
    logLevel: value.LOG_LEVEL,
    publicOrigins: value.GLEANER_PUBLIC_URL ?? defaultOrigins(value.HOST, value.PORT),
    chainId: value.GLEANER_CHAIN_ID,
    chainRpcUrl: value.CHAIN_RPC_URL,
    queryStatsFile: value.GLEANER_QUERY_STATS,
  };
}
