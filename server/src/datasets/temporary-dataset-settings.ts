import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatasetSettings, defaultBuildSizes } from './dataset-settings';
import { createLocalStorage } from './storage/local-storage';

/**
 * Dataset settings for an app that was given none (tests, benches): files on local disk in a fresh temporary
 * folder with a fresh URL key; closing the storage removes the folder.
 */
export async function temporaryDatasetSettings(): Promise<DatasetSettings> {
  const folder = await mkdtemp(join(tmpdir(), 'gleaner-datasets-'));
  const storage = createLocalStorage(join(folder, 'files'));
  return {
    ...defaultBuildSizes,
    storage: {
      ...storage,
      kind: storage.kind,
      async close() {
        await storage.close();
        await rm(folder, { recursive: true, force: true });
      },
    },
    urlSecret: randomBytes(32).toString('hex'),
    scratchDir: join(folder, 'scratch'),
  };
}
