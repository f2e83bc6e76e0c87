/**
 * Vite config of the web UI: `npm run build:web` (or scripts/setup.sh through web/build.ts)
 * writes web/dist, which the API serves at `/` (src/api/routes/web.ts). For UI work,
 * `npx vite --config web/vite.config.ts` serves it with hot reload and proxies the API to a
 * server on 127.0.0.1:8000 (override with LAKERAY_API_URL).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.LAKERAY_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api/v1/ws': { target: api, ws: true },
      '/api': api,
      '/v1': api,
      '/demo': api,
      '/docs': api,
      '/health': api,
    },
  },
});
