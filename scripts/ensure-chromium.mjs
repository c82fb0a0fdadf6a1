// Makes sure a Chromium is there for the end-to-end tests, and says what it does.
// Order: $GLEANER_CHROMIUM, Debian's /usr/bin/chromium, installing Debian's package with apt,
// and only where apt is missing, Playwright's own browser build.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const say = (text) => process.stdout.write(`[ensure-chromium] ${text}\n`);
const run = (command) => execSync(command, { stdio: 'inherit' });

const configured = process.env.GLEANER_CHROMIUM;
if (configured) {
  if (!existsSync(configured)) {
    say(`GLEANER_CHROMIUM points at ${configured}, which does not exist.`);
    process.exit(1);
  }
  say(`using ${configured} (GLEANER_CHROMIUM)`);
  process.exit(0);
}
if (existsSync('/usr/bin/chromium')) {
  say('using Debian Chromium at /usr/bin/chromium');
  process.exit(0);
}
const hasApt = existsSync('/usr/bin/apt-get');
if (hasApt) {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? '' : 'sudo ';
  say(`no Chromium found: installing Debian's chromium package with ${sudo}apt-get (about 2 minutes)…`);
  run(`${sudo}apt-get update -qq`);
  run(`${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium`);
  say('installed /usr/bin/chromium');
  process.exit(0);
}
say('no Chromium and no apt-get: installing Playwright’s Chromium build instead (npx playwright install chromium)…');
run('npx playwright install chromium');
