import type { LabelSchema } from '@protocol/labeling';
import { TextField } from '@ui/field';
import { type ChangeEvent, useMemo, useState } from 'react';
import { describeError } from '../api/api-client';
import { ProblemList } from '../layout/problem-list';
import { formatOfFile, type ItemUpload, parseItemUpload } from '../parse/items-upload';
import type { SourcedItem } from './project-upload';

export interface ItemsFile {
  name: string;
  upload: ItemUpload;
}

/**
 * A file input for items (or gold items) as JSONL or CSV, read and checked in the browser against the
 * current label schema; each bad line is listed with why. The parse reruns when the schema changes.
 */
export function useItemsFile(labelSchema: LabelSchema | null, requireGold: boolean) {
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const parsed: ItemsFile | null = useMemo(
    () =>
      file && labelSchema
        ? { name: file.name, upload: parseItemUpload(file.text, formatOfFile(file.name), labelSchema, { requireGold }) }
        : null,
    [file, labelSchema, requireGold],
  );
  const onChange = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0];
    setReadError(null);
    setFile(null);
    if (!chosen) return;
    try {
      setFile({ name: chosen.name, text: await chosen.text() });
    } catch (cause) {
      setReadError(`Could not read ${chosen.name}: ${describeError(cause)}`);
    }
  };
  return { parsed, readError, onChange, clear: () => setFile(null) };
}

/** The items of the files read so far, each with its file and line, so refusals can point back at them. */
export function sourcedItems(files: (ItemsFile | null)[]): SourcedItem[] {
  return files.flatMap((file) =>
    file
      ? file.upload.items.map((item, index) => ({ item, file: file.name, line: file.upload.lines[index] ?? 0 }))
      : [],
  );
}

export function ItemsFileField({
  label,
  hint,
  state,
}: {
  label: string;
  hint: string;
  state: ReturnType<typeof useItemsFile>;
}) {
  return (
    <div className="space-y-2">
      <TextField
        label={label}
        type="file"
        accept=".jsonl,.ndjson,.json,.csv,application/x-ndjson,text/csv"
        onChange={state.onChange}
        error={state.readError}
        hint={hint}
      />
      {state.parsed && (
        <p className="text-sm">
          {state.parsed.upload.items.length.toLocaleString('en-US')} items read from {state.parsed.name}
          {state.parsed.upload.problems.length > 0 && `; ${state.parsed.upload.problems.length} lines set aside`}.
        </p>
      )}
      {state.parsed && state.parsed.upload.problems.length > 0 && (
        <ProblemList title={`Lines of ${state.parsed.name} set aside`} problems={state.parsed.upload.problems} />
      )}
    </div>
  );
}
