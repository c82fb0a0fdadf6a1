import { buyerSchema } from '@protocol/buyers';
import {
  type CampaignCreate,
  campaignCreatedSchema,
  campaignListSchema,
  campaignPagesSchema,
  campaignSchema,
  campaignUrlsAddedSchema,
} from '@protocol/campaigns';
import { type DatasetCreate, datasetListSchema, datasetSchema, datasetUrlsSchema } from '@protocol/datasets';
import {
  itemsAddedSchema,
  type ProjectCreate,
  type ProjectItemInput,
  projectCreatedSchema,
  projectLabelersSchema,
  projectListSchema,
  projectSchema,
} from '@protocol/labeling';
import type { ApiClient } from './api-client';

/** A campaign's or project's controls: the same three verbs for both. */
export type WorkAction = 'pause' | 'resume' | 'cancel';

function listQuery(before: string | undefined, limit: number): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before) query.set('before', before);
  return query.toString();
}

const id = (value: string) => encodeURIComponent(value);

/** Every buyer endpoint the console calls, each reply parsed with its protocol schema. */
export const buyerApi = {
  me: (api: ApiClient) => api.request('/v1/buyer', buyerSchema),

  campaigns: (api: ApiClient, before?: string, limit = 20) =>
    api.request(`/v1/campaigns?${listQuery(before, limit)}`, campaignListSchema),
  campaign: (api: ApiClient, campaignId: string) => api.request(`/v1/campaigns/${id(campaignId)}`, campaignSchema),
  campaignPages: (api: ApiClient, campaignId: string, after = 0, limit = 50) =>
    api.request(`/v1/campaigns/${id(campaignId)}/pages?after=${after}&limit=${limit}`, campaignPagesSchema),
  createCampaign: (api: ApiClient, body: CampaignCreate) =>
    api.request('/v1/campaigns', campaignCreatedSchema, { body }),
  addCampaignUrls: (api: ApiClient, campaignId: string, urls: string[]) =>
    api.request(`/v1/campaigns/${id(campaignId)}/urls`, campaignUrlsAddedSchema, { body: { urls } }),
  controlCampaign: (api: ApiClient, campaignId: string, action: WorkAction) =>
    api.request(`/v1/campaigns/${id(campaignId)}/${action}`, campaignSchema, { method: 'POST', body: {} }),

  projects: (api: ApiClient, before?: string, limit = 20) =>
    api.request(`/v1/projects?${listQuery(before, limit)}`, projectListSchema),
  project: (api: ApiClient, projectId: string) => api.request(`/v1/projects/${id(projectId)}`, projectSchema),
  projectLabelers: (api: ApiClient, projectId: string) =>
    api.request(`/v1/projects/${id(projectId)}/labelers`, projectLabelersSchema),
  createProject: (api: ApiClient, body: ProjectCreate) => api.request('/v1/projects', projectCreatedSchema, { body }),
  addProjectItems: (api: ApiClient, projectId: string, items: ProjectItemInput[]) =>
    api.request(`/v1/projects/${id(projectId)}/items`, itemsAddedSchema, { body: { items } }),
  controlProject: (api: ApiClient, projectId: string, action: WorkAction) =>
    api.request(`/v1/projects/${id(projectId)}/${action}`, projectSchema, { method: 'POST', body: {} }),

  datasets: (api: ApiClient, before?: string, limit = 20) =>
    api.request(`/v1/datasets?${listQuery(before, limit)}`, datasetListSchema),
  dataset: (api: ApiClient, datasetId: string) => api.request(`/v1/datasets/${id(datasetId)}`, datasetSchema),
  createDataset: (api: ApiClient, body: DatasetCreate) => api.request('/v1/datasets', datasetSchema, { body }),
  cancelDataset: (api: ApiClient, datasetId: string) =>
    api.request(`/v1/datasets/${id(datasetId)}/cancel`, datasetSchema, { method: 'POST', body: {} }),
  datasetUrls: (api: ApiClient, datasetId: string, expiresIn = 3600) =>
    api.request(`/v1/datasets/${id(datasetId)}/urls?expiresIn=${expiresIn}`, datasetUrlsSchema),
};
