import { BaseError } from '@protocol/errors';
import type { Queryable } from '../db/database';

/**
 * The opaque cursor of a buyer's newest-first lists (campaigns, projects): the last row's
 * (created_at, id), keyset order. The time travels as PostgreSQL printed it, to the microsecond:
 * a JavaScript Date keeps milliseconds only, and a cursor rounded to them would skip or repeat
 * rows created within the same millisecond.
 */
export interface ListCursor {
  createdAt: string;
  id: string;
}

/** SQL for a row's created_at as cursor text: UTC, microseconds, read back exactly by `::timestamptz`. */
export const listCursorSql = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const cursorTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the cursor's time names a real moment (a day the month has, an hour of the day), as PostgreSQL needs. */
function isRealTime(text: string): boolean {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = (text.match(/\d+/g) ?? []).map(Number);
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Encodes a cursor as base64url text: opaque to clients, who only pass it back as `before`. */
export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

/** Decodes a `before` parameter; anything not made by `encodeListCursor` is a 400 that says so. */
export function decodeListCursor(text: string): ListCursor {
  const [createdAt, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !createdAt || !id || !cursorTime.test(createdAt) || !isRealTime(createdAt) || !uuid.test(id)) {
    throw new BaseError(
      'bad_request',
      'before is not a cursor from this list: pass the next value of a previous page.',
    );
  }
  return { createdAt, id };
}

/** The tables a buyer lists newest first. */
type BuyerListTable = 'campaigns' | 'projects' | 'datasets';

/**
 * One page of a buyer's rows, newest first: `limit` rows after the `before` cursor (400 for a cursor not made
 * here) and the cursor of the next page, null at the end. `columns` must select `id` and
 * `${listCursorSql('created_at')} as cursor`; `where` adds a condition on the table's own columns.
 */
export async function listNewestFirst<Row extends { id: string; cursor: string }>(
  db: Queryable,
  table: BuyerListTable,
  columns: string,
  query: { buyerId: string; before?: string | undefined; limit: number; where?: string },
): Promise<{ rows: Row[]; next: string | null }> {
  const before = query.before === undefined ? null : decodeListCursor(query.before);
  const rows = await db.query<Row>(
    `select ${columns} from ${table}
      -- The cursor's time goes in as text: the postgres driver would turn a timestamptz parameter into a JS Date, to the millisecond.
      where buyer_id = $1 ${query.where ? `and ${query.where}` : ''}
        and ($2::text is null or (created_at, id) < ($2::text::timestamptz, $3::uuid))
      order by created_at desc, id desc limit $4`,
    [query.buyerId, before?.createdAt ?? null, before?.id ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    rows: page,
    next: rows.length > query.limit && last ? encodeListCursor({ createdAt: last.cursor, id: last.id }) : null,
  };
}
