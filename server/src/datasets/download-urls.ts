import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Pre-signed download URLs: `/v1/files/<datasetId>/<path>?expires=<unix seconds>&signature=<hex>`, where the
 * signature is an HMAC-SHA256 of the dataset id, the path and the expiry under the server's URL secret. They
 * need no header, so pandas, DuckDB and `datasets` can read them; the path ends with the file's own name
 * (`….parquet`), which is how those readers choose a format. Anyone holding the URL can download that one file
 * until it expires; changing any part of it breaks the signature.
 */

/** Every pre-signed URL starts with this. */
export const downloadPathPrefix = '/v1/files/';

/** The shortest `GLEANER_URL_SECRET` accepted: an HMAC key should carry at least 256 bits. */
export const minUrlSecretLength = 32;

/** What a URL grants: one file of one dataset until `expiresAt`. */
export interface DownloadGrant {
  datasetId: string;
  /** The file's path inside the dataset, e.g. `data/train-00000-of-00001.parquet`. */
  path: string;
  expiresAt: Date;
}

/** Why a URL is refused, or `ok`. */
export type DownloadCheck = 'ok' | 'expired' | 'bad_signature';

/** The path and query of a pre-signed URL for `grant` (prefix the server's public origin to share it). */
export function signDownloadPath(grant: DownloadGrant, secret: string): string {
  const expires = Math.floor(grant.expiresAt.getTime() / 1000);
  const signature = downloadSignature(grant.datasetId, grant.path, expires, secret);
  // Each segment is encoded on its own so the slashes stay path separators and the name stays last.
  const path = grant.path.split('/').map(encodeURIComponent).join('/');
  return `${downloadPathPrefix}${encodeURIComponent(grant.datasetId)}/${path}?expires=${expires}&signature=${signature}`;
}

/**
 * Checks a pre-signed URL's parts as the route received them (path decoded, query strings as given). A
 * missing, malformed or altered part is `bad_signature`; a valid URL past its expiry is `expired`. The
 * signature is checked first so an altered URL never learns whether its expiry would have passed.
 */
export function verifyDownload(
  request: { datasetId: string; path: string; expires: unknown; signature: unknown },
  secret: string,
  now: Date = new Date(),
): DownloadCheck {
  const { expires, signature } = request;
  if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return 'bad_signature';
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return 'bad_signature';
  const expected = Buffer.from(downloadSignature(request.datasetId, request.path, Number(expires), secret), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'bad_signature';
  return Number(expires) * 1000 <= now.getTime() ? 'expired' : 'ok';
}

/**
 * HMAC-SHA256 over a canonical string: a purpose tag and version, then the fields as a JSON array, which
 * keeps them apart whatever they contain (no path can pass for another dataset id plus path).
 */
function downloadSignature(datasetId: string, path: string, expires: number, secret: string): string {
  const canonical = `gleaner-download-v1\n${JSON.stringify([datasetId, path, expires])}`;
  return createHmac('sha256', secret).update(canonical).digest('hex');
}

/** The file the server keeps its generated URL secret in when `GLEANER_URL_SECRET` is unset. */
export const urlSecretFile = (dataDir: string) => join(dataDir, 'url-secret');

/**
 * The configured URL secret (`GLEANER_URL_SECRET`), else the one kept in the data folder, else a new one saved
 * there. Several servers behind one load balancer must share one configured secret, or each refuses the
 * others' URLs. Changing it invalidates every URL handed out.
 */
export async function loadOrCreateUrlSecret(dataDir: string, configured: string | undefined): Promise<string> {
  if (configured !== undefined && configured !== '') {
    if (configured.length < minUrlSecretLength) {
      throw new Error(`GLEANER_URL_SECRET must be at least ${minUrlSecretLength} characters`);
    }
    return configured;
  }
  const file = urlSecretFile(dataDir);
  try {
    const saved = (await readFile(file, 'utf8')).trim();
    if (saved.length >= minUrlSecretLength) return saved;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
