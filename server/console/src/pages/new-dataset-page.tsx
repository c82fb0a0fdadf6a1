import { type DatasetFormat, type DatasetOptions, type DatasetSource, datasetOptionsSchema } from '@protocol/datasets';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { CheckboxField, SelectField, TextField } from '@ui/field';
import { type FormEvent, useState } from 'react';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApi } from '../auth/api-key-context';
import { PageHeader } from '../layout/page-header';
import { QueryError } from '../layout/query-error';

/** The defaults come from the wire format itself, so the form shows exactly what the server would assume. */
const defaults: DatasetOptions = datasetOptionsSchema.parse({});

const formatWords: Record<DatasetFormat, string> = {
  parquet: 'Parquet (zstd)',
  jsonl: 'JSONL (gzip)',
  warc: 'WARC with a CDXJ index (pages only)',
};

function sourceOf(value: string): DatasetSource | null {
  const [kind, id] = value.split(':');
  if (!id) return null;
  if (kind === 'campaign') return { kind: 'campaign', campaignId: id };
  if (kind === 'project') return { kind: 'project', projectId: id };
  return null;
}

/** Build a dataset from a campaign or a project, choosing formats and cleaning. */
export function NewDatasetPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const campaigns = useQuery({
    queryKey: queryKeys.campaignList('picker'),
    queryFn: () => buyerApi.campaigns(api, undefined, 100),
  });
  const projects = useQuery({
    queryKey: queryKeys.projectList('picker'),
    queryFn: () => buyerApi.projects(api, undefined, 100),
  });
  const [name, setName] = useState('');
  const [sourceValue, setSourceValue] = useState('');
  const [formats, setFormats] = useState<DatasetFormat[]>(['parquet']);
  const [options, setOptions] = useState<DatasetOptions>(defaults);
  const [languages, setLanguages] = useState('');
  const [minWords, setMinWords] = useState(String(defaults.minWords));
  const source = sourceOf(sourceValue);
  const create = useMutation({
    mutationFn: () => {
      if (!source) throw new Error('Choose a campaign or a project to build from.');
      return buyerApi.createDataset(api, {
        ...(name.trim() ? { name: name.trim() } : {}),
        source,
        formats,
        options: {
          ...options,
          minWords: Number(minWords),
          languages: languages
            .split(/[\s,]+/)
            .map((code) => code.trim())
            .filter(Boolean),
        },
      });
    },
    onSuccess: async (dataset) => {
      await queryClient.invalidateQueries({ queryKey: queryKeys.datasets });
      await navigate({ to: '/datasets/$datasetId', params: { datasetId: dataset.id } });
    },
  });
  const toggleFormat = (format: DatasetFormat, on: boolean) =>
    setFormats((current) =>
      on ? [...current.filter((f) => f !== format), format] : current.filter((f) => f !== format),
    );
  const set = <K extends keyof DatasetOptions>(key: K, value: DatasetOptions[K]) =>
    setOptions((current) => ({ ...current, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const pagesSource = source?.kind !== 'project';
  return (
    <>
      <PageHeader title="New dataset" />
      <form onSubmit={submit} className="space-y-5 rounded-lg border border-stone-200 bg-white p-5">
        <SelectField
          label="Source"
          value={sourceValue}
          onChange={(event) => setSourceValue(event.target.value)}
          required
        >
          <option value="">Choose a campaign or a project…</option>
          <optgroup label="Campaigns (pages)">
            {campaigns.data?.campaigns.map((campaign) => (
              <option key={campaign.id} value={`campaign:${campaign.id}`}>
                {campaign.name}
              </option>
            ))}
          </optgroup>
          <optgroup label="Projects (labels)">
            {projects.data?.projects.map((project) => (
              <option key={project.id} value={`project:${project.id}`}>
                {project.name}
              </option>
            ))}
          </optgroup>
        </SelectField>
        <QueryError error={campaigns.error ?? projects.error} />
        <TextField
          label="Name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          maxLength={200}
          hint="Optional: the source's name is used otherwise."
        />
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-stone-800">Formats</legend>
          {(Object.keys(formatWords) as DatasetFormat[]).map((format) => (
            <CheckboxField
              key={format}
              label={formatWords[format]}
              checked={formats.includes(format)}
              disabled={format === 'warc' && !pagesSource}
              onChange={(event) => toggleFormat(format, event.target.checked)}
            />
          ))}
        </fieldset>
        <fieldset className="space-y-3">
          <legend className="text-sm font-medium text-stone-800">Rows and cleaning</legend>
          <SelectField
            label="Rows"
            value={options.verification}
            onChange={(event) => set('verification', event.target.value as DatasetOptions['verification'])}
            hint={`Default: ${defaults.verification}.`}
          >
            <option value="verified">Only verified rows</option>
            <option value="all">All stored rows, with their verification state</option>
          </SelectField>
          <CheckboxField
            label="Remove exact duplicates"
            checked={options.removeExactDuplicates}
            onChange={(event) => set('removeExactDuplicates', event.target.checked)}
            hint={`Pages whose text is the same as an earlier page's. Default: ${defaults.removeExactDuplicates ? 'on' : 'off'}.`}
          />
          <CheckboxField
            label="Remove near duplicates"
            checked={options.removeNearDuplicates}
            onChange={(event) => set('removeNearDuplicates', event.target.checked)}
            hint={`Default: ${defaults.removeNearDuplicates ? 'on' : 'off'}.`}
          />
          <CheckboxField
            label="Redact e-mail addresses and phone numbers"
            checked={options.redactPii}
            onChange={(event) => set('redactPii', event.target.checked)}
            hint={`Default: ${defaults.redactPii ? 'on' : 'off'}.`}
          />
          <CheckboxField
            label="Include raw HTML"
            checked={options.includeRawHtml}
            onChange={(event) => set('includeRawHtml', event.target.checked)}
            hint={`Only campaigns that kept it have any. Default: ${defaults.includeRawHtml ? 'on' : 'off'}.`}
          />
          <TextField
            label="Fewest words per page"
            type="number"
            min={0}
            value={minWords}
            onChange={(event) => setMinWords(event.target.value)}
            hint={`Default: ${defaults.minWords} (keep all).`}
          />
          <TextField
            label="Languages"
            value={languages}
            onChange={(event) => setLanguages(event.target.value)}
            hint="Codes such as en, fr, separated by commas; empty keeps every language."
          />
          <TextField
            label="License"
            value={options.license}
            onChange={(event) => set('license', event.target.value)}
            hint={`A Hugging Face license identifier such as cc-by-4.0 or odc-by. Default: ${defaults.license}.`}
          />
        </fieldset>
        <Button type="submit" disabled={create.isPending || formats.length === 0}>
          {create.isPending ? 'Starting…' : 'Build dataset'}
        </Button>
        <QueryError error={create.error} testId="create-dataset-error" />
      </form>
    </>
  );
}
