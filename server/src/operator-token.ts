import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file the server writes its operator token to when none is configured; the CLI reads it. */
export const operatorTokenFile = (dataDir: string) => join(dataDir, 'operator-token');

/** The configured operator token, else the one kept in the data folder, else a new one saved there. */
export async function loadOrCreateOperatorToken(dataDir: string, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const file = operatorTokenFile(dataDir);
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved.length >= 24) return saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}
