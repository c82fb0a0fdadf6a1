import { maxClockSkewSeconds } from '@protocol/signing';
import type { Queryable } from '../db/database';

export function nonceRepository(db: Queryable) {
  return {
    /** Records a nonce; false when this device used it before (a replay). */
    async claim(device: string, nonce: string): Promise<boolean> {
      const rows = await db.query(
        'insert into request_nonces (device, nonce) values ($1, $2) on conflict do nothing returning 1 as claimed',
        [device, nonce],
      );
      return rows.length === 1;
    },

    /** Forgets nonces older than twice the allowed skew: their timestamps are rejected as stale anyway. */
    async prune(): Promise<void> {
      await db.query(`delete from request_nonces where seen_at < now() - make_interval(secs => $1)`, [
        maxClockSkewSeconds * 2,
      ]);
    },
  };
}
