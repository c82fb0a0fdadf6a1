// biome-ignore lint/style/noRestrictedImports: the test hashes as the server does, with Node's crypto.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeText } from '../results';
import { textSha256 } from './text-hash';

describe('textSha256', () => {
  it('is the hex SHA-256 of the normalized text as UTF-8', async () => {
    expect(await textSha256('  abc \n')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('equals the server’s hash of the same text, whatever its whitespace and Unicode form', async () => {
    const serverHash = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');
    const texts = [
      'Hello\n\n  world',
      'Cafe\u0301 déjà vu — “quotes” ✓',
      '日本語のテキスト\u3000全角スペース',
      'tabs\tand\u00a0non-breaking spaces',
      'emoji 👩‍🔬 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    ];
    for (const text of texts) expect(await textSha256(text)).toBe(serverHash(text));
  });
});
