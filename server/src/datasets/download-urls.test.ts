import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateUrlSecret, signDownloadPath, urlSecretFile, verifyDownload } from './download-urls';

const secret = 'a-test-secret-that-is-long-enough-for-hmac';
const datasetId = randomUUID();
const path = 'data/train-00000-of-00002.parquet';
const now = new Date('2026-01-01T00:00:00Z');
const inAnHour = new Date(now.getTime() + 3_600_000);

/** Splits a signed path the way the route sees it: decoded dataset id and file path, raw query strings. */
function parse(signed: string) {
  const url = new URL(signed, 'http://gleaner.test');
  const [, , , id = '', ...rest] = url.pathname.split('/');
  return {
    datasetId: decodeURIComponent(id),
    path: rest.map(decodeURIComponent).join('/'),
    expires: url.searchParams.get('expires') ?? undefined,
    signature: url.searchParams.get('signature') ?? undefined,
  };
}

describe('pre-signed download paths', () => {
  it('ends the path with the file name, so readers infer the format', () => {
    const signed = signDownloadPath({ datasetId, path, expiresAt: inAnHour }, secret);
    const url = new URL(signed, 'http://gleaner.test');
    expect(url.pathname).toBe(`/v1/files/${datasetId}/${path}`);
    expect(url.pathname.endsWith('.parquet')).toBe(true);
    expect(url.searchParams.get('expires')).toBe(String(inAnHour.getTime() / 1000));
    expect(url.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts its own URL until it expires, and refuses it from the second it expires', () => {
    const parts = parse(signDownloadPath({ datasetId, path, expiresAt: inAnHour }, secret));
    expect(verifyDownload(parts, secret, now)).toBe('ok');
    expect(verifyDownload(parts, secret, new Date(inAnHour.getTime() - 1))).toBe('ok');
    expect(verifyDownload(parts, secret, inAnHour)).toBe('expired');
  });

  it('refuses a URL with any part changed', () => {
    const parts = parse(signDownloadPath({ datasetId, path, expiresAt: inAnHour }, secret));
    const flipped = `${parts.signature?.slice(0, -1)}${parts.signature?.endsWith('0') ? '1' : '0'}`;
    expect(verifyDownload({ ...parts, signature: flipped }, secret, now)).toBe('bad_signature');
    expect(verifyDownload({ ...parts, path: 'data/train-00001-of-00002.parquet' }, secret, now)).toBe('bad_signature');
    expect(verifyDownload({ ...parts, datasetId: randomUUID() }, secret, now)).toBe('bad_signature');
    expect(verifyDownload({ ...parts, expires: String(Number(parts.expires) + 86_400) }, secret, now)).toBe(
      'bad_signature',
    );
    expect(verifyDownload(parts, `${secret}x`, now)).toBe('bad_signature');
  });

  it('refuses missing or malformed parameters without throwing', () => {
    const parts = parse(signDownloadPath({ datasetId, path, expiresAt: inAnHour }, secret));
    for (const broken of [
      { expires: undefined },
      { signature: undefined },
      { signature: parts.signature?.toUpperCase() },
      { signature: parts.signature?.slice(2) },
      { signature: ['a', 'b'] },
      { expires: `${parts.expires}.0` },
      { expires: '-1' },
      { expires: '9'.repeat(400) },
    ]) {
      expect(verifyDownload({ ...parts, ...broken }, secret, now), JSON.stringify(broken)).toBe('bad_signature');
    }
  });

  it('says expired only for a genuine URL, so an altered one learns nothing about expiry', () => {
    const expired = parse(signDownloadPath({ datasetId, path, expiresAt: new Date(now.getTime() - 1000) }, secret));
    expect(verifyDownload(expired, secret, now)).toBe('expired');
    expect(verifyDownload({ ...expired, path: 'README.md' }, secret, now)).toBe('bad_signature');
  });

  it('round-trips file names that need encoding', () => {
    const odd = 'data/a file #1 ?&=é.jsonl.gz';
    const signed = signDownloadPath({ datasetId, path: odd, expiresAt: inAnHour }, secret);
    expect(signed).not.toContain(' ');
    expect(signed.split('?')).toHaveLength(2);
    const parts = parse(signed);
    expect(parts.path).toBe(odd);
    expect(verifyDownload(parts, secret, now)).toBe('ok');
  });
});

describe('URL secret', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('generates one secret into the data folder, private to the owner, and reuses it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-url-secret-'));
    folders.push(dataDir);
    const first = await loadOrCreateUrlSecret(dataDir, undefined);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(urlSecretFile(dataDir), 'utf8')).trim()).toBe(first);
    expect((await stat(urlSecretFile(dataDir))).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateUrlSecret(dataDir, undefined)).toBe(first);
    expect(await loadOrCreateUrlSecret(dataDir, '')).toBe(first);
  });

  it('prefers GLEANER_URL_SECRET and refuses one shorter than 32 characters', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-url-secret-'));
    folders.push(dataDir);
    expect(await loadOrCreateUrlSecret(dataDir, secret)).toBe(secret);
    await expect(loadOrCreateUrlSecret(dataDir, 'too-short')).rejects.toThrow(/GLEANER_URL_SECRET/);
  });
});
