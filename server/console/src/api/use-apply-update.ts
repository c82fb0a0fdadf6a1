import { type QueryKey, useQueryClient } from '@tanstack/react-query';

/**
 * After a pause, resume or cancel: shows the API's answer on the page at once, without reading it again,
 * and marks the list it belongs to stale so the list shows the new state too.
 */
export function useApplyUpdate<T>(oneKey: QueryKey, listKey: QueryKey): (updated: T) => Promise<void> {
  const queryClient = useQueryClient();
  return (updated) => {
    queryClient.setQueryData(oneKey, updated);
    return queryClient.invalidateQueries({ queryKey: listKey });
  };
}
