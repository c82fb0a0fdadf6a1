/** Query keys in one place, so a mutation invalidates exactly what it changed. */
export const queryKeys = {
  me: ['buyer'] as const,
  campaigns: ['campaigns'] as const,
  campaignList: (before: string | undefined) => ['campaigns', 'list', before ?? null] as const,
  campaign: (id: string) => ['campaigns', 'one', id] as const,
  campaignPages: (id: string, after: number) => ['campaigns', 'one', id, 'pages', after] as const,
  projects: ['projects'] as const,
  projectList: (before: string | undefined) => ['projects', 'list', before ?? null] as const,
  project: (id: string) => ['projects', 'one', id] as const,
  projectLabels: (id: string) => ['projects', 'one', id, 'labels'] as const,
  datasets: ['datasets'] as const,
  datasetList: (before: string | undefined) => ['datasets', 'list', before ?? null] as const,
  dataset: (id: string) => ['datasets', 'one', id] as const,
  datasetUrls: (id: string) => ['datasets', 'one', id, 'urls'] as const,
};
