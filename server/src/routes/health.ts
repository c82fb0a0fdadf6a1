import { healthSchema } from '@protocol/health';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceRepository } from '../repositories/device-repository';

export const healthRoutes: FastifyPluginAsyncZod<AppContext> = async (app, { db, version }) => {
  const devices = deviceRepository(db);
  app.get(
    '/health',
    { schema: { summary: 'Server and database status', tags: ['status'], response: { 200: healthSchema } } },
    async () => ({
      status: 'ok' as const,
      version,
      database: db.kind,
      uptimeSeconds: Math.round(process.uptime()),
      devices: await devices.count(),
    }),
  );
};
