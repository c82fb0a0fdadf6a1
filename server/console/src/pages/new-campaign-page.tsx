import { maxUrlsPerRequest } from '@protocol/campaigns';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { CheckboxField, TextAreaField, TextField } from '@ui/field';
import { ProgressBar } from '@ui/progress-bar';
import { Cell, Table } from '@ui/table';
import { type ChangeEvent, type FormEvent, useState } from 'react';
import { describeError } from '../api/api-client';
import { queryKeys } from '../api/query-keys';
import { usePendingWork } from '../api/use-pending-work';
import { useApi } from '../auth/api-key-context';
import { PageHeader, Section } from '../layout/page-header';
import { ProblemList } from '../layout/problem-list';
import { type LineProblem, urlsFromCsv, urlsFromText } from '../parse/url-list';
import { type CampaignUpload, createCampaignInBatches, sendRemainingUrls } from './campaign-upload';

type Source = 'list' | 'seeds' | 'csv';

const sourceWords: Record<Source, string> = {
  list: 'A list of URLs',
  seeds: 'Seeds whose links are followed',
  csv: 'A CSV file',
};

/** Start a campaign from a URL list, seeds with a depth, or a CSV file; big lists go in batches. */
export function NewCampaignPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [source, setSource] = useState<Source>('list');
  const [urlText, setUrlText] = useState('');
  const [seedText, setSeedText] = useState('');
  const [maxDepth, setMaxDepth] = useState('2');
  const [maxPages, setMaxPages] = useState('1000');
  const [csv, setCsv] = useState<{ name: string; urls: string[]; problems: LineProblem[] } | null>(null);
  const [csvError, setCsvError] = useState<string | null>(null);
  const [keepRawHtml, setKeepRawHtml] = useState(false);
  const { pending, error, run } = usePendingWork();
  const [upload, setUpload] = useState<CampaignUpload | null>(null);
  /** The URLs of the upload under way, to resume after a failed batch. */
  const [sending, setSending] = useState<{ urls: string[]; seeds: number } | null>(null);

  const readCsv = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    setCsv(null);
    setCsvError(null);
    if (!file) return;
    try {
      setCsv({ name: file.name, ...urlsFromCsv(await file.text()) });
    } catch (cause) {
      setCsvError(`Could not read ${file.name}: ${describeError(cause)}`);
    }
  };

  const send = (work: () => Promise<CampaignUpload>) =>
    run(async () => {
      setUpload(await work());
      setSending(null);
      await queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
    });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const seeds = source === 'seeds' ? urlsFromText(seedText) : [];
    const urls = source === 'list' ? urlsFromText(urlText) : source === 'csv' ? (csv?.urls ?? []) : [];
    setUpload(null);
    setSending({ urls, seeds: seeds.length });
    void send(() =>
      createCampaignInBatches(
        api,
        {
          name,
          urls,
          seeds,
          keepRawHtml,
          ...(source === 'seeds' ? { followLinks: { maxDepth: Number(maxDepth), maxPages: Number(maxPages) } } : {}),
        },
        setUpload,
      ),
    );
  };

  const resume = () => {
    if (!upload || !sending) return;
    const remaining = sending.urls.slice(upload.sent - sending.seeds);
    void send(() => sendRemainingUrls(api, upload, remaining, setUpload));
  };

  const stalled = !pending && error !== null && upload?.campaign != null && upload.sent < upload.total;

  return (
    <>
      <PageHeader title="New campaign" />
      <form onSubmit={submit} className="space-y-5 rounded-lg border border-stone-200 bg-white p-5">
        <TextField
          label="Name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          maxLength={200}
        />
        <fieldset>
          <legend className="text-sm font-medium text-stone-800">What to fetch</legend>
          <div className="mt-1 flex flex-wrap gap-4">
            {(Object.keys(sourceWords) as Source[]).map((option) => (
              <label key={option} className="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name="source"
                  value={option}
                  checked={source === option}
                  onChange={() => setSource(option)}
                />
                {sourceWords[option]}
              </label>
            ))}
          </div>
        </fieldset>
        {source === 'list' && (
          <TextAreaField
            label="URLs, one per line"
            rows={8}
            value={urlText}
            onChange={(event) => setUrlText(event.target.value)}
            hint={`${urlsFromText(urlText).length.toLocaleString('en-US')} URLs. Lists over ${maxUrlsPerRequest.toLocaleString('en-US')} are sent in batches.`}
          />
        )}
        {source === 'seeds' && (
          <>
            <TextAreaField
              label="Seed URLs, one per line"
              rows={4}
              value={seedText}
              onChange={(event) => setSeedText(event.target.value)}
              hint="Links on the same site are followed from these pages."
            />
            <div className="grid grid-cols-2 gap-4">
              <TextField
                label="Link depth"
                type="number"
                min={1}
                max={10}
                value={maxDepth}
                onChange={(event) => setMaxDepth(event.target.value)}
                hint="1 fetches the seeds and the pages they link to."
              />
              <TextField
                label="Most pages"
                type="number"
                min={1}
                max={1_000_000}
                value={maxPages}
                onChange={(event) => setMaxPages(event.target.value)}
              />
            </div>
          </>
        )}
        {source === 'csv' && (
          <div className="space-y-2">
            <TextField
              label="CSV file"
              type="file"
              accept=".csv,text/csv"
              onChange={readCsv}
              error={csvError}
              hint="URLs from the column headed url, or else from the first column."
            />
            {csv && (
              <p className="text-sm" data-testid="csv-summary">
                {csv.urls.length.toLocaleString('en-US')} URLs read from {csv.name}
                {csv.problems.length > 0 && `; ${csv.problems.length} lines skipped`}.
              </p>
            )}
            {csv && csv.problems.length > 0 && <ProblemList title="Lines skipped" problems={csv.problems} />}
          </div>
        )}
        <CheckboxField
          label="Keep raw HTML"
          checked={keepRawHtml}
          onChange={(event) => setKeepRawHtml(event.target.checked)}
          hint="Store each page's HTML as fetched, not only its text."
        />
        <div className="flex items-center gap-3">
          <Button type="submit" disabled={pending || name.trim() === ''}>
            {pending ? 'Creating…' : 'Create campaign'}
          </Button>
          {stalled && (
            <Button variant="secondary" onClick={resume}>
              Send the remaining URLs
            </Button>
          )}
        </div>
        {error && (
          <p
            role="alert"
            data-testid="create-campaign-error"
            className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800"
          >
            {error}
            {stalled &&
              upload &&
              ` (${upload.sent.toLocaleString('en-US')} of ${upload.total.toLocaleString('en-US')} URLs were sent before it stopped.)`}
          </p>
        )}
      </form>
      {upload && <UploadResult upload={upload} pending={pending} />}
    </>
  );
}

