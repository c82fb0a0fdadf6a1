import { createHash } from 'node:crypto';
import type { LabelRow, PageRow } from '@protocol/dataset-rows';
import type { DatasetOptions, DatasetStats } from '@protocol/datasets';
import { labelKey } from '@protocol/label-rules';
import { labelValueSchema } from '@protocol/labeling';
import { goldAccuracy } from '../services/labeler-quality';
import { contributorPseudonym } from '../services/pseudonyms';
import type { SnapshotItem, SnapshotPage } from './dataset-snapshot';
import { redactPii } from './pii';

/**
 * The one owner of what goes into a dataset row: which snapshot rows a dataset keeps (in this order:
 * verification, language, minimum words, exact duplicates, near duplicates) and how a kept row is
 * written (PII redacted, contributor pseudonymised). Every removal and redaction is counted.
 */

export type DropReason = 'notVerified' | 'otherLanguage' | 'tooShort' | 'exactDuplicates';

/** Counts as the card shows them; `rows` and `sourceRows` are filled by the build. */
export function emptyStats(): DatasetStats {
  return {
    sourceRows: 0,
    notVerified: 0,
    exactDuplicates: 0,
    nearDuplicates: 0,
    tooShort: 0,
    otherLanguage: 0,
    emailsRedacted: 0,
    phonesRedacted: 0,
    rows: 0,
  };
}

/** Words in a text: runs of non-space characters (a linear scan, no regex over megabytes). */
export function wordCount(text: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const space = code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x3000;
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      words += 1;
    }
  }
  return words;
}

/** The page's primary language tag, lower case (`en-GB` → `en`); null when it declared none. */
export function primaryLanguage(lang: string | null): string | null {
  const primary = lang?.split('-')[0]?.trim().toLowerCase();
  return primary ? primary : null;
}

/** Why a page is left out of the dataset, before near duplicates; null when it is kept so far. */
export function pageDropReason(page: SnapshotPage, options: DatasetOptions): DropReason | null {
  if (options.verification === 'verified' && page.verification !== 'verified') return 'notVerified';
  if (options.languages.length > 0) {
    const language = primaryLanguage(page.lang);
    if (language === null || !options.languages.some((wanted) => wanted.toLowerCase() === language)) {
      return 'otherLanguage';
    }
  }
  if (wordCount(page.text) < options.minWords) return 'tooShort';
  if (options.removeExactDuplicates && page.exactDuplicate) return 'exactDuplicates';
  return null;
}

/** Turns a kept page into its dataset row, redacting PII when asked and counting what was redacted. */
export function toPageRow(
  page: SnapshotPage,
  options: DatasetOptions,
  context: { datasetKey: string; nearDupCluster: number | null; stats: DatasetStats },
): PageRow {
  let { title, text, html } = page;
  if (options.redactPii) {
    const redactedTitle = redactPii(title);
    const redactedText = redactPii(text);
    title = redactedTitle.text;
    text = redactedText.text;
    context.stats.emailsRedacted += redactedTitle.emails + redactedText.emails;
    context.stats.phonesRedacted += redactedTitle.phones + redactedText.phones;
    if (html !== null) {
      // Counted once, in the text: the same address in the HTML is the same address.
      html = redactPii(html).text;
    }
  }
  return {
    url: page.url,
    final_url: page.finalUrl,
    fetched_at: page.fetchedAt.toISOString(),
    http_status: page.httpStatus,
    content_type: page.contentType,
    language: page.lang,
    title,
    text,
    word_count: wordCount(text),
    text_sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    near_dup_cluster: context.nearDupCluster,
    raw_html: options.includeRawHtml ? html : null,
    contributor: contributorPseudonym(context.datasetKey, page.device),
    verification: page.verification,
  };
}

/** Whether a frozen label item is kept: `verified` keeps complete items with an aggregate. */
export function itemKept(item: SnapshotItem, options: DatasetOptions): boolean {
  return options.verification === 'all' || item.verification === 'verified';
}

/** Turns a frozen label item into its dataset row. */
export function toLabelRow(item: SnapshotItem, datasetKey: string): LabelRow {
  // The aggregate is a label key (`cat`, `a`, sorted choices): a raw label agrees when its key is the same.
  const agreeing = item.label === null ? 0 : item.raw.filter((raw) => rawLabelKey(raw.value) === item.label).length;
  return {
    item_id: item.externalId,
    content: item.content,
    label: item.label,
    confidence: item.confidence,
    method: item.method,
    agreement: item.label === null || item.raw.length === 0 ? null : agreeing / item.raw.length,
    raw_labels: item.raw.map((raw) => ({
      labeler: contributorPseudonym(datasetKey, raw.device),
      value: raw.value,
      gold_accuracy: goldAccuracy({ answered: raw.gold_answered, correct: raw.gold_correct }),
    })),
  };
}

function rawLabelKey(value: string): string | null {
  try {
    const parsed = labelValueSchema.safeParse(JSON.parse(value));
    return parsed.success ? labelKey(parsed.data) : null;
  } catch {
    return null;
  }
}
