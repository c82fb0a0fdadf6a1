import { resolve } from 'node:path';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig, type WxtViteConfig } from 'wxt';

// A test build may fetch from exact local origins (DESIGN §4); production builds never can.
const testOrigins = (process.env.GLEANER_TEST_ORIGINS ?? '').trim();

export default defineConfig({
  // A test build goes to its own folder, so .output/chrome-mv3 is always a production build.
  // GLEANER_EXTENSION_OUT_DIR names another (the demo builds there, so it never overwrites the e2e
  // build); server/src/extension-build.ts follows the same rule to say which folder to load.
  outDir: process.env.GLEANER_EXTENSION_OUT_DIR?.trim() || (testOrigins ? '.output/test' : '.output'),
  modules: ['@wxt-dev/module-react', '@wxt-dev/webextension-polyfill'],
  alias: { '@protocol': resolve('protocol') },
  vite: () => ({
    // wxt 0.21.0 (the newest that runs on Node 20) builds with its own vite 7; the Tailwind plugin supports 5 to 8
    // but is typed against the console's vite 8, so its type is restated as wxt's.
    plugins: tailwindcss() as unknown as WxtViteConfig['plugins'],
    define: { 'import.meta.env.GLEANER_TEST_ORIGINS': JSON.stringify(testOrigins) },
  }),
  manifest: ({ browser, manifestVersion }) => ({
    name: 'Gleaner',
    description:
      'Earn points for useful data work: safe, budgeted fetches of public pages and small labeling tasks. Never touches your cookies, tabs or history.',
    permissions: [
      'storage',
      'alarms',
      'unlimitedStorage',
      // Observe this extension's own page fetches: redirect hops and the address actually connected to.
      'webRequest',
      ...(browser === 'firefox'
        ? // Firefox (MV2) keeps blocking webRequest: the URL guard runs on every request and hop.
          ['webRequestBlocking']
        : // Chrome: session rules block forbidden redirect hops; the offscreen document parses pages.
          ['declarativeNetRequest', 'offscreen']),
    ],
    // Assigned pages can be on any public site and the server URL is configurable, so the
    // extension needs host access; the safety guards (lib/) decide what is actually fetched.
    host_permissions: ['http://*/*', 'https://*/*'],
    // The browser's default script rules, plus: extension pages load images only from the extension
    // itself and from inline bytes. A labeling task's image is fetched by the background under the
    // page fetcher's guards and shown as a data: URL, so no page can make the person's browser
    // request an address a buyer named (a router, a metadata address), even by mistake. WXT turns
    // this into Firefox's MV2 string form.
    content_security_policy: {
      extension_pages: [
        manifestVersion === 3 ? "script-src 'self' 'wasm-unsafe-eval'" : "script-src 'self'",
        "object-src 'self'",
        "img-src 'self' data: blob:",
      ].join('; '),
    },
    ...(browser === 'firefox' ? { browser_specific_settings: { gecko: { id: 'gleaner@gleaner.dev' } } } : {}),
  }),
});
