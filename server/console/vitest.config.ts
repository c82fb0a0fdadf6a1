import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const at = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The console's own tests: browser code under happy-dom, with the console's aliases. */
export default defineConfig({
  plugins: [react()],
  resolve: { alias: { '@protocol': at('../../protocol'), '@ui': at('../../components/ui') } },
  test: {
    name: 'console',
    root: at('.'),
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'happy-dom',
  },
});
