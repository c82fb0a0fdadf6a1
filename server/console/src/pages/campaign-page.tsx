import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { ProgressBar } from '@ui/progress-bar';
import { Cell, Table } from '@ui/table';
import { useState } from 'react';
import { buyerApi, type WorkAction } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApplyUpdate } from '../api/use-apply-update';
import { useApi } from '../auth/api-key-context';
import { Fact, Facts } from '../layout/facts';
import { formatDateTime } from '../layout/format';
import { PageHeader, Section } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { WorkControls } from '../layout/work-controls';
import { WorkStateBadge } from '../layout/work-state';
import { campaignIsLive, campaignProgress } from './campaign-progress';

const pageSize = 50;

/** One campaign: live progress, failures with their reasons, the stored pages, and its controls. */
export function CampaignPage({ campaignId }: { campaignId: string }) {
  const api = useApi();
  const applyUpdate = useApplyUpdate(queryKeys.campaign(campaignId), queryKeys.campaigns);
  const campaign = useQuery({
    queryKey: queryKeys.campaign(campaignId),
    queryFn: () => buyerApi.campaign(api, campaignId),
    refetchInterval: (query) => (query.state.data && campaignIsLive(query.state.data) ? 2000 : false),
  });
  const act = async (action: WorkAction) => applyUpdate(await buyerApi.controlCampaign(api, campaignId, action));
  if (campaign.isPending) return <p>Loading the campaign…</p>;
  if (campaign.isError) return <QueryError error={campaign.error} />;
  const { data } = campaign;
  const progress = campaignProgress(data);
  return (
    <>
      <PageHeader title={data.name}>
        <WorkStateBadge state={data.state} />
      </PageHeader>
      <div className="space-y-6">
        <Section title="Progress">
          <ProgressBar label="Campaign progress" value={progress.done} max={progress.total} />
          <Facts>
            <Fact term="Queued" testId="count-queued">
              {data.counts.queued}
            </Fact>
            <Fact term="Being fetched" testId="count-leased">
              {data.counts.leased}
            </Fact>
            <Fact term="Fetched, awaiting verification" testId="count-fetched">
              {data.counts.fetched}
            </Fact>
            <Fact term="Verified" testId="count-verified">
              {data.counts.verified}
            </Fact>
            <Fact term="Failed" testId="count-failed">
              {data.counts.failed}
            </Fact>
            <Fact term="Created">{formatDateTime(data.createdAt)}</Fact>
            <Fact term="Follows links">
              {data.maxDepth > 0
                ? `to depth ${data.maxDepth}${data.maxPages === null ? '' : `, at most ${data.maxPages.toLocaleString('en-US')} pages`}`
                : 'no'}
            </Fact>
            <Fact term="Keeps raw HTML">{data.keepRawHtml ? 'yes' : 'no'}</Fact>
          </Facts>
          <WorkControls what="campaign" state={data.state} act={act} />
        </Section>
        <Section title="Failures">
          {data.failures.length === 0 ? (
            <p className="text-sm text-stone-600">No page has failed.</p>
          ) : (
            <Table caption="Why pages failed, most frequent first" columns={['Reason', 'Pages']}>
              {data.failures.map((failure) => (
                <tr key={failure.reason}>
                  <Cell>{failure.reason}</Cell>
                  <Cell>{failure.count}</Cell>
                </tr>
              ))}
            </Table>
          )}
        </Section>
        <StoredPages campaignId={campaignId} stored={data.counts.fetched + data.counts.verified} />
      </div>
    </>
  );
}

/**
 * The pages table follows the campaign's own numbers: when more pages are stored the list is read again,
 * and the rows shown stay in place while it loads.
 */
function StoredPages({ campaignId, stored }: { campaignId: string; stored: number }) {
  const api = useApi();
  const [afters, setAfters] = useState<number[]>([0]);
  const after = afters[afters.length - 1] ?? 0;
  const pages = useQuery({
    queryKey: queryKeys.campaignPages(campaignId, after, stored),
    queryFn: () => buyerApi.campaignPages(api, campaignId, after, pageSize),
    placeholderData: keepPreviousData,
  });
  return (
    <Section title="Stored pages">
      <QueryError error={pages.error} />
      {pages.data && pages.data.pages.length === 0 && <p className="text-sm text-stone-600">No page stored yet.</p>}
      {pages.data && pages.data.pages.length > 0 && (
        <Table
          caption="Pages stored for this campaign, oldest first"
          columns={['URL', 'Status', 'Content type', 'Links', 'Words', 'Verification', 'Fetched']}
        >
          {pages.data.pages.map((page) => (
            <tr key={page.id}>
              <Cell className="max-w-md break-all">
                <a href={page.finalUrl} className="underline" rel="noreferrer noopener" target="_blank">
                  {page.url}
                </a>
                {page.finalUrl !== page.url && <p className="text-xs text-stone-500">→ {page.finalUrl}</p>}
              </Cell>
              <Cell>{page.httpStatus}</Cell>
              <Cell>{page.contentType}</Cell>
              <Cell>{page.links.length}</Cell>
              <Cell>{countWords(page.text)}</Cell>
              <Cell>{page.verification}</Cell>
              <Cell>{formatDateTime(page.fetchedAt)}</Cell>
            </tr>
          ))}
        </Table>
      )}
      <div className="flex gap-2">
        <Button variant="secondary" disabled={afters.length < 2} onClick={() => setAfters((seen) => seen.slice(0, -1))}>
          Earlier pages
        </Button>
        <Button
          variant="secondary"
          disabled={pages.data?.next == null}
          onClick={() => {
            const next = pages.data?.next;
            if (next != null) setAfters((seen) => [...seen, next]);
          }}
        >
          Later pages
        </Button>
      </div>
    </Section>
  );
}

function countWords(text: string): number {
  const words = text.trim().split(/\s+/);
  return words[0] === '' ? 0 : words.length;
}
