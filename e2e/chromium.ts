import { existsSync } from 'node:fs';

/** The Chromium that scripts/ensure-chromium.mjs settled on; undefined means Playwright's own build. */
export function chromiumExecutable(): string | undefined {
  if (process.env.GLEANER_CHROMIUM) return process.env.GLEANER_CHROMIUM;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/** Flags for a machine without outside network (see shared e2e notes): without them Chromium keeps dialing out. */
export const quietChromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-default-apps',
];
