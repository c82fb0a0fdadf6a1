import { useState } from 'react';

/**
 * Paging through a newest-first list with opaque `before` cursors: the cursors of the pages seen are kept,
 * so "newer" goes back exactly to the page that was shown.
 */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const current = cursors[cursors.length - 1];
  return {
    cursor: current,
    pageNumber: cursors.length,
    older: (next: string) => setCursors((seen) => [...seen, next]),
    newer: () => setCursors((seen) => (seen.length > 1 ? seen.slice(0, -1) : seen)),
    hasNewer: cursors.length > 1,
  };
}
