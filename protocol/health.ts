import { z } from 'zod';

export const healthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgres']),
  uptimeSeconds: z.number(),
  devices: z.number().int(),
  /**
   * This process's device sessions: how many it holds, and the session requests it accepted and refused
   * (a bad MAC or a replayed counter; an unknown session is not counted) since it started.
   */
  deviceSessions: z.object({ held: z.number().int(), accepted: z.number().int(), refused: z.number().int() }),
});
export type Health = z.infer<typeof healthSchema>;
