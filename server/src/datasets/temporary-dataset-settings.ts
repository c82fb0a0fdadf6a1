import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatasetSettings, defaultBuildSizes } from './dataset-settings';
import { createLocalStorage } from './storage/local-storage';

/** Dataset settings in a temporary folder: `filesDir` holds the stored files (storage key = path below it). */
export interface TemporaryDatasetSettings extends DatasetSettings {
  filesDir: string;
  /** Every file stored for a dataset, staging included (what tests check is gone or left). */
  storedFiles(datasetId: string): Promise<string[]>;
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? filesBelow(join(dir, entry.name)) : [join(dir, entry.name)])),
  );
  return nested.flat();
}

/**
 * Dataset settings for an app that was given none (tests, benches): files on local disk in a fresh temporary
 * folder with a fresh URL key, the build sizes overridable; closing the storage removes the folder.
 */
export async function temporaryDatasetSettings(
  overrides: Partial<Omit<DatasetSettings, 'storage' | 'scratchDir'>> = {},
): Promise<TemporaryDatasetSettings> {
  const folder = await mkdtemp(join(tmpdir(), 'gleaner-datasets-'));
  const filesDir = join(folder, 'files');
  const storage = createLocalStorage(filesDir);
  return {
    ...defaultBuildSizes,
    urlSecret: randomBytes(32).toString('hex'),
    ...overrides,
    storage: {
      ...storage,
      async close() {
        await storage.close();
        await rm(folder, { recursive: true, force: true });
      },
    },
    scratchDir: join(folder, 'scratch'),
    filesDir,
    storedFiles: (datasetId) => filesBelow(join(filesDir, 'datasets', datasetId)),
  };
}
