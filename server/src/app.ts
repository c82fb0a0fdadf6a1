import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ChainInfo } from '@protocol/chain';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppContext } from './app-context';
import type { DatasetSettings } from './datasets/dataset-settings';
import { temporaryDatasetSettings } from './datasets/temporary-dataset-settings';
import { type DeviceSessionLimits, deviceSessions } from './plugins/device-sessions';
import { setupErrorHandler } from './plugins/error-handler';
import { setupLimits } from './plugins/limits';
import { setupRequestBody } from './plugins/request-body';
import type { WorkQueue } from './queue/work-queue';
import { nonceRepository } from './repositories/nonce-repository';
import { defaultRewardSettings, type RewardSettings } from './rewards/reward-settings';
import { adminRoutes } from './routes/admin';
import { adminDatasetRoutes } from './routes/admin-datasets';
import { buyerRoutes } from './routes/buyers';
import { campaignRoutes } from './routes/campaigns';
import { chainRoutes } from './routes/chain';
import { contributorRoutes } from './routes/contributors';
import { datasetRoutes } from './routes/datasets';
import { deviceRoutes } from './routes/devices';
import { epochRoutes } from './routes/epochs';
import { healthRoutes } from './routes/health';
import { projectRoutes } from './routes/projects';
import { scrapeJobRoutes } from './routes/scrape-jobs';
import { walletRoutes } from './routes/wallets';
import {
  type BackgroundWorkSettings,
  loadBackgroundWorkSettings,
  startBackgroundWork,
} from './services/background-work';
import { createAggregationPool, defaultAggregationPoolOptions } from './services/label-aggregation-pool';
import { processPendingRobots } from './services/robots-service';
import { closeExtractionPool } from './verification/extraction-pool';
import { startVerificationWorker } from './verification/worker';

export interface BuildAppOptions extends AppContext {
  /** Device session limits (TTL, per device, in all, replay window); default `defaultDeviceSessionLimits`. */
  deviceSessions?: DeviceSessionLimits;
  logger?: FastifyServerOptions['logger'];
  /** How often quiet pools draw audits and late audits are settled by the server; 0: never (tests drive it by hand). */
  verificationIntervalMs?: number;
  /** How often the server fetches missing robots.txt files; 0 turns the worker off (tests drive it by hand). */
  robotsIntervalMs?: number;
  /** Folder of the built web console; `/` explains how to build it when it is missing. */
  consoleDir?: string;
  /** This process's part in the durable work queue; unset values come from the GLEANER_* environment. */
  work?: Partial<BackgroundWorkSettings>;
  /** JSON-RPC of the reward chain, through which wallet signatures are verified (smart-contract wallets too); unset: plain keys only. */
  chainRpcUrl?: string;
  /** Where dataset files go and how builds size them; unset (tests, benches): local files in a temporary folder removed on close. */
  datasets?: DatasetSettings;
  /** Epoch pool and schedule; unset: the defaults (1,000 tokens an epoch, closed by the operator). */
  rewards?: RewardSettings;
  /** The reward chain and its contracts as the console sees them; unset: the configured chain id, no contracts. */
  chain?: ChainInfo;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's worker of the durable work queue (tests `drain()` it). */
    workQueue: WorkQueue;
  }
}

