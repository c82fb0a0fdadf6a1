import { deviceRegistrationSchema, deviceSchema } from '@protocol/devices';
import { errorBodySchema } from '@protocol/errors';
import { devicePointsByDayQuerySchema, devicePointsByDaySchema } from '@protocol/points';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceSigned } from '../plugins/device-auth';
import { deviceRepository } from '../repositories/device-repository';
import { deviceHistory } from '../services/device-history';

export const deviceRoutes: FastifyPluginAsyncZod<AppContext> = async (app, context) => {
  const { db } = context;
  const devices = deviceRepository(db);
  const registration = deviceSigned(context, { allowUnknownDevice: true, maxInflatedBytes: 16 * 1024 });

  app.post(
    '/v1/devices',
    {
      ...registration,
      // Anyone can make a key and register it, so registrations are counted per client IP.
      config: { ...registration.config, limitPerIp: true },
      // A registration is a few dozen bytes; anything larger is refused before its hash is computed.
      bodyLimit: 4096,
      schema: {
        summary: 'Register the signing device (idempotent)',
        tags: ['devices'],
        security: [{ deviceSignature: [] }],
        body: deviceRegistrationSchema,
        response: {
          200: deviceSchema,
          201: deviceSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          429: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const address = request.device;
      if (!address) throw new Error('device auth did not run');
      const { device, created } = await devices.upsert(address, request.body);
      if (created) request.log.info({ device: address }, 'device registered');
      return reply.status(created ? 201 : 200).send(device);
    },
  );

  app.get(
    '/v1/devices/me',
    {
      ...deviceSigned(context),
      schema: {
        summary: 'The signing device as the server knows it',
        tags: ['devices'],
        security: [{ deviceSignature: [] }],
        response: { 200: deviceSchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => {
      const address = request.device;
      if (!address) throw new Error('device auth did not run');
      await devices.touch(address);
      const device = await devices.findByAddress(address);
      if (!device) throw new Error('verified device vanished');
      return device;
    },
  );

  app.get(
    '/v1/devices/me/points-by-day',
    {
      ...deviceSigned(context),
      schema: {
        summary:
          "The signing device's points (verified, pending, rejected) and labels per day in the person's time zone",
        description:
          'Every day of the last `days` (today in `timeZone` included) is present, oldest first. Reversed work counts as rejected on the day it was done; labels count on the day they were given.',
        tags: ['devices'],
        security: [{ deviceSignature: [] }],
        querystring: devicePointsByDayQuerySchema,
        response: { 200: devicePointsByDaySchema, 400: errorBodySchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request) => {
      const address = request.device;
      if (!address) throw new Error('device auth did not run');
      return deviceHistory(db).pointsByDay(address, request.query);
    },
  );
};
