import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root: builds and their stamps are found relative to it, whatever the working folder. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Written into an output folder after a build: what it was built from, so a later run can skip it. */
export const stampFileName = '.gleaner-build-stamp.json';

export const buildStampSchema = z.object({
  /** sha256 over the build's input files and settings (scripts/build-if-stale.ts). */
  inputs: z.string(),
  /** The test origins baked into an extension build, normalized; '' for a production build. */
  testOrigins: z.string(),
  builtAt: z.string(),
});
export type BuildStamp = z.infer<typeof buildStampSchema>;

/** The form test origins take in stamps and messages: trimmed, sorted, comma-separated. */
export function normalizeOrigins(origins: readonly string[] | string | undefined): string {
  const list = typeof origins === 'string' || origins === undefined ? (origins ?? '').split(',') : origins;
  return [
    ...new Set(
      list
        .map((origin) => origin.trim())
        .filter(Boolean)
        .sort(),
    ),
  ].join(',');
}

/**
 * The unpacked Chrome build for these test origins, as wxt.config.ts places it: GLEANER_EXTENSION_OUT_DIR
 * when set, else `.output/test` for a test build and `.output` for production; then `chrome-mv3/`.
 */
export function chromeBuildDir(testOrigins: string, outDir: string | undefined): string {
  const base = outDir?.trim() || (testOrigins ? '.output/test' : '.output');
  return join(resolve(repoRoot, base), 'chrome-mv3');
}

/** The stamp in a build folder, or undefined when there is none (never built, or built by hand). */
export function readBuildStamp(dir: string): BuildStamp | undefined {
  try {
    return buildStampSchema.parse(JSON.parse(readFileSync(join(dir, stampFileName), 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * Which extension build a person should load for a server allowing `testOrigins`, in one paragraph
 * for people. A build baked with other origins refuses this server's test pages (the extension and
 * the server each check them), so that case names the command that builds the right one.
 */
export function extensionBuildAdvice(testOrigins: readonly string[], outDir: string | undefined): string {
  const origins = normalizeOrigins(testOrigins);
  const dir = chromeBuildDir(origins, outDir);
  const shown = relative(process.cwd(), dir) || '.';
  const stamp = readBuildStamp(dir);
  const env = [
    origins && `GLEANER_TEST_ORIGINS=${origins}`,
    outDir?.trim() && `GLEANER_EXTENSION_OUT_DIR=${outDir.trim()}`,
  ]
    .filter(Boolean)
    .join(' ');
  // npm start builds first, only what is out of date (scripts/build-if-stale.ts).
  const rebuild = `${env ? `${env} ` : ''}npm start`;
  const kind = origins ? `test build allowing ${origins}` : 'production build';
  const load = `Load the extension unpacked from: ${dir}\n  (${kind}; chrome://extensions → Developer mode → Load unpacked)`;
  if (!stamp) {
    if (!existsSync(join(dir, 'manifest.json'))) return `No ${kind} at ${shown} yet: build it with\n  ${rebuild}`;
    // Built without a stamp (npm run build, build:test): a production build suits a server without
    // test origins, but which origins an unstamped test build allows cannot be told.
    if (!origins) return load;
    return `${load}\n  It carries no build stamp, so it may allow other origins than these; to be sure, rebuild with\n  ${rebuild}`;
  }
  if (stamp.testOrigins !== origins) {
    const built = stamp.testOrigins ? `a test build allowing ${stamp.testOrigins}` : 'a production build';
    return `The extension at ${shown} is ${built}, not the ${kind} this server needs${origins ? ' (it would refuse the test pages)' : ''}. Rebuild it with\n  ${rebuild}`;
  }
  return load;
}
