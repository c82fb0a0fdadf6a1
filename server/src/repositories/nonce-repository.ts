import { maxClockSkewSeconds } from '@protocol/signing';
import type { Queryable } from '../db/database';

/** What became of a request's nonce: recorded, seen before from this device, or not recorded (unknown device). */
export type NonceClaim = 'claimed' | 'replayed' | 'device_unknown';

export function nonceRepository(db: Queryable) {
  return {
    /**
     * Records a device's nonce, in the same statement as the check that the device is registered (one round
     * trip per signed request): an unknown device's nonce is not recorded. `anyDevice` records it without
     * that check, for the registration request of a device the server does not know yet.
     */
    async claim(device: string, nonce: string, { anyDevice = false } = {}): Promise<NonceClaim> {
      const rows = await db.query<{ known: boolean; claimed: boolean }>(
        `with known as (select 1 from devices where address = $1 and not $3::boolean),
         claimed as (
           insert into request_nonces (device, nonce) select $1, $2 where $3::boolean or exists (select 1 from known)
           on conflict do nothing returning 1
         )
         select $3::boolean or exists (select 1 from known) as known, exists (select 1 from claimed) as claimed`,
        [device, nonce, anyDevice],
      );
      const row = rows[0];
      if (!row?.known) return 'device_unknown';
      return row.claimed ? 'claimed' : 'replayed';
    },

    /** Forgets nonces older than twice the allowed skew: their timestamps are rejected as stale anyway. */
    async prune(): Promise<void> {
      await db.query(`delete from request_nonces where seen_at < now() - make_interval(secs => $1)`, [
        maxClockSkewSeconds * 2,
      ]);
    },
  };
}
