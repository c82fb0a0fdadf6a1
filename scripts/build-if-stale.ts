/**
 * Builds the extension and the console only when their inputs changed since the last build, so
 * `npm start` starts in seconds. A build's stamp (in its output folder) records a hash of its input
 * files and settings, the extension's test origins included: a build for other origins is stale.
 *
 *   tsx scripts/build-if-stale.ts extension console
 *
 * reads GLEANER_TEST_ORIGINS (a test build allowing those origins, into .output/test) and
 * GLEANER_EXTENSION_OUT_DIR (another output folder), as wxt.config.ts does.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type BuildStamp,
  chromeBuildDir,
  normalizeOrigins,
  readBuildStamp,
  repoRoot,
  stampFileName,
} from '../server/src/extension-build';

type Target = 'extension' | 'console';

interface TargetSpec {
  /** Folders and files (relative to the repository) whose contents the build reads. */
  inputs: string[];
  /** The folder the build writes, where its stamp goes. */
  dir: string;
  /** The build tool's script (from node_modules) and its arguments. */
  command: string[];
  env: Record<string, string>;
}

export interface BuildOptions {
  /** Test origins to bake into the extension, comma-separated; empty for a production build. */
  testOrigins?: string;
  /** The extension's output folder (GLEANER_EXTENSION_OUT_DIR); wxt.config.ts's default otherwise. */
  outDir?: string;
  /** Where progress lines go; the build tools' own output goes to the same stream. */
  log?: (line: string) => void;
}

export interface BuildOutcome {
  dir: string;
  built: boolean;
}

// Only http://127.0.0.1:PORT, as the server (scraping-settings.ts) and the extension (lib/test-origins.ts)
// accept: a build with anything else would silently drop it and refuse the pages.
const testOriginPattern = /^http:\/\/127\.0\.0\.1:\d{1,5}$/;

function spec(target: Target, options: BuildOptions): TargetSpec {
  if (target === 'console') {
    return {
      inputs: ['server/console/src', 'server/console/index.html', 'server/console/vite.config.ts', 'protocol'],
      dir: join(repoRoot, 'server/console/dist'),
      command: ['vite/bin/vite.js', 'build', '--config', 'server/console/vite.config.ts'],
      env: {},
    };
  }
  const origins = normalizeOrigins(options.testOrigins);
  return {
    inputs: ['entrypoints', 'components', 'lib', 'protocol', 'assets', 'public', 'wxt.config.ts', 'tsconfig.json'],
    dir: chromeBuildDir(origins, options.outDir),
    command: ['wxt/bin/wxt.mjs', 'build'],
    env: { GLEANER_TEST_ORIGINS: origins, GLEANER_EXTENSION_OUT_DIR: options.outDir?.trim() ?? '' },
  };
}

/** Every file under `path` that a build may read: tests, their helpers and build outputs are left out. */
async function inputFiles(path: string): Promise<string[]> {
  const absolute = join(repoRoot, path);
  if (!existsSync(absolute)) return [];
  const entries = await readdir(absolute, { withFileTypes: true, recursive: true }).catch(() => null);
  // A file, not a folder.
  if (entries === null) return [path];
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)))
    .filter((file) => !/(^|\/)(node_modules|dist|testing)\//.test(file) && !/\.(test|spec)\.[cm]?[jt]sx?$/.test(file));
}

/**
 * A hash of the inputs' contents (not their times: a checkout or a touch that changes nothing
 * rebuilds nothing), the installed packages (package-lock.json, package.json's version in the
 * manifest), .env files that WXT reads, and the settings.
 */
async function inputsHash(target: TargetSpec): Promise<string> {
  const rootFiles = (await readdir(repoRoot)).filter((name) => name.startsWith('.env'));
  const files = (
    await Promise.all([...target.inputs, 'package.json', 'package-lock.json', ...rootFiles].map(inputFiles))
  )
    .flat()
    .sort();
  const hash = createHash('sha256');
  hash.update(JSON.stringify(target.env));
  for (const file of files) {
    hash.update(`\0${file}\0`);
    hash.update(await readFile(join(repoRoot, file)));
  }
  return hash.digest('hex');
}

function run(target: TargetSpec, log: (line: string) => void): Promise<void> {
  const [script, ...args] = target.command as [string, ...string[]];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'node_modules', script), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...target.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk;
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolveRun();
      else {
        log(output);
        reject(new Error(`${target.command.join(' ')} failed (exit ${code}); its output is above`));
      }
    });
  });
}

/** Builds `target` unless its output folder's stamp says it was built from exactly these inputs. */
export async function buildIfStale(target: Target, options: BuildOptions = {}): Promise<BuildOutcome> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  for (const origin of normalizeOrigins(options.testOrigins).split(',').filter(Boolean)) {
    if (!testOriginPattern.test(origin)) {
      throw new Error(
        `GLEANER_TEST_ORIGINS: "${origin}" is not exactly http://127.0.0.1:PORT, the only test origin allowed`,
      );
    }
  }
  const chosen = spec(target, options);
  const shown = relative(process.cwd(), chosen.dir);
  const inputs = await inputsHash(chosen);
  const stamp = readBuildStamp(chosen.dir);
  if (stamp?.inputs === inputs) {
    log(`${target}: ${shown} is up to date`);
    return { dir: chosen.dir, built: false };
  }
  const origins = chosen.env.GLEANER_TEST_ORIGINS;
  log(`${target}: building ${shown}${origins ? ` (test build allowing ${origins})` : ''}…`);
  const started = Date.now();
  await run(chosen, log);
  // Written after the build with the hash taken before it: an edit made meanwhile makes the next run build again.
  const written: BuildStamp = { inputs, testOrigins: origins ?? '', builtAt: new Date().toISOString() };
  await writeFile(join(chosen.dir, stampFileName), `${JSON.stringify(written, null, 2)}\n`);
  log(`${target}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dir: chosen.dir, built: true };
}

async function main(targets: string[]): Promise<void> {
  const wanted = targets.length > 0 ? targets : ['extension', 'console'];
  for (const target of wanted) {
    if (target !== 'extension' && target !== 'console')
      throw new Error(`unknown target "${target}": extension or console`);
    await buildIfStale(target, {
      testOrigins: process.env.GLEANER_TEST_ORIGINS,
      outDir: process.env.GLEANER_EXTENSION_OUT_DIR,
    });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`build-if-stale: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
