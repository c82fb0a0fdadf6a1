import { maxItemsPerRequest, type Project, type ProjectCreate, type ProjectItemInput } from '@protocol/labeling';
import type { ApiClient } from '../api/api-client';
import { buyerApi } from '../api/buyer-api';
import { batches } from '../parse/url-list';
import { sendInBatches } from './send-in-batches';

/** An item to send, with the file and line it came from, so refusals can point back at them. */
export interface SourcedItem {
  item: ProjectItemInput;
  file: string;
  line: number;
}

/** A refusal from the API, tied back to the line the item came from. */
export interface ItemRefusal {
  file: string;
  line: number;
  id: string | null;
  reason: string;
}

/** Where a project upload stands: what the API said of the items sent so far. */
export interface ProjectUpload {
  project: Project | null;
  sent: number;
  total: number;
  added: number;
  refused: ItemRefusal[];
}

/**
 * Creates a project with its first `maxItemsPerRequest` items and sends the rest in
 * `POST /v1/projects/:id/items` batches; the API's refusals (by index in each request) are mapped
 * back to the file and line of each item.
 */
export async function createProjectInBatches(
  api: ApiClient,
  request: Omit<ProjectCreate, 'items'>,
  items: SourcedItem[],
  onProgress: (upload: ProjectUpload) => void,
): Promise<ProjectUpload> {
  const [first = [], ...rest] = batches(items, maxItemsPerRequest);
  const created = await buyerApi.createProject(api, { ...request, items: first.map((entry) => entry.item) });
  const upload: ProjectUpload = {
    project: created.project,
    sent: first.length,
    total: items.length,
    added: created.added,
    refused: refusalsOf(created.rejected, first),
  };
  onProgress({ ...upload });
  return addItemsInBatches(api, upload, rest.flat(), onProgress);
}

/** Sends items to an existing project, a batch at a time. */
export async function addItemsInBatches(
  api: ApiClient,
  upload: ProjectUpload,
  items: SourcedItem[],
  onProgress: (upload: ProjectUpload) => void,
): Promise<ProjectUpload> {
  const project = upload.project;
  if (!project) throw new Error('the project was not created');
  return sendInBatches({
    upload,
    items,
    size: maxItemsPerRequest,
    send: (batch) =>
      buyerApi.addProjectItems(
        api,
        project.id,
        batch.map((entry) => entry.item),
      ),
    fold: (sofar, batch, added) => ({
      ...sofar,
      sent: sofar.sent + batch.length,
      added: sofar.added + added.added,
      refused: [...sofar.refused, ...refusalsOf(added.rejected, batch)],
    }),
    onProgress,
  });
}

function refusalsOf(
  rejected: { index: number; id: string | null; reason: string }[],
  batch: SourcedItem[],
): ItemRefusal[] {
  return rejected.map((entry) => {
    const source = batch[entry.index];
    return { file: source?.file ?? '?', line: source?.line ?? 0, id: entry.id, reason: entry.reason };
  });
}
