import { deviceRegistrationSchema, deviceSchema } from '@protocol/devices';
import { errorBodySchema } from '@protocol/errors';
import { devicePointsByDayQuerySchema, devicePointsByDaySchema } from '@protocol/points';
import { sessionOpenSchema, sessionSchema } from '@protocol/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../app-context';
import { deviceSigned } from '../plugins/device-auth';
import { deviceRepository, unregisteredDevice } from '../repositories/device-repository';
import { deviceHistory } from '../services/device-history';
import { defaultDevicePresenceOptions, devicePresence } from '../services/device-presence';

export const deviceRoutes: FastifyPluginAsyncZod<AppContext> = async (app, context) => {
  const { db } = context;
  const devices = deviceRepository(db);
  const registration = deviceSigned(context, { allowUnknownDevice: true, maxInflatedBytes: 16 * 1024 });
  // GET /v1/devices/me from memory, "last seen" written behind in one statement a second (device-presence.ts).
  const presence = devicePresence(db, {
    ...defaultDevicePresenceOptions,
    onFlushError: (err) => app.log.warn({ err }, 'could not record when devices were last seen; retrying'),
    onVanished: (addresses) => {
      app.log.warn({ devices: addresses.length }, 'devices seen here have no row any more; their sessions end');
      for (const address of addresses) app.deviceSessions.forgetDevice(address);
    },
  });
  app.addHook('onClose', () => presence.close());

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
      presence.registered(device);
      if (created) request.log.info({ device: address }, 'device registered');
      return reply.status(created ? 201 : 200).send(device);
    },
  );

  app.post(
    '/v1/devices/sessions',
    {
      // Signed by the device key itself: a session cannot open another, so a leaked session key dies with its session.
      ...deviceSigned(context, { signatureOnly: true, maxInflatedBytes: 1024 }),
      bodyLimit: 1024,
      schema: {
        summary: 'Open a device session: later requests carry an HMAC under an ECDH-derived key instead of a signature',
        description:
          "The body holds the device's ephemeral P-256 public key; the answer, the server's, a session id, its lifetime and the replay window. Both sides derive the key by ECDH and HKDF-SHA256 (protocol/sessions.ts). A session is held by the server process that opened it: another process, a restart or its expiry answers `session_unknown`.",
        tags: ['devices'],
        security: [{ deviceSignature: [] }],
        body: sessionOpenSchema,
        response: { 201: sessionSchema, 400: errorBodySchema, 401: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { device, signedFor } = request;
      if (!device || !signedFor) throw new Error('device auth did not run');
      return reply.status(201).send(app.deviceSessions.open(device, request.body.publicKey, signedFor));
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
      const device = await presence.seen(address);
      // A session outlived its device's row (a database restored or cleared under a running server).
      if (!device) throw unregisteredDevice(address);
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
