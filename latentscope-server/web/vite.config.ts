import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

declare const process: { env: Record<string, string | undefined> };

// The API server the dev server forwards to (`latentscope serve --port 5123`).
const api = process.env.LATENTSCOPE_API ?? 'http://127.0.0.1:5123';

export default defineConfig({
  base: '/',
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: api, changeOrigin: true },
      '/favicon.svg': { target: api, changeOrigin: true },
    },
  },
});
