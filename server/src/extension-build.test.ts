import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuildStamp, extensionBuildAdvice, stampFileName } from './extension-build';

let outDir: string;

beforeEach(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'gleaner-build-'));
});

afterEach(async () => {
  await rm(outDir, { recursive: true, force: true });
});

async function build(testOrigins: string | null): Promise<void> {
  const dir = join(outDir, 'chrome-mv3');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'manifest.json'), '{}');
  if (testOrigins === null) return;
  const stamp: BuildStamp = { inputs: 'abc', testOrigins, builtAt: new Date().toISOString() };
  await writeFile(join(dir, stampFileName), JSON.stringify(stamp));
}

describe('which extension build the server tells people to load', () => {
  it('names the folder of a test build made for exactly the server’s origins, in any order', async () => {
    await build('http://127.0.0.1:4001,http://127.0.0.1:4002');
    const advice = extensionBuildAdvice(['http://127.0.0.1:4002', 'http://127.0.0.1:4001'], outDir);
    expect(advice).toContain(`Load the extension unpacked from: ${join(outDir, 'chrome-mv3')}`);
    expect(advice).not.toMatch(/Rebuild/);
  });

  it('never points at a build for other origins, and says the command that builds the right one', async () => {
    await build('http://127.0.0.1:4001');
    const advice = extensionBuildAdvice(['http://127.0.0.1:5000'], outDir);
    expect(advice).not.toContain('Load the extension unpacked from');
    expect(advice).toContain('a test build allowing http://127.0.0.1:4001');
    expect(advice).toContain(
      `GLEANER_TEST_ORIGINS=http://127.0.0.1:5000 GLEANER_EXTENSION_OUT_DIR=${outDir} npm start`,
    );
  });

  it('never points at a production build when the server allows test origins', async () => {
    await build('');
    expect(extensionBuildAdvice(['http://127.0.0.1:5000'], outDir)).toContain(
      'is a production build, not the test build',
    );
  });

  it('says how to build when there is no build yet', () => {
    expect(extensionBuildAdvice([], outDir)).toMatch(/^No production build at .* yet: build it with\n {2}.*npm start/);
  });

  it('warns that an unstamped test build may allow other origins', async () => {
    await build(null);
    const advice = extensionBuildAdvice(['http://127.0.0.1:5000'], outDir);
    expect(advice).toContain('It carries no build stamp');
    expect(extensionBuildAdvice([], outDir)).not.toContain('stamp');
  });
});
