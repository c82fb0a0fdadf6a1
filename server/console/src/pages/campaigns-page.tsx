import { Link } from '@tanstack/react-router';
import { ProgressBar } from '@ui/progress-bar';
import { Cell } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { CursorList } from '../layout/cursor-list';
import { formatDateTime } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { WorkStateBadge } from '../layout/work-state';
import { campaignIsLive, campaignProgress } from './campaign-progress';

/** The buyer's campaigns, newest first, a page at a time, with live progress while any is running. */
export function CampaignsPage() {
  return (
    <>
      <PageHeader title="Campaigns">
        <Link to="/campaigns/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New campaign
        </Link>
      </PageHeader>
      <CursorList
        noun="campaigns"
        listKey={queryKeys.campaignList}
        fetchPage={buyerApi.campaigns}
        rowsOf={(reply) => reply.campaigns}
        pollEvery={(campaigns) => (campaigns.some(campaignIsLive) ? 3000 : false)}
        empty="No campaigns yet: start one with a list of URLs or a few seeds."
        caption="Campaigns, newest first"
        columns={['Name', 'State', 'Progress', 'Failed', 'Created']}
        row={(campaign) => {
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
        }}
      />
    </>
  );
}
