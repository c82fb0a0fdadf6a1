import { BaseError } from '@protocol/errors';
import type { DevicePointsByDay, DevicePointsByDayQuery } from '@protocol/points';
import type { Queryable } from '../db/database';

/**
 * One device's points and labels per day in the person's own time zone, for the extension's history.
 * The days are dates in `$2` (an IANA zone PostgreSQL resolves, DST included), so the extension's local
 * "today" and the server's agree without either converting offsets. Same rule as the wallet chart
 * (services/contributor-dashboard.ts): reversal rows are left out and the work they reverse counts as
 * rejected on the day it was done.
 */
const pointsByDaySql = `
  with bounds as (
    select (now() at time zone $2)::date as today
  ),
  shown_days as (
    select generate_series(today - ($3::int - 1), today, interval '1 day')::date as day from bounds
  ),
  since as (
    -- The first shown day's local midnight as an instant, so the indexes on device still narrow the scan.
    select ((today - ($3::int - 1))::timestamp at time zone $2) as at from bounds
  ),
  ledger as (
    select (l.created_at at time zone $2)::date as day,
           case when l.state = 'verified'
                 and exists (select 1 from points_ledger r where r.reverses = l.id)
                then 'rejected' else l.state end as shown_state,
           l.points
      from points_ledger l, since
     where l.device = $1 and l.reverses is null and l.created_at >= since.at
  ),
  points as (
    select day,
           sum(points) filter (where shown_state = 'verified') as verified,
           sum(points) filter (where shown_state = 'pending') as pending,
           sum(points) filter (where shown_state = 'rejected') as rejected
      from ledger group by day
  ),
  labels_given as (
    select (b.labeled_at at time zone $2)::date as day, count(*) as labels
      from labels b, since
     where b.device = $1 and b.labeled_at >= since.at
     group by 1
  )
  select to_char(d.day, 'YYYY-MM-DD') as day,
         coalesce(p.verified, 0)::int8 as verified,
         coalesce(p.pending, 0)::int8 as pending,
         coalesce(p.rejected, 0)::int8 as rejected,
         coalesce(g.labels, 0)::int8 as labels
    from shown_days d
    left join points p on p.day = d.day
    left join labels_given g on g.day = d.day
   order by d.day`;

/** PostgreSQL's "invalid parameter value", raised for a time zone it does not know. */
const invalidParameterValue = '22023';

/** The device's history as the options page charts it. */
export function deviceHistory(db: Queryable) {
  return {
    /** Points (by state) and labels per local day of `query.timeZone`, oldest first, every day present. */
    async pointsByDay(device: string, query: DevicePointsByDayQuery): Promise<DevicePointsByDay> {
      let rows: Array<{
        day: string;
        verified: string | number;
        pending: string | number;
        rejected: string | number;
        labels: string | number;
      }>;
      try {
        rows = await db.query(pointsByDaySql, [device, query.timeZone, query.days]);
      } catch (error) {
        if ((error as { code?: unknown }).code === invalidParameterValue) {
          throw new BaseError(
            'bad_request',
            `timeZone ${query.timeZone} is not a time zone this server knows; send an IANA name such as Europe/Paris or UTC.`,
          );
        }
        throw error;
      }
      return {
        timeZone: query.timeZone,
        days: rows.map((row) => ({
          day: row.day,
          verified: Number(row.verified),
          pending: Number(row.pending),
          rejected: Number(row.rejected),
          labels: Number(row.labels),
        })),
      };
    },
  };
}
