import { z } from 'zod';
import { labelerStandingSchema } from './labeling';
import { pointsSummarySchema } from './points';
import { addressSchema, isoDateSchema, storedTextSchema } from './primitives';

/** Body of `POST /v1/devices`; the device proves it holds its key by signing the request. */
export const deviceRegistrationSchema = z.object({
  extensionVersion: z.string().min(1).max(32).pipe(storedTextSchema),
  browser: z.enum(['chrome', 'firefox', 'other']),
});
export type DeviceRegistration = z.infer<typeof deviceRegistrationSchema>;

export const deviceSchema = z.object({
  address: addressSchema,
  extensionVersion: z.string(),
  browser: z.string(),
  registeredAt: isoDateSchema,
  lastSeenAt: isoDateSchema,
});
export type Device = z.infer<typeof deviceSchema>;

export const deviceListSchema = z.object({ devices: z.array(deviceSchema) });
export type DeviceList = z.infer<typeof deviceListSchema>;

/** `GET /v1/admin/devices/:address`: what an operator sees of one device. */
export const deviceDetailSchema = z.object({
  device: deviceSchema,
  points: pointsSummarySchema,
  labeling: labelerStandingSchema,
});
