import { healthSchema } from '@protocol/health';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceRepository } from '../repositories/device-repository';

/** How often /health's figures are read from the database, in the background. */
const refreshMs = 2000;

/**
 * /health answers from memory: what it reports of the database (the device count) is read in the
 * background every two seconds. On the embedded database a read waits behind any transaction in
 * progress, and a health check must not wait for an ingest to be answered.
 */
export const healthRoutes: FastifyPluginAsyncZod<AppContext> = async (app, { db, version }) => {
  const devices = deviceRepository(db);
  let deviceCount = await devices.count();
  let reading: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (reading) return;
    reading = devices
      .count()
      .then((count) => {
        deviceCount = count;
      })
      .catch((err: unknown) => app.log.warn({ err }, 'health: could not read the device count'))
      .finally(() => {
        reading = undefined;
      });
  }, refreshMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await reading;
  });

  app.get(
    '/health',
    { schema: { summary: 'Server and database status', tags: ['status'], response: { 200: healthSchema } } },
    async () => ({
      status: 'ok' as const,
      version,
      database: db.kind,
      uptimeSeconds: Math.round(process.uptime()),
      devices: deviceCount,
      deviceSessions: app.deviceSessions.figures(),
    }),
  );
};
