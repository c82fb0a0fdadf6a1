import { fileURLToPath } from 'node:url';
import { buildApp } from './app';
import { loadChainSettings } from './chain/chain-settings';
import { startChain } from './chain/start-chain';
import { loadConfig } from './config';
import { loadDatasetSettings } from './datasets/dataset-settings';
import type { Database } from './db/database';
import { chromeBuildDir, extensionBuildAdvice, normalizeOrigins } from './extension-build';
import { openDatabase } from './open-database';
import { loadOrCreateOperatorToken, operatorTokenFile } from './operator-token';
import { loadRewardSettings } from './rewards/reward-settings';
import { loadScrapingSettings } from './scraping-settings';
import { serverVersion } from './version';

const consoleDir = fileURLToPath(new URL('../console/dist/', import.meta.url));

/** Closed if the start fails after the database opened, so PGlite is left flushed and unlocked. */
let openedDatabase: Database | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  const scraping = loadScrapingSettings(process.env);
  const { db, applied } = await openDatabase(config);
  openedDatabase = db;
  const operatorToken = await loadOrCreateOperatorToken(config.dataDir, config.operatorToken);
  const datasets = await loadDatasetSettings(process.env, config.dataDir);
  const rewards = loadRewardSettings(process.env);
  const chainSettings = loadChainSettings(process.env, config.chainId);
  // Started before the app so the console is told a chain that answers; stopped if anything after fails.
  const chain = await startChain(chainSettings, config.dataDir);
  const app = await buildApp({
    db,
    operatorToken,
    version: serverVersion,
    scraping,
    server: { origins: config.publicOrigins, chainId: config.chainId },
    consoleDir,
    datasets,
    rewards,
    chainRpcUrl: chain.rpcUrl ?? config.chainRpcUrl,
    chain: chain.info,
    logger: { level: config.logLevel },
  }).catch(async (error: unknown) => {
    await chain.stop();
    throw error;
  });
  app.log.info({ chain: chain.info }, chain.summary);
  if (chainSettings.kind === 'local' && chainSettings.operatorKey.source === 'anvil-dev-account') {
    app.log.warn(
      `The local chain's operator is anvil's first dev account (${chainSettings.operatorKey.address}), whose key is public: fine for this local chain only. Set GLEANER_OPERATOR_KEY to use your own.`,
    );
  }
  if (applied.length > 0) app.log.info({ applied }, 'database migrated');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const forceExit = setTimeout(() => process.exit(1), 10_000);
    forceExit.unref();
    let code = 0;
    try {
      await app.close();
      await chain.stop();
      await datasets.storage.close();
    } catch (err) {
      app.log.error({ err }, 'error while shutting down');
      code = 1;
    }
    // Whatever failed before, the database is closed: PGlite flushes its folder and lets go of its lock.
    await db.close().catch((err: unknown) => {
      app.log.error({ err }, 'error while closing the database');
      code = 1;
    });
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host }).catch(async (error: unknown) => {
    await chain.stop();
    throw error;
  });
  const shown = address.replace('[::1]', 'localhost');
  app.log.info(
    {
      console: `${shown}/`,
      api: `${shown}/docs`,
      database: config.databaseUrl ? 'postgres' : `pglite in ${config.dataDir}`,
      operatorToken: config.operatorToken ? 'from GLEANER_OPERATOR_TOKEN' : operatorTokenFile(config.dataDir),
      extension: chromeBuildDir(normalizeOrigins(scraping.testOrigins), process.env.GLEANER_EXTENSION_OUT_DIR),
    },
    'Gleaner is running',
  );
  // A few plain lines for people, since pino's JSON is for machines. The extension line names the
  // build that matches this server's test origins, or says how to build it: any other would refuse them.
  const extension = extensionBuildAdvice(scraping.testOrigins, process.env.GLEANER_EXTENSION_OUT_DIR);
  process.stdout.write(`\nGleaner server: ${shown}/  (API docs ${shown}/docs)\n${chain.summary}\n${extension}\n\n`);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`Gleaner server could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  await openedDatabase?.close().catch(() => undefined);
  process.exit(1);
});
