import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readAsUtf8 } from './file-encoding';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gleaner-encoding-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('passes on what the reader behind it throws, instead of blaming the file’s encoding', async () => {
  // A valid UTF-16 file: only the sink fails (as the CSV reader does on a file too big for its arrays).
  const path = join(dir, 'valid-le.csv');
  await writeFile(path, Buffer.from('\ufeffworker,task,label\nw1,t1,a\n', 'utf16le'));
  const full = new RangeError('Invalid typed array length: 4294967296');
  const failing = readAsUtf8(path, 'answers', undefined, () => {
    throw full;
  });
  await expect(failing).rejects.toBe(full);
});
