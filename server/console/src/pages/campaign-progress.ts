import type { Campaign } from '@protocol/campaigns';

/** Jobs finished (fetched, verified or failed) out of all jobs the campaign has so far. */
export function campaignProgress({ counts }: Pick<Campaign, 'counts'>): { done: number; total: number } {
  const done = counts.fetched + counts.verified + counts.failed;
  return { done, total: done + counts.queued + counts.leased };
}

/**
 * Whether the numbers can still move: an active campaign, or any campaign with leases out (a paused or
 * cancelled one still accepts the pages already handed out).
 */
export function campaignIsLive(campaign: Pick<Campaign, 'state' | 'counts'>): boolean {
  return campaign.state === 'active' || campaign.counts.leased > 0;
}
