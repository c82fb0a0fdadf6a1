import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The web console, built into server/console/dist and served by the server at `/`. */
export default defineConfig({
  root,
  plugins: [react(), tailwindcss()],
  resolve: { alias: { '@protocol': fileURLToPath(new URL('../../protocol', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/health': 'http://127.0.0.1:8787', '/v1': 'http://127.0.0.1:8787' } },
});
