import { type QueryKey, useQuery } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { Table } from '@ui/table';
import type { ReactNode } from 'react';
import type { ApiClient } from '../api/api-client';
import { useApi } from '../auth/api-key-context';
import { useCursorPages } from './cursor-pages';
import { QueryError } from './query-error';

/**
 * A newest-first list of the buyer's campaigns, projects or datasets, read a page at a time: loading and
 * empty states, a table of rows, Newer and Older. The page is read again every `pollEvery` milliseconds
 * while some row on it can still change.
 */
export function CursorList<Reply extends { next: string | null }, Row>({
  noun,
  listKey,
  fetchPage,
  rowsOf,
  pollEvery,
  empty,
  caption,
  columns,
  row,
}: {
  /** What the rows are, in the plural, for "Loading campaigns…". */
  noun: string;
  listKey: (cursor: string | undefined) => QueryKey;
  fetchPage: (api: ApiClient, cursor: string | undefined) => Promise<Reply>;
  rowsOf: (reply: Reply) => Row[];
  pollEvery: (rows: Row[]) => number | false;
  /** What an empty first page says. */
  empty: string;
  caption: string;
  columns: string[];
  row: (row: Row) => ReactNode;
}) {
  const api = useApi();
  const pages = useCursorPages();
  const list = useQuery({
    queryKey: listKey(pages.cursor),
    queryFn: () => fetchPage(api, pages.cursor),
    refetchInterval: (query) => (query.state.data ? pollEvery(rowsOf(query.state.data)) : false),
  });
  const rows = list.data ? rowsOf(list.data) : [];
  return (
    <>
      <QueryError error={list.error} />
      {list.isPending && <p>Loading {noun}…</p>}
      {list.data && rows.length === 0 && !pages.hasNewer && <p className="text-stone-600">{empty}</p>}
      {rows.length > 0 && (
        <Table caption={caption} columns={columns}>
          {rows.map(row)}
        </Table>
      )}
      <div className="mt-4 flex gap-2">
        <Button variant="secondary" disabled={!pages.hasNewer} onClick={pages.newer}>
          Newer
        </Button>
        <Button
          variant="secondary"
          disabled={!list.data?.next}
          onClick={() => list.data?.next && pages.older(list.data.next)}
        >
          Older
        </Button>
      </div>
    </>
  );
}