/** Builds the Fastify app without listening, so tests can `inject` into it. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 16 * 1024 * 1024,
    // A request must have arrived whole within this (Fastify's default is no limit): a client that
    // trickles its body cannot keep a socket forever.
    requestTimeout: 120_000,
    // Who the client is for the per-IP limits: behind a load balancer, its X-Forwarded-For.
    trustProxy: options.scraping.limits.trustProxy,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('device', null);
  app.decorateRequest('signedFor', null);
  app.decorateRequest('buyer', null);
  // Device sessions live in this process's memory: another process answers their requests `session_unknown`.
  app.decorate('deviceSessions', deviceSessions(options.deviceSessions));
  setupRequestBody(app);
  setupErrorHandler(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await setupLimits(app, options.scraping.limits);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Gleaner API',
        version: options.version,
        description:
          'Devices sign every request with EIP-712 (x-gleaner-* headers); buyers use API keys; operators use the operator token. ' +
          'Registrations are limited per client IP and signed requests per device (429 rate_limited with Retry-After); ' +
          'an overloaded server answers any route 503 overloaded with Retry-After instead of queueing.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Buyer API key (glk_…)' },
          operatorToken: { type: 'http', scheme: 'bearer', description: 'Operator token' },
          deviceSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'x-gleaner-signature',
            description:
              'EIP-712 signature of Request{method, path, bodyHash (SHA-256 of the exact body bytes), timestamp, nonce} in the domain {name: Gleaner, version: 2, chainId, salt: keccak256(server origin)} (see protocol/signing.ts), low-s, sent with x-gleaner-device, x-gleaner-timestamp, x-gleaner-nonce and x-gleaner-server.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const context: AppContext = {
    db: options.db,
    operatorToken: options.operatorToken,
    version: options.version,
    scraping: options.scraping,
    server: options.server,
  };
  const robotsWorker = startRobotsWorker(app, context, options.robotsIntervalMs ?? 2000);
  const verification = startVerificationWorker(
    options.db,
    options.scraping,
    app.log,
    options.verificationIntervalMs ?? 30_000,
  );
  app.addHook('onClose', async () => {
    await verification.close();
    await closeExtractionPool();
  });
  await app.register(healthRoutes, context);
  await app.register(deviceRoutes, context);
  await app.register(walletRoutes, { ...context, chainRpcUrl: options.chainRpcUrl });
  await app.register(buyerRoutes, context);
  await app.register(campaignRoutes, { ...context, onCampaignCreated: robotsWorker.kick });
  const datasets = options.datasets ?? (await temporaryDatasetSettings());
  if (!options.datasets) app.addHook('onClose', () => datasets.storage.close());
  // This app's own fitting thread (started on the first fit), so closing one app never cuts another's fit short.
  const aggregationPool = createAggregationPool(defaultAggregationPoolOptions);
  const work = startBackgroundWork(
    options.db,
    { ...loadBackgroundWorkSettings(process.env), ...options.work },
    datasets,
    app.log,
    aggregationPool,
  );
  app.decorate('workQueue', work);
  app.addHook('onClose', () => work.close());
  // Runs before the work queue's close (hooks run last-added first): a fit in progress ends now and its item is
  // queued again (WorkInterrupted), instead of shutdown waiting up to the fit's deadline, past server.ts's forced
  // exit at 10 s (which would skip closing the database). The queue stops claiming first, so that item is left to
  // the next process rather than claimed straight back; a fit this app starts after its pool closed fails alike.
  app.addHook('onClose', async () => {
    work.stop();
    await aggregationPool.close();
  });
  // Labels arrive: ingest queued their projects' aggregation (and payment) in its transaction; run it now.
  const onLabels = () => work.kick();
  await app.register(scrapeJobRoutes, { ...context, onLabels });
  await app.register(projectRoutes, context);
  await app.register(datasetRoutes, { ...context, datasets, onDatasetCreated: () => work.kick() });
  await app.register(adminRoutes, { ...context, workQueue: work });
  await app.register(adminDatasetRoutes, context);
  const rewards = options.rewards ?? defaultRewardSettings;
  await app.register(epochRoutes, { ...context, rewards, storage: datasets.storage });
  await app.register(contributorRoutes, { ...context, rewards, chainRpcUrl: options.chainRpcUrl });
  const chain = options.chain ?? { chainId: options.server.chainId, rpcUrl: null, local: false, contracts: null };
  await app.register(chainRoutes, { ...context, chain });

  if (options.consoleDir && existsSync(options.consoleDir)) {
    await app.register(fastifyStatic, { root: options.consoleDir, prefix: '/', index: ['index.html'] });
  } else {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/plain')
        .send('Gleaner server is running. The web console is not built: run `npm run build:console`.'),
    );
  }

  const nonces = nonceRepository(options.db);
  const pruneTimer = setInterval(() => {
    nonces.prune().catch((err: unknown) => app.log.warn({ err }, 'could not prune request nonces'));
  }, 60_000);
  pruneTimer.unref();
  app.addHook('onClose', async () => clearInterval(pruneTimer));

  return app;
}

/**
 * Fetches robots.txt for new origins in the background, so leasing never waits on the network.
 * `kick` runs it at once (after a campaign is created); runs never overlap.
 */
function startRobotsWorker(app: FastifyInstance, context: AppContext, intervalMs: number) {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running || intervalMs <= 0) return;
    running = processPendingRobots(context.db, context.scraping)
      .then(() => undefined)
      .catch((err: unknown) => app.log.warn({ err }, 'robots.txt worker failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = intervalMs > 0 ? setInterval(run, intervalMs) : undefined;
  timer?.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
  return { kick: run };
}
