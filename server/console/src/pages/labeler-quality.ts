import type { LabelValue, ProjectLabels } from '@protocol/labeling';

export interface LabelerQuality {
  labeler: string;
  labels: number;
  /** Labels on items that have an aggregate and whose value can be compared with it. */
  compared: number;
  /** Share of compared labels that match the aggregate; null with nothing to compare. */
  agreement: number | null;
}

/**
 * The value as the aggregate names it, for the schemas whose aggregate is a single class: a choice, or
 * the preferred answer of a pair. Multiple choices and spans aggregate differently, so they are not compared.
 */
function classOf(value: LabelValue): string | null {
  if (value.type === 'single_choice') return value.choice;
  if (value.type === 'pairwise') return value.preferred;
  return null;
}

/** Per labeler: how many labels they gave and how often they agree with the aggregated label. */
export function labelerQuality(items: ProjectLabels['items']): LabelerQuality[] {
  const byLabeler = new Map<string, LabelerQuality & { agreed: number }>();
  for (const item of items) {
    for (const label of item.labels) {
      const entry = byLabeler.get(label.labeler) ?? {
        labeler: label.labeler,
        labels: 0,
        compared: 0,
        agreed: 0,
        agreement: null,
      };
      entry.labels += 1;
      const value = classOf(label.value);
      if (item.aggregate && value !== null) {
        entry.compared += 1;
        if (value === item.aggregate.label) entry.agreed += 1;
      }
      byLabeler.set(label.labeler, entry);
    }
  }
  return [...byLabeler.values()]
    .map(({ agreed, ...entry }) => ({ ...entry, agreement: entry.compared > 0 ? agreed / entry.compared : null }))
    .sort((a, b) => b.labels - a.labels || a.labeler.localeCompare(b.labeler));
}
