import { resolve } from 'node:path';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'wxt';

// A test build may fetch from exact local origins (DESIGN §4); production builds never can.
const testOrigins = (process.env.GLEANER_TEST_ORIGINS ?? '').trim();

export default defineConfig({
  modules: ['@wxt-dev/module-react', '@wxt-dev/webextension-polyfill'],
  alias: { '@protocol': resolve('protocol') },
  vite: () => ({
    plugins: [tailwindcss()],
    define: { 'import.meta.env.GLEANER_TEST_ORIGINS': JSON.stringify(testOrigins) },
  }),
  manifest: ({ browser }) => ({
    name: 'Gleaner',
    description:
      'Earn points for useful data work: safe, budgeted fetches of public pages and small labeling tasks. Never touches your cookies, tabs or history.',
    permissions: ['storage', 'alarms', 'unlimitedStorage'],
    // Assigned pages can be on any public site and the server URL is configurable, so the
    // extension needs host access; the safety guards (lib/) decide what is actually fetched.
    host_permissions: ['http://*/*', 'https://*/*'],
    ...(browser === 'firefox' ? { browser_specific_settings: { gecko: { id: 'gleaner@gleaner.dev' } } } : {}),
  }),
});
