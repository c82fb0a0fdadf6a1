import type { LabelSchema } from '@protocol/labeling';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { SelectField, TextAreaField, TextField } from '@ui/field';
import { ProgressBar } from '@ui/progress-bar';
import { type FormEvent, useMemo, useState } from 'react';
import { queryKeys } from '../api/query-keys';
import { usePendingWork } from '../api/use-pending-work';
import { useApi } from '../auth/api-key-context';
import { PageHeader, Section } from '../layout/page-header';
import { ItemsFileField, sourcedItems, useItemsFile } from './items-file-field';
import { RefusalTable } from './project-refusals';
import { createProjectInBatches, type ProjectUpload } from './project-upload';

type SchemaType = LabelSchema['type'];

const schemaWords: Record<SchemaType, string> = {
  single_choice: 'Classification: one choice',
  multi_choice: 'Classification: several choices',
  pairwise: 'Pairwise: which answer is better',
  spans: 'Spans: mark parts of a text',
};

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** The label schema the form describes; null until it names enough choices or labels. */
function labelSchemaOf(type: SchemaType, optionsText: string): LabelSchema | null {
  const options = lines(optionsText);
  if (type === 'pairwise') return { type };
  if (type === 'spans') return options.length >= 1 ? { type, labels: options } : null;
  return options.length >= 2 ? { type, choices: options } : null;
}

export const itemsHint =
  'JSONL: one {"id", "content", "gold"?} per line. CSV: id, then text, image_url (and caption), or prompt, answer_a, answer_b; gold optional.';

/** Create a labeling project: schema, instructions, and items and gold answers from files. */
export function NewProjectPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [instructions, setInstructions] = useState('');
  const [type, setType] = useState<SchemaType>('single_choice');
  const [optionsText, setOptionsText] = useState('');
  const [overlap, setOverlap] = useState('3');
  const [goldRate, setGoldRate] = useState('0.1');
  const labelSchema = useMemo(() => labelSchemaOf(type, optionsText), [type, optionsText]);
  const items = useItemsFile(labelSchema, false);
  const gold = useItemsFile(labelSchema, true);
  const { pending, error, run } = usePendingWork();
  const [upload, setUpload] = useState<ProjectUpload | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!labelSchema) return;
    const sourced = sourcedItems([items.parsed, gold.parsed]);
    setUpload(null);
    await run(async () => {
      setUpload(
        await createProjectInBatches(
          api,
          { name, instructions, labelSchema, overlap: Number(overlap), goldRate: Number(goldRate) },
          sourced,
          setUpload,
        ),
      );
      await queryClient.invalidateQueries({ queryKey: queryKeys.projects });
    });
  };

  return (
    <>
      <PageHeader title="New project" />
      <form onSubmit={submit} className="space-y-5 rounded-lg border border-stone-200 bg-white p-5">
        <TextField
          label="Name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          maxLength={200}
        />
        <TextAreaField
          label="Instructions for labelers"
          rows={5}
          value={instructions}
          onChange={(event) => setInstructions(event.target.value)}
          required
        />
        <SelectField
          label="What labelers give"
          value={type}
          onChange={(event) => setType(event.target.value as SchemaType)}
        >
          {(Object.keys(schemaWords) as SchemaType[]).map((option) => (
            <option key={option} value={option}>
              {schemaWords[option]}
            </option>
          ))}
        </SelectField>
        {type !== 'pairwise' && (
          <TextAreaField
            label={type === 'spans' ? 'Span labels, one per line' : 'Choices, one per line'}
            rows={4}
            value={optionsText}
            onChange={(event) => setOptionsText(event.target.value)}
            hint={type === 'spans' ? 'One to nine labels.' : 'Two to nine choices.'}
            error={
              optionsText.trim() !== '' && !labelSchema
                ? type === 'spans'
                  ? 'Give at least one label.'
                  : 'Give at least two choices.'
                : null
            }
          />
        )}
        <div className="grid grid-cols-2 gap-4">
          <TextField
            label="Labels per item"
            type="number"
            min={1}
            max={25}
            value={overlap}
            onChange={(event) => setOverlap(event.target.value)}
            hint="Default 3."
          />
          <TextField
            label="Share of gold tasks"
            type="number"
            min={0}
            max={0.5}
            step="any"
            value={goldRate}
            onChange={(event) => setGoldRate(event.target.value)}
            hint="Default 0.1: one task in ten is a gold item, unseen."
          />
        </div>
        {labelSchema ? (
          <>
            <ItemsFileField label="Items file" hint={itemsHint} state={items} />
            <ItemsFileField label="Gold file" hint="Items with their known answer (gold), same formats." state={gold} />
          </>
        ) : (
          <p className="text-sm text-stone-600">Name the choices or labels first; then add items and gold.</p>
        )}
        <Button type="submit" disabled={pending || !labelSchema || name.trim() === ''}>
          {pending ? 'Creating…' : 'Create project'}
        </Button>
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
            {error}
          </p>
        )}
      </form>
      {upload && (
        <div className="mt-6">
          <Section title="Result">
            {upload.total > 0 && <ProgressBar label="Items sent" value={upload.sent} max={upload.total} />}
            <p className="text-sm">
              {upload.added.toLocaleString('en-US')} items added, {upload.refused.length.toLocaleString('en-US')}{' '}
              refused.
            </p>
            {upload.project && !pending && (
              <Link to="/projects/$projectId" params={{ projectId: upload.project.id }} className="underline">
                Open the project
              </Link>
            )}
            <RefusalTable refused={upload.refused} />
          </Section>
        </div>
      )}
    </>
  );
}
