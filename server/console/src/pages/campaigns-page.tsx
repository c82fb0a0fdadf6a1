import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { ProgressBar } from '@ui/progress-bar';
import { Cell, Table } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApi } from '../auth/api-key-context';
import { useCursorPages } from '../layout/cursor-pages';
import { formatDateTime } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { WorkStateBadge } from '../layout/work-state';
import { campaignIsLive, campaignProgress } from './campaign-progress';

/** The buyer's campaigns, newest first, a page at a time, with live progress while any is running. */
export function CampaignsPage() {
  const api = useApi();
  const pages = useCursorPages();
  const list = useQuery({
    queryKey: queryKeys.campaignList(pages.cursor),
    queryFn: () => buyerApi.campaigns(api, pages.cursor),
    refetchInterval: (query) => (query.state.data?.campaigns.some(campaignIsLive) ? 3000 : false),
  });
  return (
    <>
      <PageHeader title="Campaigns">
        <Link to="/campaigns/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New campaign
        </Link>
      </PageHeader>
      <QueryError error={list.error} />
      {list.isPending && <p>Loading campaigns…</p>}
      {list.data && list.data.campaigns.length === 0 && !pages.hasNewer && (
        <p className="text-stone-600">No campaigns yet: start one with a list of URLs or a few seeds.</p>
      )}
      {list.data && list.data.campaigns.length > 0 && (
        <Table caption="Campaigns, newest first" columns={['Name', 'State', 'Progress', 'Failed', 'Created']}>
          {list.data.campaigns.map((campaign) => {
            const progress = campaignProgress(campaign);
            return (
              <tr key={campaign.id}>
                <Cell>
                  <Link to="/campaigns/$campaignId" params={{ campaignId: campaign.id }} className="underline">
                    {campaign.name}
                  </Link>
                </Cell>
                <Cell>
                  <WorkStateBadge state={campaign.state} />
                </Cell>
                <Cell className="w-64">
                  <ProgressBar label={`Progress of ${campaign.name}`} value={progress.done} max={progress.total} />
                </Cell>
                <Cell>{campaign.counts.failed}</Cell>
                <Cell>{formatDateTime(campaign.createdAt)}</Cell>
              </tr>
            );
          })}
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
