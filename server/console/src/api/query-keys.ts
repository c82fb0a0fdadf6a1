/** Query keys in one place, so a mutation invalidates exactly what it changed. */
export const queryKeys = {
  me: ['buyer'] as const,
  campaigns: ['campaigns'] as const,
  campaignList: (before: string | undefined) => ['campaigns', 'list', before ?? null] as const,
  campaign: (id: string) => ['campaigns', 'one', id] as const,
  /** `stored` (pages stored so far) is part of the key: a new page stored reads the list again. */
  campaignPages: (id: string, after: number, stored: number) =>
    ['campaigns', 'one', id, 'pages', after, stored] as const,
  projects: ['projects'] as const,
  projectList: (before: string | undefined) => ['projects', 'list', before ?? null] as const,
  project: (id: string) => ['projects', 'one', id] as const,
  projectLabelers: (id: string) => ['projects', 'one', id, 'labelers'] as const,
  datasets: ['datasets'] as const,
  datasetList: (before: string | undefined) => ['datasets', 'list', before ?? null] as const,
  dataset: (id: string) => ['datasets', 'one', id] as const,
  datasetUrls: (id: string) => ['datasets', 'one', id, 'urls'] as const,
};