function UploadResult({ upload, pending }: { upload: CampaignUpload; pending: boolean }) {
  return (
    <div className="mt-6">
      <Section title="Result">
        {upload.total > maxUrlsPerRequest && <ProgressBar label="URLs sent" value={upload.sent} max={upload.total} />}
        <p data-testid="campaign-created" className="text-sm">
          {upload.accepted.toLocaleString('en-US')} URLs accepted, {upload.duplicates.toLocaleString('en-US')}{' '}
          duplicates, {upload.rejected.length.toLocaleString('en-US')} refused.
        </p>
        {upload.campaign && !pending && (
          <Link to="/campaigns/$campaignId" params={{ campaignId: upload.campaign.id }} className="underline">
            Open the campaign
          </Link>
        )}
        {upload.rejected.length > 0 && (
          <Table caption="URLs the server refused, with why" columns={['URL', 'Rule', 'Why']}>
            {upload.rejected.map((rejected, index) => (
              // A URL may be refused twice (in two batches); the index keeps keys unique.
              // biome-ignore lint/suspicious/noArrayIndexKey: rows never reorder.
              <tr key={index}>
                <Cell className="break-all">{rejected.url}</Cell>
                <Cell>{rejected.rule}</Cell>
                <Cell>{rejected.reason}</Cell>
              </tr>
            ))}
          </Table>
        )}
      </Section>
    </div>
  );
}
