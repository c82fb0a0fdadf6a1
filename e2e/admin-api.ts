import { type DeviceList, deviceListSchema } from '@protocol/devices';
import type { RunningServer } from './gleaner-server';

/** Reads the server's device list the way an operator does. */
export async function listDevices(server: RunningServer): Promise<DeviceList['devices']> {
  const response = await fetch(`${server.url}/v1/admin/devices`, {
    headers: { authorization: `Bearer ${server.operatorToken}` },
  });
  if (!response.ok) throw new Error(`GET /v1/admin/devices answered ${response.status}: ${await response.text()}`);
  return deviceListSchema.parse(await response.json()).devices;
}
