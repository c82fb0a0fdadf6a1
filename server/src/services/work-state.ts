import { BaseError } from '@protocol/errors';
import type { Queryable } from '../db/database';

/** What a buyer does to a campaign or a project. */
export type WorkAction = 'pause' | 'resume' | 'cancel';

/** The state each action leads to. */
export type WorkTarget = 'paused' | 'active' | 'cancelled';

const targets: Record<WorkAction, WorkTarget> = { pause: 'paused', resume: 'active', cancel: 'cancelled' };

/**
 * The one rule of a campaign's or project's state: pause and resume go back and forth, cancel is for good.
 * Sets the state the action leads to and returns it; null when the row is not this buyer's (404). Pausing
 * or resuming twice is harmless; pausing or resuming a cancelled one is a 409 `conflict`. The update alone
 * decides (it re-reads a row another control just changed), so a cancel racing a resume cannot leave a
 * cancelled row active; `owner` only tells 404 from 409.
 */
export async function changeWorkState(
  db: Queryable,
  table: 'campaigns' | 'projects',
  query: { id: string; buyerId: string; action: WorkAction },
): Promise<WorkTarget | null> {
  const target = targets[query.action];
  const rows = await db.query<{ owner: boolean; changed: boolean }>(
    `with changed as (update ${table} set state = $3 where id = $1 and buyer_id = $2 and state <> 'cancelled'
                       returning 1)
     select exists (select 1 from ${table} where id = $1 and buyer_id = $2) as owner,
            exists (select 1 from changed) as changed`,
    [query.id, query.buyerId, target],
  );
  if (!rows[0]?.owner) return null;
  if (!rows[0].changed && target !== 'cancelled') {
    const noun = table === 'campaigns' ? 'campaign' : 'project';
    throw new BaseError(
      'conflict',
      `${noun[0]?.toUpperCase()}${noun.slice(1)} ${query.id} is cancelled; a cancelled ${noun} cannot be ${query.action}d.`,
      { details: { state: 'cancelled' } },
    );
  }
  return target;
}
